"""OpenAI's Images API (what the official `openai` client sends) in DeepImage's terms: a call's
fields become those of an ordinary generation session of the key's project, a finished session
becomes OpenAI's response, an edit mask's convention (fully transparent = change) becomes ours
(white = repaint), and images leave as base64 or as signed links that expire.

Sync and free of HTTP; generation/api/openai.py is the async edge that calls these.

- `quality` sets the steps relative to the model's default (QUALITY_STEPS); absent, the
  model's default steps.
- `size` is `WxH` (sides multiples of 8, 64 to DEEPIMAGE_MAX_IMAGE_SIDE) or `auto`: the
  model's default size, or for edits and variations the input's aspect ratio at the
  model's native area (as the workspace does).
- `model` is a catalog entry's name (or hash); OpenAI's own names (dall-e-…, gpt-image-…)
  and no model at all mean the key's default model.
- `user`, `safety_identifier`, `moderation`, `style`, `input_fidelity`, `partial_images`
  are accepted and ignored; what cannot be honoured (streaming, transparent backgrounds,
  gif/svg output, animation frames) is refused with a 400 naming the field.
"""

import base64
import io
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.http import Http404
from PIL import Image

from studio.api_keys import api_key_live_role
from studio.models import ApiKey

from . import integrations
from .engine import InvalidRequest, limits
from .engine.images import encode_png, open_input
from .models import GeneratedImage, GenerationSession, ModelEntry
from .submission import DEFAULT_STRENGTH

Mode = GenerationSession.Mode

# OpenAI's quality → a factor on the model's default steps.
QUALITY_STEPS = {
    "low": 0.5,
    "medium": 1.0,
    "high": 1.5,
    "xhigh": 2.0,
    "max": 2.5,
    "auto": 1.0,
    "standard": 1.0,  # DALL·E 3's names
    "hd": 1.5,
}
QUALITY_ANSWERED = {"auto": "medium", "standard": "medium", "hd": "high"}  # the response's names
OUTPUT_FORMATS = {"png": "PNG", "jpeg": "JPEG", "webp": "WEBP"}
CONTENT_TYPES = {"png": "image/png", "jpeg": "image/jpeg", "webp": "image/webp"}
RESPONSE_FORMATS = ("b64_json", "url")
OPENAI_MODEL_PREFIXES = ("dall-e", "gpt-image", "chatgpt-image")  # scripts written for OpenAI name these
SIZE_PATTERN = re.compile(r"(\d{1,5})x(\d{1,5})")
VARIATION_GUIDANCE = 1.0  # no prompt to guide towards: 1 skips classifier-free guidance (half the work)
FILE_SIGNING_SALT = "generation.openai_images.file"
# Session fields as OpenAI's callers know them, for the `param` of an error.
PARAM_OF_FIELD = {
    "num_images": "n",
    "width": "size",
    "height": "size",
    "aspect": "size",
    "init_image": "image",
    "mask_image": "mask",
    "steps": "quality",
    "model_id": "model",
}


@dataclass(frozen=True)
class Delivery:
    """How a call wants its images back."""

    response_format: str = "b64_json"
    output_format: str = "png"
    compression: int = 100  # JPEG/WebP quality, as OpenAI's output_compression
    quality: str = "medium"


@dataclass(frozen=True)
class ImageCall:
    """A parsed call: the fields of the session to submit, and how to answer."""

    fields: dict
    delivery: Delivery


def generation_call(key: ApiKey, body: Mapping) -> ImageCall:
    """`POST /v1/images/generations` (a JSON object) as a text-to-image submission."""
    refuse_unsupported(body)
    model = model_for_call(key, body.get("model"))
    fields = {"mode": Mode.TEXT_TO_IMAGE, "model_id": model.id, "prompt": text(body, "prompt", required=True)}
    return ImageCall(fields | common_fields(body, model, Mode.TEXT_TO_IMAGE), delivery_of(body))


def edit_call(key: ApiKey, form: Mapping, images: list, mask) -> ImageCall:
    """`POST /v1/images/edits` (multipart): the first image, edited by the prompt; with a mask,
    only where the mask is fully transparent (inpainting), else all of it (image + text)."""
    refuse_unsupported(form)
    if not images:
        raise ValidationError({"image": "Send the image to edit as the multipart file `image`."})
    model = model_for_call(key, form.get("model"))
    mode = Mode.INPAINT if mask else Mode.IMAGE_TEXT
    fields = {
        "mode": mode,
        "model_id": model.id,
        "prompt": text(form, "prompt", required=True),
        "init_image": images[0],
    }
    if mask:
        fields["mask_image"] = repaint_mask_from_openai(mask)
    return ImageCall(fields | common_fields(form, model, mode), delivery_of(form))


