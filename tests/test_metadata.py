import io

from PIL import Image

from generation.engine.metadata import a1111_parameters, png_bytes, read_parameters

PARAMETERS = {
    "prompt": "a red apple",
    "negative_prompt": "blurry",
    "steps": 20,
    "sampler": "PNDMScheduler",
    "guidance_scale": 7.5,
    "seed": 42,
    "width": 64,
    "height": 96,
    "model": "Tiny",
}


def test_png_carries_a1111_parameters_and_full_json():
    png = png_bytes(Image.new("RGB", (64, 96)), PARAMETERS)

    with Image.open(io.BytesIO(png)) as image:
        assert image.format == "PNG"
        assert image.text["parameters"].startswith("a red apple\nNegative prompt: blurry\nSteps: 20, ")
    assert read_parameters(png) == PARAMETERS


def test_a1111_line_names_size_seed_and_cfg():
    text = a1111_parameters(PARAMETERS)

    assert "Sampler: PNDMScheduler, CFG scale: 7.5, Seed: 42, Size: 64x96, Model: Tiny" in text


def test_no_negative_prompt_line_when_there_is_none():
    assert "Negative prompt" not in a1111_parameters(PARAMETERS | {"negative_prompt": ""})


def test_image_modes_adapters_and_hashes_are_written_as_a1111_reads_them():
    text = a1111_parameters(
        PARAMETERS
        | {
            "mode": "image_text",
            "sampler": "DPM++ 2M Karras",
            "strength": 0.55,
            "clip_skip": 2,
            "model_hash": "0123456789",
            "adapters": [{"name": "ink", "weight": 0.8, "hash": "abcdef0123"}],
        }
    )
    prompt, _negative, settings = text.split("\n")

    assert prompt == "a red apple <lora:ink:0.8>"
    assert settings.startswith("Steps: 20, Sampler: DPM++ 2M Karras, CFG scale: 7.5, Seed: 42, Size: 64x96, ")
    assert "Model hash: 0123456789, Model: Tiny, Denoising strength: 0.55, Clip skip: 2" in settings
    assert settings.endswith('Lora hashes: "ink: abcdef0123"')


def test_guidance_ending_early_is_written_and_full_guidance_is_not():
    assert "CFG scale: 7.5, " in a1111_parameters(PARAMETERS | {"guidance_end": 0.6})
    assert a1111_parameters(PARAMETERS | {"guidance_end": 0.6}).endswith("Guidance end: 0.6")
    assert "Guidance end" not in a1111_parameters(PARAMETERS | {"guidance_end": 1.0})


def test_text_to_image_has_no_denoising_strength():
    assert "Denoising strength" not in a1111_parameters(PARAMETERS | {"mode": "text_to_image", "strength": 0.75})
