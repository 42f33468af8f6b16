"""Sizes, aspect ratios, resize modes and safe decoding of uploaded images."""

import io

import numpy as np
import pytest
from PIL import Image

from generation.engine import InvalidRequest
from generation.engine.images import decode_image, decode_mask, fit_image
from generation.engine.sizing import ASPECT_RATIOS, resolve_size


def encoded(image: Image.Image, format_="PNG", **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=format_, **options)
    return buffer.getvalue()


@pytest.mark.parametrize("aspect", ASPECT_RATIOS)
@pytest.mark.parametrize(("family", "side"), [("sd15", 512), ("sd21", 768), ("sdxl", 1024)])
def test_presets_keep_the_ratio_at_the_familys_pixel_budget(aspect, family, side):
    width, height = resolve_size(family, aspect, max_side=2048)
    ratio_w, ratio_h = ASPECT_RATIOS[aspect]

    assert width % 8 == 0 and height % 8 == 0
    assert abs(width / height - ratio_w / ratio_h) < 0.03
    assert 0.93 < width * height / side**2 < 1.07


def test_both_sides_given_are_used_as_they_are_snapped_to_8():
    assert resolve_size("sdxl", "custom", 1001, 603, max_side=2048) == (1000, 600)


def test_one_side_given_fixes_the_scale_of_the_preset():
    assert resolve_size("sd15", "16:9", width=1024, max_side=2048) == (1024, 576)


def test_follow_the_image_takes_its_ratio():
    assert resolve_size("sd15", "image", image_size=(3000, 2000), max_side=2048) == (624, 416)
    with pytest.raises(InvalidRequest) as refused:
        resolve_size("sd15", "image", max_side=2048)
    assert refused.value.field == "aspect"


def test_the_configured_maximum_caps_both_sides_and_keeps_the_ratio():
    assert resolve_size("sdxl", "21:9", max_side=1024) == (1024, 440)
    assert resolve_size("sd15", "custom", 4000, 2000, max_side=2048) == (2048, 1024)


def test_unknown_aspect_is_refused_by_field():
    with pytest.raises(InvalidRequest) as refused:
        resolve_size("sd15", "5:4", max_side=2048)
    assert refused.value.field == "aspect"


def two_halves() -> Image.Image:
    """200×100: left half red, right half blue."""
    image = Image.new("RGB", (200, 100), (255, 0, 0))
    image.paste((0, 0, 255), (100, 0, 200, 100))
    return image


def test_just_resize_stretches():
    fitted = fit_image(two_halves(), 100, 100, "just_resize")
    assert fitted.size == (100, 100)
    assert fitted.getpixel((10, 50))[0] > 200 and fitted.getpixel((90, 50))[2] > 200


def test_crop_and_resize_covers_the_frame_cutting_the_sides():
    fitted = fit_image(two_halves(), 100, 100, "crop_and_resize")
    # the centred square keeps 50 px of each half
    assert fitted.getpixel((10, 50))[0] > 200 and fitted.getpixel((90, 50))[2] > 200
    assert fitted.getpixel((49, 10))[0] > 200 and fitted.getpixel((51, 10))[2] > 200


def test_resize_and_fill_contains_the_image_and_fills_borders_from_its_edges():
    fitted = np.asarray(fit_image(two_halves(), 100, 100, "resize_and_fill"))
    # the image is 100×50 in the middle; top and bottom bands repeat its first and last rows
    assert np.array_equal(fitted[0], fitted[25]) and np.array_equal(fitted[99], fitted[74])
    assert fitted[0, 10, 0] > 200 and fitted[0, 90, 2] > 200


def test_unknown_resize_mode_is_refused():
    with pytest.raises(InvalidRequest) as refused:
        fit_image(two_halves(), 64, 64, "zoom")
    assert refused.value.field == "resize_mode"


def test_exif_orientation_is_applied():
    portrait_on_its_side = Image.new("RGB", (200, 100), (10, 200, 10))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise to display
    decoded = decode_image(encoded(portrait_on_its_side, "JPEG", exif=exif.tobytes()))

    assert decoded.size == (100, 200)


@pytest.mark.parametrize(
    "image",
    [
        Image.new("RGBA", (32, 32), (255, 0, 0, 0)),
        Image.new("P", (32, 32)),
        Image.new("I;16", (32, 32), 40000),
        Image.new("LA", (32, 32)),
        Image.new("L", (32, 32), 128),
    ],
    ids=["rgba", "palette", "16-bit", "la", "grey"],
)
def test_any_mode_decodes_to_rgb(image):
    assert decode_image(encoded(image)).mode == "RGB"


def test_transparent_pixels_become_white_and_16_bit_keeps_its_range():
    assert decode_image(encoded(Image.new("RGBA", (8, 8), (255, 0, 0, 0)))).getpixel((0, 0)) == (255, 255, 255)
    grey = decode_image(encoded(Image.new("I;16", (8, 8), 32768))).getpixel((0, 0))
    assert grey[0] == 255  # the brightest value of the image maps to white, not clipped noise


def test_cmyk_jpeg_decodes_to_rgb():
    assert decode_image(encoded(Image.new("CMYK", (16, 16), (0, 255, 255, 0)), "JPEG")).mode == "RGB"


def test_truncated_and_non_image_uploads_are_refused_by_field():
    whole = encoded(Image.new("RGB", (64, 64), (1, 2, 3)), "JPEG")
    with pytest.raises(InvalidRequest, match="could not be decoded") as truncated:
        decode_image(whole[: len(whole) // 2])
    with pytest.raises(InvalidRequest, match="not a PNG, JPEG or WebP image") as text:
        decode_image(b"hello, this is a text file")

    assert truncated.value.field == text.value.field == "init_image"


def test_a_painted_transparent_layer_is_a_mask_of_its_alpha():
    layer = Image.new("RGBA", (16, 16), (0, 0, 0, 0))
    layer.paste((255, 255, 255, 255), (4, 4, 12, 12))
    mask = decode_mask(encoded(layer))

    assert mask.mode == "L" and mask.getpixel((0, 0)) == 0 and mask.getpixel((8, 8)) == 255
