"""Output sizes from aspect ratios, the family's pixel budget and the configured maximum."""

import math

from .families import profile
from .limits import MIN_SIDE, SIDE_MULTIPLE
from .requests import InvalidRequest

ASPECT_RATIOS = {
    "1:1": (1, 1),
    "9:16": (9, 16),
    "16:9": (16, 9),
    "4:3": (4, 3),
    "3:4": (3, 4),
    "3:2": (3, 2),
    "2:3": (2, 3),
    "21:9": (21, 9),
}
CUSTOM = "custom"
FOLLOW_IMAGE = "image"  # follow the first uploaded image
ASPECTS = (*ASPECT_RATIOS, CUSTOM, FOLLOW_IMAGE)


def snap(value: float) -> int:
    """The nearest multiple of 8 (the VAE's cell size), at least MIN_SIDE."""
    return max(MIN_SIDE, int(round(value / SIDE_MULTIPLE)) * SIDE_MULTIPLE)


def resolve_size(
    family: str,
    aspect: str = "1:1",
    width: int | None = None,
    height: int | None = None,
    image_size: tuple[int, int] | None = None,
    *,
    max_side: int,
) -> tuple[int, int]:
    """Return (width, height) for a job.

    Both sides given: they are used as they are (snapped to 8). Otherwise the ratio comes
    from `aspect` (or the first image for FOLLOW_IMAGE) and the area from the family's
    native pixel budget; one side given fixes the scale instead. The result never exceeds
    `max_side` on either side and keeps its ratio when it is scaled down to fit.
    """
    if aspect not in ASPECTS:
        raise InvalidRequest("aspect", f"Unknown aspect ratio {aspect!r}; choose one of {', '.join(ASPECTS)}.")
    if width and height:
        ratio_w, ratio_h = width, height
    elif aspect == FOLLOW_IMAGE:
        if image_size is None:
            raise InvalidRequest("aspect", "“Follow the image” needs an uploaded or referenced image.")
        ratio_w, ratio_h = image_size
    elif aspect == CUSTOM:
        raise InvalidRequest("width", "A custom size needs both width and height.")
    else:
        ratio_w, ratio_h = ASPECT_RATIOS[aspect]

    ratio = ratio_w / ratio_h
    if width and height:
        exact_w, exact_h = float(width), float(height)
    elif width:
        exact_w, exact_h = float(width), width / ratio
    elif height:
        exact_w, exact_h = height * ratio, float(height)
    else:
        budget = profile(family).native_side ** 2
        exact_w, exact_h = math.sqrt(budget * ratio), math.sqrt(budget / ratio)

    shrink = min(1.0, max_side / max(exact_w, exact_h))
    largest = max_side // SIDE_MULTIPLE * SIDE_MULTIPLE
    return min(snap(exact_w * shrink), largest), min(snap(exact_h * shrink), largest)
