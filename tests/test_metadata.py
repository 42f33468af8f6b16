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
