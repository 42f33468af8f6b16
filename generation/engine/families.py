"""What differs between model families: name, pipeline classes, native size, the defaults a new
catalog entry starts from, and preview colours. The list of families is the keys of PROFILES."""

from dataclasses import dataclass


@dataclass(frozen=True)
class FamilyProfile:
    label: str
    native_side: int  # the pixel budget is native_side², the size the model was trained at
    # What a new catalog entry of the family starts from (the admin may change each).
    default_steps: int
    default_guidance_scale: float
    is_xl: bool
    # Latent channel -> RGB weights: a cheap approximation of the VAE for live previews.
    latent_rgb_factors: tuple[tuple[float, float, float], ...]
    latent_rgb_bias: tuple[float, float, float] = (0.0, 0.0, 0.0)


SD_LATENT_RGB = (
    (0.3512, 0.2297, 0.3227),
    (0.3250, 0.4974, 0.2350),
    (-0.2829, 0.1762, 0.2721),
    (-0.2120, -0.2616, -0.7177),
)
SDXL_LATENT_RGB = (
    (0.3651, 0.4232, 0.4341),
    (-0.2533, -0.0042, 0.1068),
    (0.1076, 0.1111, -0.0362),
    (-0.3165, -0.2492, -0.2188),
)
SDXL_LATENT_BIAS = (0.1084, -0.0175, -0.0011)

PROFILES = {
    "sd15": FamilyProfile("Stable Diffusion 1.5", 512, 25, 7.5, False, SD_LATENT_RGB),
    "sd21": FamilyProfile("Stable Diffusion 2.1", 768, 25, 7.0, False, SD_LATENT_RGB),
    "sdxl": FamilyProfile("SDXL", 1024, 30, 6.0, True, SDXL_LATENT_RGB, SDXL_LATENT_BIAS),
    # Turbo is distilled for 1–4 steps without classifier-free guidance (its own scheduler is Euler a).
    "sdxl-turbo": FamilyProfile("SDXL-Turbo", 512, 1, 0.0, True, SDXL_LATENT_RGB, SDXL_LATENT_BIAS),
}


FAMILIES = tuple(PROFILES)


def profile(family: str) -> FamilyProfile:
    return PROFILES[family]


def pipeline_class(family: str, mode: str):
    """The diffusers pipeline class that runs `mode` for `family`."""
    import diffusers

    prefix = "StableDiffusionXL" if profile(family).is_xl else "StableDiffusion"
    suffix = {"text_to_image": "Pipeline", "inpaint": "InpaintPipeline"}.get(mode, "Img2ImgPipeline")
    return getattr(diffusers, prefix + suffix)
