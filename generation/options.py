"""Every choice and limit a generation request accepts, in one dict.

`GET /api/v1/options/` returns it, the workspace template renders its inputs from it and
the browser reads it; the values themselves are defined in the engine (limits, families,
modes, samplers, aspect ratios) and in settings (the largest side).
"""

from django.conf import settings

from .engine import limits
from .engine.families import PROFILES
from .engine.requests import IMAGE_MODES, MODE_LABELS, RESIZE_MODE_LABELS
from .engine.samplers import SAMPLER_NAMES
from .engine.sizing import ASPECTS


def labelled(labels: dict[str, str]) -> list[dict]:
    return [{"value": value, "label": label} for value, label in labels.items()]


def generation_options() -> dict:
    """Modes, samplers, aspects, resize modes, families with their defaults, and the limits."""
    return {
        "modes": labelled(MODE_LABELS),
        "image_modes": list(IMAGE_MODES),
        "samplers": list(SAMPLER_NAMES),
        "aspects": list(ASPECTS),
        "resize_modes": labelled(RESIZE_MODE_LABELS),
        "families": [
            {
                "value": family,
                "label": family_profile.label,
                "native_side": family_profile.native_side,
                "default_steps": family_profile.default_steps,
                "default_guidance_scale": family_profile.default_guidance_scale,
            }
            for family, family_profile in PROFILES.items()
        ],
        "native_sides": {family: family_profile.native_side for family, family_profile in PROFILES.items()},
        "limits": {
            "num_images": limits.NUM_IMAGES.as_dict(),
            "steps": limits.STEPS.as_dict(),
            "guidance_scale": limits.GUIDANCE_SCALE.as_dict(),
            "side": {"min": limits.MIN_SIDE, "max": settings.DEEPIMAGE_MAX_IMAGE_SIDE, "step": limits.SIDE_MULTIPLE},
            "strength": limits.STRENGTH.as_dict(),
            "eta": limits.ETA.as_dict(),
            "guidance_rescale": limits.GUIDANCE_RESCALE.as_dict(),
            "guidance_end": limits.GUIDANCE_END.as_dict(),
            "clip_skip": limits.CLIP_SKIP.as_dict(),
            "adapter_weight": limits.ADAPTER_WEIGHT.as_dict(),
            "compared_models": limits.COMPARED_MODELS.as_dict(),
            "seed": {"min": -1, "max": limits.SEED.max},
        },
    }
