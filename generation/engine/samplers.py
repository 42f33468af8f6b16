"""Sampler names users know (A1111's), mapped to diffusers schedulers.

Each scheduler is built from the model's own scheduler config, so what the model was
trained with (v-prediction, timestep spacing, beta schedule) carries over.
"""

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


def make_scheduler(name: str, base_config):
    """A new scheduler for sampler `name`, configured from the model's `base_config`."""
    import diffusers

    check_sampler(name)
    class_name, extra = SAMPLERS[name]
    config = {key: value for key, value in dict(base_config).items() if key not in _RESET_KEYS}
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
