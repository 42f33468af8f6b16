"""Input images: decoded safely, oriented, converted to RGB, resized to the job's size."""

import io
import logging

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from .requests import RESIZE_MODES, InvalidRequest

INPUT_FORMATS = ("PNG", "JPEG", "WEBP")  # what uploads may be; no other Pillow decoder is reached
MAX_INPUT_PIXELS = 16_000_000  # the default cap; larger inputs are refused before their pixels are decoded
logger = logging.getLogger(__name__)


def open_input(data: bytes, field: str, what: str, max_pixels: int = MAX_INPUT_PIXELS) -> Image.Image:
    """Decode an upload of PNG, JPEG or WebP of at most `max_pixels`, upright. Every failure,
    whatever the decoder raised, is an InvalidRequest naming `field` with a readable message;
    the decoder's own words go to the log."""
    try:
        with Image.open(io.BytesIO(data), formats=INPUT_FORMATS) as opened:
            if opened.width * opened.height > max_pixels:
                raise InvalidRequest(
                    field,
                    f"{what} is {opened.width}×{opened.height}; the limit is {max_pixels / 1e6:g} megapixels.",
                )
            opened.load()
            return ImageOps.exif_transpose(opened)
    except InvalidRequest:
        raise
    except UnidentifiedImageError:
        raise InvalidRequest(field, f"{what} is not a PNG, JPEG or WebP image.") from None
    except Image.DecompressionBombError:
        raise InvalidRequest(field, f"{what} declares more pixels than any input may have.") from None
    except Exception as error:  # noqa: BLE001 - hostile files make decoders raise anything
        logger.info("Refused %s: %s: %s", field, type(error).__name__, error)
        raise InvalidRequest(field, f"{what} could not be decoded: the file is damaged or incomplete.") from None


def decode_image(data: bytes, field: str = "init_image", max_pixels: int = MAX_INPUT_PIXELS) -> Image.Image:
    """Decode an upload into an upright RGB image, or raise InvalidRequest naming `field`."""
    return to_rgb(open_input(data, field, "The image", max_pixels))


def encode_png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def to_rgb(image: Image.Image) -> Image.Image:
    """Convert any mode to 8-bit RGB; transparency is flattened onto white."""
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        # 16/32-bit greyscale: scale to 8 bits instead of clipping everything to white.
        array = np.asarray(image, dtype=np.float64)
        peak = array.max() or 1.0
        image = Image.fromarray((array * (255.0 / peak)).clip(0, 255).astype(np.uint8), mode="L")
    elif image.mode == "F":
        image = Image.fromarray(np.asarray(image).clip(0, 255).astype(np.uint8), mode="L")
    if image.mode == "P":
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
    if image.mode in ("RGBA", "LA", "PA"):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return image.convert("RGB")


def decode_mask(data: bytes, max_pixels: int = MAX_INPUT_PIXELS) -> Image.Image:
    """A mask as single-channel L: white repaints, black keeps (alpha counts as coverage)."""
    upright = open_input(data, "mask_image", "The mask", max_pixels)
    if upright.mode in ("RGBA", "LA") and upright.getextrema()[-1][0] < 255:
        # A painted layer on transparency: what was painted is what repaints.
        return upright.getchannel("A")
    return to_rgb(upright).convert("L")


def check_mask_fits(image: Image.Image, mask: Image.Image) -> None:
    if image.size != mask.size:
        raise InvalidRequest(
            "mask_image",
            f"The mask is {mask.width}×{mask.height} but the image is {image.width}×{image.height}; "
            "paint the mask on the same image.",
        )


def fit_image(image: Image.Image, width: int, height: int, resize_mode: str, mask: bool = False) -> Image.Image:
    """Resize to exactly width×height, the way A1111's three resize modes do."""
    if resize_mode not in RESIZE_MODES:
        raise InvalidRequest("resize_mode", f"Unknown resize mode {resize_mode!r}; choose one of {RESIZE_MODES}.")
    resample = Image.Resampling.NEAREST if mask else Image.Resampling.LANCZOS
    if image.size == (width, height):
        return image
    if resize_mode == "just_resize":
        return image.resize((width, height), resample)
    if resize_mode == "crop_and_resize":
        return ImageOps.fit(image, (width, height), method=resample, centering=(0.5, 0.5))
    return contain_and_fill(image, width, height, resample)


def contain_and_fill(image: Image.Image, width: int, height: int, resample) -> Image.Image:
    """Fit inside, centred, then stretch the image's edge pixels over the empty borders."""
    scale = min(width / image.width, height / image.height)
    inner_w, inner_h = max(1, round(image.width * scale)), max(1, round(image.height * scale))
    inner = image.resize((inner_w, inner_h), resample)
    canvas = Image.new(image.mode, (width, height))
    left, top = (width - inner_w) // 2, (height - inner_h) // 2
    canvas.paste(inner, (left, top))
    if left:
        canvas.paste(inner.crop((0, 0, 1, inner_h)).resize((left, inner_h)), (0, top))
        right = width - left - inner_w
        canvas.paste(inner.crop((inner_w - 1, 0, inner_w, inner_h)).resize((right, inner_h)), (left + inner_w, top))
    if top:
        canvas.paste(inner.crop((0, 0, inner_w, 1)).resize((inner_w, top)), (left, 0))
        bottom = height - top - inner_h
        canvas.paste(inner.crop((0, inner_h - 1, inner_w, inner_h)).resize((inner_w, bottom)), (left, top + inner_h))
    return canvas