def variation_call(key: ApiKey, form: Mapping, image) -> ImageCall:
    """`POST /v1/images/variations` (multipart): image-to-image without a prompt, at the
    default denoising strength and without classifier-free guidance."""
    refuse_unsupported(form)
    if not image:
        raise ValidationError({"image": "Send the image to vary as the multipart file `image`."})
    model = model_for_call(key, form.get("model"))
    fields = {
        "mode": Mode.IMAGE_TO_IMAGE,
        "model_id": model.id,
        "init_image": image,
        "guidance_scale": VARIATION_GUIDANCE,
    }
    return ImageCall(fields | common_fields(form, model, Mode.IMAGE_TO_IMAGE), delivery_of(form))


def refuse_unsupported(body: Mapping) -> None:
    """What a diffusion model here cannot honour is refused, not silently ignored."""
    if truthy(body.get("stream")):
        raise ValidationError({"stream": "Streaming is not supported: leave `stream` out."})
    if body.get("background") not in (None, "", "auto", "opaque"):
        raise ValidationError({"background": "Only opaque backgrounds: use `auto` or `opaque`."})
    if body.get("frame_count") not in (None, "", 1, "1"):
        raise ValidationError({"frame_count": "Only still images: leave `frame_count` out."})


def common_fields(body: Mapping, model: ModelEntry, mode: str) -> dict:
    """The number of images, the size and the steps, as submission fields."""
    fields = {"num_images": image_count(body.get("n"))}
    size = parse_size(body.get("size"))
    if size:
        fields["width"], fields["height"] = size
    quality = body.get("quality")
    if quality not in (None, ""):
        fields["steps"] = steps_for_quality(model, quality, mode)
    return fields


def delivery_of(body: Mapping) -> Delivery:
    response_format = body.get("response_format") or "b64_json"
    if response_format not in RESPONSE_FORMATS:
        raise ValidationError({"response_format": "Use `b64_json` or `url`."})
    output_format = body.get("output_format") or "png"
    if not isinstance(output_format, str) or output_format not in OUTPUT_FORMATS:
        raise ValidationError({"output_format": f"Use one of {', '.join(OUTPUT_FORMATS)}."})
    compression = whole_number(body.get("output_compression"), "output_compression", 100)
    if not 0 <= compression <= 100:
        raise ValidationError({"output_compression": "Use a number from 0 to 100."})
    quality = body.get("quality") or "auto"
    return Delivery(response_format, output_format, compression, QUALITY_ANSWERED.get(quality, quality))


def model_for_call(key: ApiKey, name) -> ModelEntry:
    """The catalog entry named; the key's default for no name or one of OpenAI's own."""
    if name in (None, ""):
        return integrations.default_model_for(key)
    if not isinstance(name, str):
        raise ValidationError({"model": "Name a model as a string."})
    if name.lower().startswith(OPENAI_MODEL_PREFIXES) and not integrations.base_models_for(key).filter(name=name):
        return integrations.default_model_for(key)
    return integrations.model_by_reference(key, name, "model")


def text(body: Mapping, field: str, required: bool = False) -> str:
    value = body.get(field)
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise ValidationError({field: "Send text."})
    if required and not value.strip():
        raise ValidationError({field: f"`{field}` is required."})
    return value


def truthy(value) -> bool:
    return value is True or (isinstance(value, str) and value.lower() in ("true", "1"))


def whole_number(value, field: str, default: int) -> int:
    """An integer sent as JSON or as a multipart field's text."""
    if value in (None, ""):
        return default
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValidationError({field: "Send a whole number."})
    try:
        return int(value)
    except ValueError:
        raise ValidationError({field: "Send a whole number."}) from None


def image_count(value) -> int:
    count = whole_number(value, "n", 1)
    if count not in limits.NUM_IMAGES:
        allowed = limits.NUM_IMAGES
        raise ValidationError({"n": f"`n` must be between {allowed.min:g} and {allowed.max:g} here."})
    return count


def parse_size(value) -> tuple[int, int] | None:
    """(width, height) from `WxH`; None for `auto` or no size (the default size)."""
    if value in (None, "", "auto"):
        return None
    match = SIZE_PATTERN.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        raise ValidationError({"size": "Use `WIDTHxHEIGHT` (e.g. `512x512`) or `auto`."})
    width, height = int(match[1]), int(match[2])
    max_side = settings.DEEPIMAGE_MAX_IMAGE_SIDE
    for side in (width, height):
        if side % limits.SIDE_MULTIPLE or not limits.MIN_SIDE <= side <= max_side:
            raise ValidationError(
                {
                    "size": f"Sides must be multiples of {limits.SIDE_MULTIPLE} "
                    f"from {limits.MIN_SIDE} to {max_side}; got {value}."
                }
            )
    return width, height


def steps_for_quality(model: ModelEntry, quality, mode: str) -> int:
    """The model's default steps scaled by the quality's factor, within the engine's range;
    image modes keep at least the steps one denoising step at the default strength needs."""
    if not isinstance(quality, str) or quality not in QUALITY_STEPS:
        raise ValidationError({"quality": f"Use one of {', '.join(QUALITY_STEPS)}."})
    minimum = math.ceil(1 / DEFAULT_STRENGTH) if mode != Mode.TEXT_TO_IMAGE else 1
    steps = round(model.default_steps * QUALITY_STEPS[quality])
    return int(min(limits.STEPS.max, max(minimum, steps)))


