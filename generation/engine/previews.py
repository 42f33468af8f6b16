"""Live previews: latents turned into small RGB images without running the VAE.

A linear map from the four latent channels to RGB is about 30× cheaper than a VAE
decode and good enough to watch an image form.
"""

import numpy as np
import torch
from PIL import Image

from .families import profile

PREVIEW_MAX_SIDE = 256


def latents_to_previews(latents: torch.Tensor, family: str) -> tuple[Image.Image, ...]:
    """One preview per image in the batch, at most PREVIEW_MAX_SIDE pixels on a side."""
    family_profile = profile(family)
    factors = torch.tensor(family_profile.latent_rgb_factors, dtype=torch.float32)
    bias = torch.tensor(family_profile.latent_rgb_bias, dtype=torch.float32)
    with torch.no_grad():
        rgb = torch.einsum("bchw,cr->bhwr", latents[:, :4].detach().float().cpu(), factors) + bias
        pixels = ((rgb.clamp(-1, 1) + 1) * 127.5).to(torch.uint8).numpy()
    return tuple(_enlarge(Image.fromarray(np.ascontiguousarray(array))) for array in pixels)


def _enlarge(image: Image.Image) -> Image.Image:
    # Latents are 1/8 of the output size; upscale so the browser shows a readable thumbnail.
    scale = max(1, PREVIEW_MAX_SIDE // max(image.size))
    return image.resize((image.width * scale, image.height * scale), Image.Resampling.BILINEAR)
