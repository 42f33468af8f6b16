"""Every mode, family, sampler and resize mode of the engine, on real tiny pipelines."""

from dataclasses import replace

import numpy as np
import pytest
from PIL import Image

from generation.engine import (
    MODES,
    Engine,
    GenerationError,
    InvalidRequest,
    JobHooks,
    ModelSpec,
    PipelineCache,
)
from generation.engine.samplers import SAMPLER_NAMES
from generation.engine.tiny import build_tiny_pipeline
from tests.single_file import export_single_file, same_weights

pytestmark = pytest.mark.filterwarnings("ignore::FutureWarning", "ignore::UserWarning")


@pytest.fixture(scope="module")
def engine():
    return Engine(PipelineCache(max_pipelines=6, device="cpu"))


def red_square(size=(80, 64)) -> Image.Image:
    image = Image.new("RGB", size, (30, 30, 200))
    image.paste((220, 40, 40), (size[0] // 4, size[1] // 4, 3 * size[0] // 4, 3 * size[1] // 4))
    return image


def centre_mask(size=(80, 64)) -> Image.Image:
    mask = Image.new("L", size, 0)
    mask.paste(255, (size[0] // 4, size[1] // 4, 3 * size[0] // 4, 3 * size[1] // 4))
    return mask


@pytest.fixture
def job(engine_job):
    """job(folder, family, **fields) -> a request with a red-square base image and a centre mask."""
    return lambda folder, family="sd15", **fields: engine_job(
        folder, family, **({"init_image": red_square(), "mask_image": centre_mask()} | fields)
    )


def pixels(picture) -> np.ndarray:
    return np.asarray(picture.image, dtype=np.int16)


@pytest.mark.parametrize("family", ["sd15", "sd21", "sdxl", "sdxl-turbo"])
@pytest.mark.parametrize("mode", MODES)
def test_every_mode_runs_on_every_family(engine, tiny_family_dir, family, mode, job):
    seen = []
    result = engine.generate(
        job(tiny_family_dir(family), family, mode=mode, num_images=2, width=72, height=64),
        JobHooks(on_progress=seen.append),
    )

    assert [picture.image.size for picture in result.pictures] == [(72, 64)] * 2
    assert seen and seen[-1].step == seen[-1].total_steps
    assert len(result.model_hash) == 10


def test_modes_share_the_loaded_weights_instead_of_copying_them(engine, tiny_family_dir, job):
    spec_dir = tiny_family_dir("sd15")
    engine.generate(job(spec_dir, mode="image_to_image"))
    engine.generate(job(spec_dir, mode="inpaint"))
    model = engine.cache.get(ModelSpec(source=str(spec_dir)))

    for mode in ("image_to_image", "inpaint"):
        derived = model.for_mode(mode)
        assert derived is not model.pipeline
        assert derived.unet is model.pipeline.unet and derived.vae is model.pipeline.vae
        assert derived.text_encoder is model.pipeline.text_encoder


def test_image_to_image_depends_on_the_image_and_the_strength(engine, tiny_family_dir, job):
    folder = tiny_family_dir("sd15")
    first = pixels(engine.generate(job(folder, mode="image_to_image", steps=8)).pictures[0])
    other_image = pixels(
        engine.generate(job(folder, mode="image_to_image", steps=8, init_image=Image.new("RGB", (80, 64)))).pictures[0]
    )
    other_strength = pixels(engine.generate(job(folder, mode="image_to_image", steps=8, strength=0.5)).pictures[0])

    assert not np.array_equal(first, other_image)
    assert not np.array_equal(first, other_strength)


def test_image_to_image_runs_strength_times_steps(engine, tiny_family_dir, job):
    seen = []
    engine.generate(
        job(tiny_family_dir("sd15"), mode="image_to_image", sampler="Euler", steps=10, strength=0.5),
        JobHooks(on_progress=seen.append),
    )
    assert seen[-1].total_steps == 5


def test_variations_accept_an_empty_prompt_but_image_plus_text_does_not(engine, tiny_family_dir, job):
    folder = tiny_family_dir("sd15")
    assert engine.generate(job(folder, mode="image_to_image", prompt="")).pictures

    with pytest.raises(InvalidRequest) as refused:
        engine.generate(job(folder, mode="image_text", prompt="  "))
    assert refused.value.field == "prompt"


def test_inpainting_repaints_the_masked_area_and_keeps_the_rest(engine, tiny_family_dir, job):
    folder = tiny_family_dir("sd15")
    one = pixels(engine.generate(job(folder, mode="inpaint", width=80, height=64, seed=1)).pictures[0])
    two = pixels(engine.generate(job(folder, mode="inpaint", width=80, height=64, seed=2)).pictures[0])
    masked = np.asarray(centre_mask(), dtype=bool)
    # Far from the mask's edge (the VAE blurs across it), another seed changes nothing much.
    corners = np.zeros_like(masked)
    corners[:8, :8] = corners[-8:, -8:] = True

    seed_change = np.abs(one - two).mean(axis=2)
    assert seed_change[masked].mean() > 4 * seed_change[corners].mean()


def test_a_9_channel_inpainting_checkpoint_inpaints_and_refuses_other_modes(engine, tiny_family_dir, job):
    folder = tiny_family_dir("sd15", inpainting=True)
    result = engine.generate(job(folder, mode="inpaint", width=80, height=64))
    assert result.pictures[0].image.size == (80, 64)

    with pytest.raises(InvalidRequest, match="inpainting checkpoint"):
        engine.generate(job(folder, mode="text_to_image"))


def test_upscale_doubles_through_image_to_image_at_the_target_size(engine, tiny_family_dir, job):
    small = red_square((40, 32))
    result = engine.generate(job(tiny_family_dir("sd15"), mode="upscale", init_image=small, width=80, height=64))

    assert result.pictures[0].image.size == (80, 64)


@pytest.mark.parametrize("sampler", SAMPLER_NAMES)
def test_every_sampler_name_runs_and_is_reported_back(engine, tiny_family_dir, sampler, job):
    result = engine.generate(job(tiny_family_dir("sd15"), sampler=sampler, steps=3))

    assert result.sampler == sampler
    assert result.pictures[0].image.size == (64, 64)


def test_samplers_keep_the_models_prediction_type(engine, tiny_family_dir, job):
    engine.generate(job(tiny_family_dir("sd21"), "sd21", sampler="Euler a"))
    model = engine.cache.get(ModelSpec(source=str(tiny_family_dir("sd21")), family="sd21"))

    assert model.for_mode("text_to_image").scheduler.config.prediction_type == "v_prediction"


def test_unknown_sampler_is_refused_by_name(engine, tiny_family_dir, job):
    with pytest.raises(InvalidRequest, match="Unknown sampler 'Euler b'") as refused:
        engine.generate(job(tiny_family_dir("sd15"), sampler="Euler b"))
    assert refused.value.field == "sampler"


def test_eta_clip_skip_and_guidance_rescale_change_the_image(engine, tiny_family_dir, job):
    folder = tiny_family_dir("sd15")
    plain = pixels(engine.generate(job(folder, sampler="DDIM")).pictures[0])

    for change in ({"eta": 1.0}, {"clip_skip": 2}, {"guidance_rescale": 0.7}):
        changed = pixels(engine.generate(job(folder, sampler="DDIM", **change)).pictures[0])
        assert not np.array_equal(plain, changed), change


@pytest.fixture
def unet_batches(engine):
    """unet_batches(request) -> the engine's result and the batch size of every UNet call it made."""

    def run(request):
        engine.load(request.model)
        unet = engine.cache.get(request.model).pipeline.unet
        batches = []
        hook = unet.register_forward_pre_hook(lambda module, args: batches.append(args[0].shape[0]))
        try:
            return engine.generate(request), batches
        finally:
            hook.remove()

    return run


@pytest.mark.parametrize("family", ["sd15", "sd21", "sdxl"])
@pytest.mark.parametrize("mode", MODES)
def test_guidance_ends_after_its_fraction_of_the_steps_in_every_mode(tiny_family_dir, family, mode, job, unet_batches):
    """Guidance ending at 0.5 runs the unconditional pass (twice the batch) on the first half
    of the steps and the prompt alone after: every tensor diffusers stacks for guidance
    (SDXL's added embeddings and time ids, the inpainting mask) is halved with it."""
    request = job(tiny_family_dir(family), family, mode=mode, num_images=2, guidance_end=0.5)
    result, batches = unet_batches(request)

    guided = -(-len(batches) // 2)
    assert batches == [4] * guided + [2] * (len(batches) - guided)
    assert [picture.image.size for picture in result.pictures] == [(64, 64)] * 2


def test_guidance_end_1_guides_every_step_and_0_none(engine, tiny_family_dir, job, unet_batches):
    folder = tiny_family_dir("sd15")
    euler = job(folder, sampler="Euler", guidance_scale=7.0)  # 4 steps, 4 UNet calls
    full, full_batches = unet_batches(euler)
    ending, _ = unet_batches(replace(euler, guidance_end=0.5))
    none, none_batches = unet_batches(replace(euler, guidance_end=0.0))
    unguided = engine.generate(replace(euler, guidance_scale=1.0))

    assert euler.guidance_end == 1.0 and full_batches == [2] * 4 and none_batches == [1] * 4
    assert np.array_equal(pixels(none.pictures[0]), pixels(unguided.pictures[0]))
    assert not np.array_equal(pixels(ending.pictures[0]), pixels(full.pictures[0]))
    assert not np.array_equal(pixels(ending.pictures[0]), pixels(none.pictures[0]))


def test_guidance_end_outside_0_to_1_is_refused_by_name(engine, tiny_family_dir, job):
    with pytest.raises(InvalidRequest, match="between 0 and 1") as refused:
        engine.generate(job(tiny_family_dir("sd15"), guidance_end=1.5))
    assert refused.value.field == "guidance_end"


def test_guidance_rescale_is_refused_where_diffusers_ignores_it(engine, tiny_family_dir, job):
    with pytest.raises(InvalidRequest) as refused:
        engine.generate(job(tiny_family_dir("sd15"), mode="image_to_image", guidance_rescale=0.5))
    assert refused.value.field == "guidance_rescale"


def test_a_strength_too_low_for_one_step_is_refused(engine, tiny_family_dir, job):
    with pytest.raises(InvalidRequest, match="below one step"):
        engine.generate(job(tiny_family_dir("sd15"), mode="image_to_image", steps=4, strength=0.1))


def test_image_modes_need_an_image_and_inpainting_a_mask_of_its_size(engine, tiny_family_dir, job):
    folder = tiny_family_dir("sd15")
    with pytest.raises(InvalidRequest) as no_image:
        engine.generate(job(folder, mode="image_text", init_image=None))
    with pytest.raises(InvalidRequest, match="mask is 40×40") as wrong_mask:
        engine.generate(job(folder, mode="inpaint", mask_image=Image.new("L", (40, 40))))

    assert no_image.value.field == "init_image"
    assert wrong_mask.value.field == "mask_image"


def test_previews_come_every_few_steps_one_per_image(engine, tiny_family_dir, job):
    seen = []
    engine.generate(
        job(tiny_family_dir("sd15"), sampler="Euler", steps=6, num_images=3, preview_every=2),
        JobHooks(on_progress=seen.append),
    )
    with_previews = [progress for progress in seen if progress.previews]

    assert [progress.step for progress in with_previews] == [2, 4]
    assert all(len(progress.previews) == 3 for progress in with_previews)
    assert with_previews[0].previews[0].size == (8, 8)  # latent size: 1/8 of 64²


def test_previews_are_latent_sized_rgb_pictures_one_per_image():
    import torch

    from generation.engine.previews import latents_to_previews

    previews = latents_to_previews(torch.randn(4, 4, 64, 48), "sdxl")  # their cost: bench/engine.py
    assert len(previews) == 4 and {(preview.mode, preview.size) for preview in previews} == {("RGB", (48, 64))}


def test_single_file_checkpoint_loads_with_a_local_config_folder(engine, tiny_family_dir, tmp_path, job):
    folder = tiny_family_dir("sd15")
    pipeline = build_tiny_pipeline("sd15")
    checkpoint = export_single_file(pipeline, tmp_path / "community-model.safetensors")
    spec = ModelSpec(source=str(checkpoint), family="sd15", config=str(folder))

    single = engine.generate(job(folder, model=spec))
    from_folder = engine.generate(job(folder))
    loaded = engine.cache.get(spec).pipeline

    assert same_weights(pipeline.unet, loaded.unet) and same_weights(pipeline.vae, loaded.vae)
    assert np.abs(pixels(single.pictures[0]) - pixels(from_folder.pictures[0])).max() <= 1


def test_single_file_without_config_is_a_readable_error(engine, tmp_path, monkeypatch, job):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    checkpoint = export_single_file(build_tiny_pipeline("sd15"), tmp_path / "alone.safetensors")

    with pytest.raises(GenerationError, match="config folder"):
        engine.generate(job(checkpoint, model=ModelSpec(source=str(checkpoint))))


def test_a_model_over_the_memory_budget_is_refused_clearly(tiny_family_dir, job):
    engine = Engine(PipelineCache(device="cpu", memory_budget=1024 * 1024))

    with pytest.raises(GenerationError, match="memory budget"):
        engine.generate(job(tiny_family_dir("sd15")))


def test_budget_evicts_the_least_recently_used_model(tiny_family_dir, job):
    probe = Engine(PipelineCache(device="cpu"))
    sd15_size = probe.load(ModelSpec(source=str(tiny_family_dir("sd15")))).size_bytes
    engine = Engine(PipelineCache(max_pipelines=5, device="cpu", memory_budget=int(sd15_size * 1.5)))
    first = ModelSpec(source=str(tiny_family_dir("sd15")))
    second = ModelSpec(source=str(tiny_family_dir("sd21")), family="sd21")
    engine.generate(job(tiny_family_dir("sd15")))
    engine.generate(job(tiny_family_dir("sd21"), "sd21"))

    assert second in engine.cache and first not in engine.cache
    assert engine.cache.used_bytes <= engine.cache.memory_budget
