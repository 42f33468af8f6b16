"""The diffusers engine on a real tiny pipeline, without Django."""

import subprocess
import sys

import numpy as np
import pytest

from generation.engine import (
    Engine,
    GenerationCancelled,
    GenerationError,
    JobHooks,
    ModelSpec,
    PipelineCache,
)

pytestmark = pytest.mark.filterwarnings("ignore::FutureWarning")


@pytest.fixture(scope="module")
def engine():
    return Engine(PipelineCache(max_pipelines=2, device="cpu"))


@pytest.fixture
def request_for(engine_job):
    return lambda **fields: engine_job(**({"seed": 1234} | fields))


def pixels(picture) -> np.ndarray:
    return np.asarray(picture.image, dtype=np.int16)


def test_generates_the_requested_number_of_images_at_the_requested_size(engine, request_for):
    result = engine.generate(request_for(num_images=4, width=96, height=64))

    assert [picture.image.size for picture in result.pictures] == [(96, 64)] * 4
    assert [picture.seed for picture in result.pictures] == [1234, 1235, 1236, 1237]
    assert [picture.index for picture in result.pictures] == [0, 1, 2, 3]
    assert result.sampler == "PNDM"


def test_same_seed_gives_the_same_image_and_another_seed_does_not(engine, request_for):
    first = engine.generate(request_for(seed=7)).pictures[0]
    again = engine.generate(request_for(seed=7)).pictures[0]
    other = engine.generate(request_for(seed=8)).pictures[0]

    assert np.array_equal(pixels(first), pixels(again))
    assert not np.array_equal(pixels(first), pixels(other))


def test_each_image_of_a_batch_can_be_reproduced_alone_with_seed_plus_index(engine, request_for):
    batch = engine.generate(request_for(seed=100, num_images=3)).pictures
    alone = engine.generate(request_for(seed=102, num_images=1)).pictures[0]

    assert np.abs(pixels(batch[2]) - pixels(alone)).max() <= 2


def test_reports_every_denoising_step_with_the_true_total(engine, request_for):
    seen = []
    engine.generate(request_for(steps=5), JobHooks(on_progress=seen.append))

    steps = [progress.step for progress in seen]
    assert steps == list(range(1, len(seen) + 1))
    # PNDM runs one step more than asked; the reported total says so.
    assert {progress.total_steps for progress in seen} == {len(seen)}
    assert len(seen) in (5, 6)


def test_a_second_job_on_the_same_model_does_not_reload_it(request_for):
    engine = Engine(PipelineCache(device="cpu"))
    engine.generate(request_for())
    engine.generate(request_for(prompt="another prompt", seed=9))

    assert engine.cache.loads == 1


def test_least_recently_used_pipeline_is_evicted_beyond_the_budget(tmp_path, tiny_model_dir, request_for):
    import shutil

    second_copy = shutil.copytree(tiny_model_dir, tmp_path / "copy")
    engine = Engine(PipelineCache(max_pipelines=1, device="cpu"))
    first, second = ModelSpec(source=str(tiny_model_dir)), ModelSpec(source=str(second_copy))
    engine.generate(request_for(model=first))
    engine.generate(request_for(model=second))

    assert second in engine.cache and first not in engine.cache
    assert engine.cache.loads == 2


def test_cancelling_stops_between_steps(engine, request_for):
    seen = []
    hooks = JobHooks(on_progress=seen.append, should_cancel=lambda: len(seen) >= 2)

    with pytest.raises(GenerationCancelled):
        engine.generate(request_for(steps=10), hooks)
    assert len(seen) == 2


def test_missing_model_folder_is_a_readable_generation_error(engine, request_for, tmp_path):
    with pytest.raises(GenerationError, match="Could not load model from"):
        engine.generate(request_for(model=ModelSpec(source=str(tmp_path / "nowhere"))))


def test_unknown_family_is_refused():
    with pytest.raises(GenerationError, match="Unknown model family"):
        ModelSpec(source="x", family="dalle")


def test_engine_package_imports_no_django():
    # Every module of the package, found by walking it: a new module cannot slip past.
    code = (
        "import pkgutil, sys, importlib, generation.engine as engine\n"
        "names = [info.name for info in pkgutil.walk_packages(engine.__path__, 'generation.engine.')]\n"
        "[importlib.import_module(name) for name in names]\n"
        "print(len(names), 'django' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)

    count, django_imported = result.stdout.split()
    assert int(count) >= 13 and django_imported == "False"


def test_only_safetensors_weights_load_unless_pickle_is_allowed(tmp_path):
    from generation.engine import GenerationError, ModelSpec, PipelineCache
    from generation.engine.tiny import build_tiny_pipeline

    pickled = tmp_path / "pickled"
    build_tiny_pipeline("sd15", 0).save_pretrained(pickled, safe_serialization=False)
    checkpoint = tmp_path / "model.ckpt"
    checkpoint.write_bytes(b"not even read")
    cache = PipelineCache(max_pipelines=1)

    with pytest.raises(GenerationError, match="safetensors"):
        cache.get(ModelSpec(source=str(pickled)))
    with pytest.raises(GenerationError, match="pickle checkpoint"):
        cache.get(ModelSpec(source=str(checkpoint), config=str(pickled)))
    assert cache.get(ModelSpec(source=str(pickled), allow_pickle=True)).pipeline is not None
