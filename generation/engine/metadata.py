"""PNG files that carry their own generation parameters."""

import io
import json

from PIL import Image
from PIL.PngImagePlugin import PngInfo


def a1111_parameters(parameters: dict) -> str:
    """Format parameters the way AUTOMATIC1111 writes them, so other tools can read them."""
    settings = {
        "Steps": parameters.get("steps"),
        "Sampler": parameters.get("sampler"),
        "CFG scale": parameters.get("guidance_scale"),
        "Seed": parameters.get("seed"),
        "Size": f"{parameters.get('width')}x{parameters.get('height')}",
        "Model": parameters.get("model"),
    }
    lines = [parameters.get("prompt", "")]
    if parameters.get("negative_prompt"):
        lines.append(f"Negative prompt: {parameters['negative_prompt']}")
    lines.append(", ".join(f"{key}: {value}" for key, value in settings.items() if value is not None))
    return "\n".join(lines)


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
