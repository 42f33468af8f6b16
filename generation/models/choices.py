"""Choices and validators the models share, built from the engine's lists and limits."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from ..engine import limits
from ..engine.requests import RESIZE_MODE_LABELS
from ..engine.samplers import SAMPLER_NAMES


def validate_image_side(value: int):
    """At least MIN_SIDE, at most DEEPIMAGE_MAX_IMAGE_SIDE, a multiple of the VAE's 8-pixel cell."""
    if not limits.MIN_SIDE <= value <= settings.DEEPIMAGE_MAX_IMAGE_SIDE:
        raise ValidationError(f"{value} is outside {limits.MIN_SIDE}–{settings.DEEPIMAGE_MAX_IMAGE_SIDE} pixels.")
    if value % limits.SIDE_MULTIPLE:
        raise ValidationError(f"{value} is not a multiple of {limits.SIDE_MULTIPLE}.")


def within(allowed: limits.Range) -> list:
    """Django validators for one of the engine's ranges."""
    return [MinValueValidator(allowed.min), MaxValueValidator(allowed.max)]


def choices_from(labels: dict[str, str], class_name: str):
    """TextChoices built from the engine's {value: label} dict: "sdxl-turbo" becomes SDXL_TURBO."""
    return models.TextChoices(
        class_name, [(value.upper().replace("-", "_"), (value, label)) for value, label in labels.items()]
    )


SAMPLER_CHOICES = [(name, name) for name in SAMPLER_NAMES]
RESIZE_MODE_CHOICES = list(RESIZE_MODE_LABELS.items())
