"""Sampler names users know (A1111's), mapped to diffusers schedulers.

Each scheduler is built from the model's own scheduler config, so what the model was
trained with (v-prediction, timestep spacing, beta schedule) carries over; the samplers
that cannot run on a given noise schedule are refused by name.
"""

import inspect
import json
from pathlib import Path

from .requests import InvalidRequest

# name -> (diffusers scheduler class, extra config)
SAMPLERS: dict[str, tuple[str, dict]] = {
    "Euler": ("EulerDiscreteScheduler", {}),
    "Euler a": ("EulerAncestralDiscreteScheduler", {}),
    "Heun": ("HeunDiscreteScheduler", {}),
    "LMS": ("LMSDiscreteScheduler", {}),
    "LMS Karras": ("LMSDiscreteScheduler", {"use_karras_sigmas": True}),
    "DPM2": ("KDPM2DiscreteScheduler", {}),
    "DPM2 a": ("KDPM2AncestralDiscreteScheduler", {}),
    "DPM++ 2M": ("DPMSolverMultistepScheduler", {}),
    "DPM++ 2M Karras": ("DPMSolverMultistepScheduler", {"use_karras_sigmas": True}),
    "DPM++ 2M SDE": ("DPMSolverMultistepScheduler", {"algorithm_type": "sde-dpmsolver++"}),
    "DPM++ 2M SDE Karras": (
        "DPMSolverMultistepScheduler",
        {"algorithm_type": "sde-dpmsolver++", "use_karras_sigmas": True},
    ),
    "DPM++ SDE": ("DPMSolverSDEScheduler", {}),
    "DPM++ SDE Karras": ("DPMSolverSDEScheduler", {"use_karras_sigmas": True}),
    "DDIM": ("DDIMScheduler", {}),
    "PNDM": ("PNDMScheduler", {}),
    "UniPC": ("UniPCMultistepScheduler", {}),
    "DEIS": ("DEISMultistepScheduler", {}),
}
SAMPLER_NAMES = tuple(SAMPLERS)

# Config keys one scheduler writes that make another one misbehave when carried over.
_RESET_KEYS = ("use_karras_sigmas", "algorithm_type", "solver_order", "final_sigmas_type")


def check_sampler(name: str) -> None:
    if name and name not in SAMPLERS:
        raise InvalidRequest("sampler", f"Unknown sampler {name!r}; choose one of: {', '.join(SAMPLER_NAMES)}.")


def check_sampler_fits(name: str, base_config) -> None:
    """Refuse a Karras sampler on a zero-terminal-SNR schedule (`rescale_betas_zero_snr`)
    where the scheduler honours it: the Karras ramp then starts at sigma 4096, puts most
    steps on timesteps 999 and 998, and diffusers' multistep solver runs past its own
    sigmas on the duplicates (IndexError; huggingface/diffusers#12771). Runs at submission
    too, so diffusers is imported only for a Karras sampler on such a schedule."""
    if not (name and dict(base_config).get("rescale_betas_zero_snr")):
        return
    class_name, extra = SAMPLERS[name]
    if not extra.get("use_karras_sigmas"):
        return
    import diffusers

    if "rescale_betas_zero_snr" in inspect.signature(getattr(diffusers, class_name)).parameters:
        others = ", ".join(
            other for other, (_, other_extra) in SAMPLERS.items() if not other_extra.get("use_karras_sigmas")
        )
        raise InvalidRequest(
            "sampler",
            f"{name} does not suit this model: its noise schedule ends at zero signal, where Karras "
            f"spacing crowds the steps at the very start. Choose one of: {others}.",
        )


def local_scheduler_config(source: str) -> dict | None:
    """The scheduler config of a local diffusers folder, or None (hub ids, single files)."""
    path = Path(source) / "scheduler" / "scheduler_config.json"
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def make_scheduler(name: str, base_config):
    """A new scheduler for sampler `name`, configured from the model's `base_config`."""
    import diffusers

    check_sampler(name)
    check_sampler_fits(name, base_config)
    class_name, extra = SAMPLERS[name]
    config = {key: value for key, value in dict(base_config).items() if key not in _RESET_KEYS}
    # Latents are not bounded to [-1, 1]: DDIM and DDPM clip their estimate of the clean
    # sample by default, which a config saved by a scheduler without the key (Euler's) leaves on.
    config.setdefault("clip_sample", False)
    return getattr(diffusers, class_name).from_config(config, **extra)


def sampler_name_of(scheduler) -> str:
    """The user-facing name of a scheduler object (its class name when it has none)."""
    class_name = type(scheduler).__name__
    matches = [
        name
        for name, (candidate, extra) in SAMPLERS.items()
        if candidate == class_name and all(scheduler.config.get(key) == value for key, value in extra.items())
    ]
    # The most specific match: "DPM++ 2M Karras" rather than "DPM++ 2M" for a Karras config.
    return max(matches, key=lambda name: len(SAMPLERS[name][1]), default=class_name)
