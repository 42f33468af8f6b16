"""PNG files that carry their own generation parameters."""

import io
import json

from PIL import Image
from PIL.PngImagePlugin import PngInfo


def a1111_parameters(parameters: dict) -> str:
    """Format parameters the way AUTOMATIC1111 writes them, so other tools can read them.

    `parameters` uses our field names; values that do not apply (no denoising strength in
    text-to-image, no adapters) are left out as A1111 does.
    """
    image_mode = parameters.get("mode", "text_to_image") != "text_to_image"
    adapters = parameters.get("adapters") or []
    settings = {
        "Steps": parameters.get("steps"),
        "Sampler": parameters.get("sampler"),
        "CFG scale": parameters.get("guidance_scale"),
        "Seed": parameters.get("seed"),
        "Size": f"{parameters.get('width')}x{parameters.get('height')}",
        "Model hash": parameters.get("model_hash") or None,
        "Model": parameters.get("model"),
        "Denoising strength": parameters.get("strength") if image_mode else None,
        "Clip skip": parameters.get("clip_skip") if (parameters.get("clip_skip") or 0) > 1 else None,
        "Eta": parameters.get("eta") or None,
        "CFG Rescale phi": parameters.get("guidance_rescale") or None,
        "Guidance end": parameters["guidance_end"] if parameters.get("guidance_end", 1) < 1 else None,
        "Lora hashes": _quoted(", ".join(f"{a['name']}: {a['hash']}" for a in adapters if a.get("hash"))) or None,
    }
    prompt = parameters.get("prompt", "")
    # A1111 writes LoRAs into the prompt as <lora:name:weight>; readers look for them there.
    lora_tags = " ".join(f"<lora:{a['name']}:{a['weight']:g}>" for a in adapters)
    lines = [f"{prompt} {lora_tags}".strip()]
    if parameters.get("negative_prompt"):
        lines.append(f"Negative prompt: {parameters['negative_prompt']}")
    lines.append(", ".join(f"{key}: {value}" for key, value in settings.items() if value not in (None, "")))
    return "\n".join(lines)


def _quoted(value: str) -> str:
    return f'"{value}"' if value else ""


def png_bytes(image: Image.Image, parameters: dict) -> bytes:
    """Encode `image` as PNG with an A1111 `parameters` chunk and a full JSON `deepimage` chunk."""
    info = PngInfo()
    info.add_text("parameters", a1111_parameters(parameters))
    info.add_text("deepimage", json.dumps(parameters, sort_keys=True))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", pnginfo=info)
    return buffer.getvalue()


def read_parameters(png: bytes) -> dict:
    """Return the JSON parameters stored by `png_bytes`."""
    with Image.open(io.BytesIO(png)) as image:
        return json.loads(image.text["deepimage"])
