"""LoRA-family adapters on a cached pipeline: unmerged, switched per job, never reloaded."""

import numpy as np
import pytest

from generation.engine import AdapterSpec, Engine, GenerationError, PipelineCache

KINDS = ["lora", "kohya", "dylora", "loha", "lokr", "loha-kohya", "lokr-kohya"]


@pytest.fixture
def engine():
    return Engine(PipelineCache(device="cpu"))


@pytest.fixture
def job(engine_job):
    """job(*adapters, **fields) -> the shared tiny request with these adapters, no previews."""
    return lambda *adapters, **fields: engine_job(
        adapters=adapters, prompt="a red fox", seed=5, preview_every=0, **fields
    )


def pixels(result) -> np.ndarray:
    return np.stack([np.asarray(picture.image, dtype=np.int16) for picture in result.pictures])


@pytest.mark.parametrize("kind", KINDS)
def test_each_adapter_format_changes_the_image_and_matches_its_fused_weights(engine, job, tiny_adapter, kind):
    adapter = AdapterSpec(source=str(tiny_adapter(kind)), weight=0.8, rank=2 if kind == "dylora" else None)
    base = pixels(engine.generate(job()))
    adapted = engine.generate(job(adapter))

    assert np.abs(pixels(adapted) - base).max() > 5
    assert len(adapted.adapter_hashes[adapter.source]) == 10
    assert engine.verify_adapters(job(adapter)) < 1e-4  # unmerged vs fused, on 0–1 pixels


@pytest.mark.parametrize("kind", ["loha", "lokr"])
def test_lycoris_files_under_kohya_names_load_like_peft_names(engine, job, tiny_adapter, kind):
    peft_named = pixels(engine.generate(job(AdapterSpec(str(tiny_adapter(kind))))))
    kohya_named = pixels(engine.generate(job(AdapterSpec(str(tiny_adapter(f"{kind}-kohya"))))))

    assert np.array_equal(peft_named, kohya_named)


def test_a_job_without_adapters_gets_the_exact_base_model_back(engine, job, tiny_adapter):
    base = pixels(engine.generate(job()))
    engine.generate(job(AdapterSpec(str(tiny_adapter("lora")))))

    assert np.array_equal(pixels(engine.generate(job())), base)


def test_switching_adapters_loads_each_once_and_never_reloads_the_pipeline(engine, job, tiny_adapter):
    lora, loha = AdapterSpec(str(tiny_adapter("lora"))), AdapterSpec(str(tiny_adapter("loha")))
    first = pixels(engine.generate(job(lora)))
    engine.generate(job(loha))
    again = pixels(engine.generate(job(lora)))
    model = engine.cache.get(job().model)

    assert np.array_equal(first, again)
    assert engine.cache.loads == 1 and model.loaded_adapters == 2


def test_weights_scale_the_effect_and_several_adapters_combine(engine, job, tiny_adapter):
    lora, lokr = str(tiny_adapter("lora")), str(tiny_adapter("lokr"))
    base = pixels(engine.generate(job()))
    half = pixels(engine.generate(job(AdapterSpec(lora, 0.5))))
    full = pixels(engine.generate(job(AdapterSpec(lora, 1.0))))
    both = pixels(engine.generate(job(AdapterSpec(lora, 1.0), AdapterSpec(lokr, 1.0))))

    assert np.abs(half - base).mean() < np.abs(full - base).mean()
    assert not np.array_equal(both, full)
    assert np.array_equal(pixels(engine.generate(job(AdapterSpec(lora, 0.0)))), base)


def test_dylora_rank_slicing_gives_another_adapter_and_too_high_a_rank_is_refused(engine, job, tiny_adapter):
    dylora = str(tiny_adapter("dylora"))
    rank_1 = pixels(engine.generate(job(AdapterSpec(dylora, rank=1))))
    rank_4 = pixels(engine.generate(job(AdapterSpec(dylora, rank=4))))

    assert not np.array_equal(rank_1, rank_4)
    with pytest.raises(GenerationError, match="higher than the file's rank"):
        engine.generate(job(AdapterSpec(dylora, rank=64)))


def test_an_adapter_for_another_family_is_refused_and_leaves_the_pipeline_clean(engine, job, tiny_adapter):
    base = pixels(engine.generate(job()))
    with pytest.raises(GenerationError, match="does not fit this model") as refused:
        engine.generate(job(AdapterSpec(str(tiny_adapter("lora", family="sdxl")))))

    assert np.array_equal(pixels(engine.generate(job())), base)
    assert "size mismatch" in str(refused.value.__cause__) or refused.value.__cause__ is not None
    assert str(refused.value).endswith("its layers do not match the model's.")  # no library text for users


def test_a_file_that_is_not_an_adapter_is_refused(engine, job, tmp_path):
    junk = tmp_path / "notes.safetensors"
    junk.write_bytes(b"not a safetensors file at all")

    with pytest.raises(GenerationError, match="not a readable .safetensors"):
        engine.generate(job(AdapterSpec(str(junk))))
    with pytest.raises(GenerationError, match="does not exist"):
        engine.generate(job(AdapterSpec(str(tmp_path / "missing.safetensors"))))