def repaint_mask_from_openai(upload) -> ContentFile:
    """OpenAI's mask (fully transparent pixels: change them) as DeepImage's: white repaints,
    black keeps. A mask without an alpha channel is a 400: it cannot say where to edit."""
    upload.seek(0)
    try:
        mask = open_input(upload.read(), "mask", "The mask", settings.DEEPIMAGE_MAX_INPUT_PIXELS)
    except InvalidRequest as error:
        raise ValidationError({"mask": str(error)}) from None
    has_alpha = mask.mode in ("RGBA", "LA", "PA") or (mask.mode == "P" and "transparency" in mask.info)
    if not has_alpha:
        raise ValidationError({"mask": "The mask needs an alpha channel: fully transparent pixels mark what to edit."})
    repaint = mask.convert("RGBA").getchannel("A").point(lambda alpha: 255 if alpha == 0 else 0)
    return ContentFile(encode_png(repaint), name="mask.png")


def openai_submit(key: ApiKey, user, call: ImageCall) -> GenerationSession:
    """Submit the call as the key (an ordinary session of its project); errors name OpenAI's
    fields (`n`, `size`, `image`, …) instead of the session's."""
    try:
        return integrations.submit_as_key(key, user, **call.fields)
    except ValidationError as error:
        if not hasattr(error, "error_dict"):
            raise
        renamed: dict[str, list] = {}
        for field, messages in error.message_dict.items():
            renamed.setdefault(PARAM_OF_FIELD.get(field, field), []).extend(messages)
        raise ValidationError(renamed) from None


def images_response(session: GenerationSession, delivery: Delivery, url_for: Callable[[str], str]) -> dict:
    """OpenAI's response for a session that succeeded; `url_for(token)` makes a file link."""
    data = []
    for image, png in integrations.session_pngs(session):
        if delivery.response_format == "url":
            data.append({"url": url_for(file_token(image, delivery)), "revised_prompt": None})
        else:
            encoded = base64.b64encode(encode_output(png, delivery.output_format, delivery.compression)).decode()
            data.append({"b64_json": encoded, "revised_prompt": None})
    return {
        "created": int(session.created_at.timestamp()),
        "data": data,
        "size": f"{session.width}x{session.height}",
        "output_format": delivery.output_format,
        "quality": delivery.quality,
        "background": "opaque",
    }


def encode_output(png: bytes, output_format: str, compression: int = 100) -> bytes:
    """The stored PNG as it is (its metadata kept), or converted to JPEG or WebP."""
    if output_format == "png":
        return png
    buffer = io.BytesIO()
    with Image.open(io.BytesIO(png)) as image:
        image.convert("RGB").save(buffer, format=OUTPUT_FORMATS[output_format], quality=compression)
    return buffer.getvalue()


def file_token(image: GeneratedImage, delivery: Delivery) -> str:
    """A signed, timestamped reference to an image in a format, for the key that asked: the
    path of its link."""
    signer = signing.TimestampSigner(salt=FILE_SIGNING_SALT)
    payload = {"image": image.id, "key": image.session.api_key_id}
    return signer.sign_object(payload | {"format": delivery.output_format, "q": delivery.compression})


def file_for_token(token: str) -> tuple[bytes, str]:
    """The bytes and content type a link names. signing.SignatureExpired once it is older
    than DEEPIMAGE_OPENAI_URL_SECONDS, signing.BadSignature if tampered with, Http404 if the
    image has been deleted since or the key that asked for it no longer works (revoked,
    expired, its creator gone from the project)."""
    signer = signing.TimestampSigner(salt=FILE_SIGNING_SALT)
    signed = signer.unsign_object(token, max_age=settings.DEEPIMAGE_OPENAI_URL_SECONDS)
    image = GeneratedImage.objects.filter(pk=signed["image"]).first()
    if image is None:
        raise Http404("This image has been deleted.")
    key = ApiKey.objects.select_related("created_by").filter(pk=signed.get("key")).first()
    if api_key_live_role(key) is None:
        raise Http404("The API key this link was made for no longer works.")
    with image.file.open("rb") as file:
        png = file.read()
    return encode_output(png, signed["format"], signed["q"]), CONTENT_TYPES[signed["format"]]


def models_list(key: ApiKey) -> dict:
    """`GET /v1/models`: the base models the key's project may use."""
    return {"object": "list", "data": [model_object(model) for model in integrations.base_models_for(key)]}


def model_detail(key: ApiKey, name: str) -> dict:
    model = integrations.base_models_for(key).filter(name=name).first()
    if model is None:
        raise Http404(f"No model “{name}” in this project: see GET /v1/models.")
    return model_object(model)


def model_object(model: ModelEntry) -> dict:
    return {"id": model.name, "object": "model", "created": int(model.created_at.timestamp()), "owned_by": "deepimage"}
