"""AUTOMATIC1111's web API, translated: its txt2img/img2img bodies into ordinary submissions
of the key's project, its answers (images, echoed parameters, the `info` JSON string), the
progress of the key's current job, and its model, sampler, LoRA and option listings.

Field names, defaults and shapes follow `modules/api/api.py` and `models.py` of
AUTOMATIC1111/stable-diffusion-webui and the `webuiapi` client. What DeepImage cannot do the
way A1111 would (hires fix, face restoration, tiling, scripts, subseeds) is refused with a
422 naming the field, never silently ignored; fields that only tune A1111's own UI or its
saving are accepted and have no effect.
"""

import base64
import io
import json
import re
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.utils import timezone
from PIL import Image, ImageFilter, ImageOps

from studio.models import ApiKey

from . import events, execution, integrations
from .engine import InvalidRequest, limits
from .engine.images import decode_mask, encode_png, open_input
from .engine.samplers import SAMPLER_NAMES
from .models import GenerationSession, ModelEntry

Mode = GenerationSession.Mode
Status = GenerationSession.Status
LORA_TAG = re.compile(r"<lora:([^:>]+)(?::([^:>]*))?(?::[^>]*)?>")
RESIZE_MODES = {0: "just_resize", 1: "crop_and_resize", 2: "resize_and_fill", 3: "just_resize"}
SCHEDULERS = ("automatic", "karras")  # A1111's "Schedule type"; karras picks the Karras variant
# Our field names as A1111 clients know them, for error messages.
FIELD_NAMES = {"init_image": "init_images", "mask_image": "mask", "guidance_scale": "cfg_scale", "num_images": "n_iter"}
# Features DeepImage does not have: a value other than these defaults is refused, not ignored.
UNSUPPORTED_UNLESS = {
    "enable_hr": (False, None),
    "restore_faces": (False, None),
    "tiling": (False, None),
    "subseed_strength": (0, 0.0, None),
    "script_name": (None, ""),
    "script_args": (None, []),
    "alwayson_scripts": (None, {}),
    "styles": (None, []),
}


class A1111Error(Exception):
    """An error A1111 would answer with this status: 404 model not found, 422 invalid."""

    def __init__(self, status: int, detail: str):
        super().__init__(detail)
        self.status, self.detail = status, detail


@dataclass
class Translated:
    """A txt2img/img2img body as submission fields, and what the answer echoes."""

    fields: dict
    batch_size: int
    prompt_as_sent: str


def refuse_unsupported(body: dict) -> None:
    for name, defaults in UNSUPPORTED_UNLESS.items():
        if name in body and body[name] not in defaults:
            raise A1111Error(422, f"{name}: DeepImage does not support this A1111 feature; leave it at its default.")


def number(body: dict, name: str, default, kind=int):
    value = body.get(name, default)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise A1111Error(422, f"{name}: expected a number, got {value!r}.")
    try:
        return kind(value)
    except (OverflowError, ValueError):
        raise A1111Error(422, f"{name}: {value!r} is out of range.") from None


def text(body: dict, name: str) -> str:
    value = body.get(name) or ""
    if not isinstance(value, str):
        raise A1111Error(422, f"{name}: expected a string.")
    return value


def prompt_and_loras(key: ApiKey, prompt: str) -> tuple[str, list[dict]]:
    """Take `<lora:name:weight>` tags out of the prompt and name the catalog adapters."""
    adapters = []
    for name, weight in LORA_TAG.findall(prompt):
        try:
            value = float(weight) if weight else 1.0
        except ValueError:
            raise A1111Error(422, f"prompt: the weight of <lora:{name}:{weight}> is not a number.") from None
        adapter = integrations.adapter_by_name(key, name.strip(), "prompt")
        adapters.append({"id": adapter.id, "weight": value})
    return " ".join(LORA_TAG.sub(" ", prompt).split()), adapters


def sampler_for(body: dict) -> str:
    """A1111's sampler_name (+ scheduler) as one of our sampler names; "" = the model's."""
    name = text(body, "sampler_name") or text(body, "sampler_index")
    scheduler = (text(body, "scheduler") or "automatic").lower()
    if scheduler not in SCHEDULERS:
        raise A1111Error(422, f"scheduler: pick one of {', '.join(SCHEDULERS)}.")
    if not name:
        return ""
    if scheduler == "karras" and not name.endswith("Karras"):
        name = f"{name} Karras"
    if name not in SAMPLER_NAMES:
        raise A1111Error(404, f"Sampler not found: {name}. Samplers: {', '.join(SAMPLER_NAMES)}.")
    return name


def model_for(key: ApiKey, body: dict) -> ModelEntry:
    override = body.get("override_settings") or {}
    if not isinstance(override, dict):
        raise A1111Error(422, "override_settings: expected an object.")
    unknown = set(override) - {"sd_model_checkpoint", "CLIP_stop_at_last_layers"}
    if unknown:
        raise A1111Error(422, f"override_settings: DeepImage cannot override {', '.join(sorted(unknown))}.")
    checkpoint = override.get("sd_model_checkpoint")
    if not checkpoint:
        return integrations.default_model_for(key)
    try:
        return integrations.model_by_reference(key, str(checkpoint), "sd_model_checkpoint")
    except ValidationError as error:
        raise A1111Error(404, f"Model not found: {' '.join(error.messages)}") from None


def translate(key: ApiKey, body: dict, img2img: bool) -> Translated:
    """The submission fields of a txt2img (or img2img) body; A1111Error when it asks for
    something DeepImage refuses."""
    refuse_unsupported(body)
    batch_size, n_iter = number(body, "batch_size", 1), number(body, "n_iter", 1)
    images = batch_size * n_iter
    if batch_size < 1 or n_iter < 1 or images > limits.NUM_IMAGES.max:
        raise A1111Error(422, f"batch_size × n_iter: at most {limits.NUM_IMAGES.max} images a call (asked {images}).")
    prompt_as_sent = text(body, "prompt")
    prompt, adapters = prompt_and_loras(key, prompt_as_sent)
    model = model_for(key, body)
    clip_skip = number(body.get("override_settings") or {}, "CLIP_stop_at_last_layers", 0)
    fields = {
        "model_id": model.id,
        "prompt": prompt,
        "negative_prompt": text(body, "negative_prompt"),
        "seed": number(body, "seed", -1),
        "steps": number(body, "steps", None),
        "guidance_scale": number(body, "cfg_scale", None, float),
        "width": number(body, "width", None),
        "height": number(body, "height", None),
        "sampler": sampler_for(body),
        "num_images": images,
        "clip_skip": clip_skip if clip_skip > 1 else 0,  # A1111's 1 is the last layer, our 0
        "adapters": adapters,
    }
    if "eta" in body and body["eta"] is not None:
        fields["eta"] = number(body, "eta", 0.0, float)  # out of range: refused by submission
    if img2img:
        fields |= image_fields(body, prompt)
    return Translated(fields=fields, batch_size=batch_size, prompt_as_sent=prompt_as_sent)


def image_fields(body: dict, prompt: str) -> dict:
    """init_images[0] (base64 or a data URL), the mask prepared as A1111 would, the mode."""
    init_images = body.get("init_images")
    if not isinstance(init_images, list) or not init_images:
        raise A1111Error(422, "init_images: send one image (base64 or a data URL).")
    init = integrations.decode_base64_image(init_images[0], "init_images", "init.png")
    resize_mode = number(body, "resize_mode", 0)
    if resize_mode not in RESIZE_MODES:
        raise A1111Error(422, "resize_mode: 0 just resize, 1 crop and resize, 2 resize and fill, 3 latent.")
    fields = {
        "init_image": init,
        "strength": number(body, "denoising_strength", 0.75, float),
        "resize_mode": RESIZE_MODES[resize_mode],
        "mode": Mode.IMAGE_TEXT if prompt else Mode.IMAGE_TO_IMAGE,
    }
    if body.get("mask"):
        fields["mode"] = Mode.INPAINT
        fields["mask_image"] = prepared_mask(body)
    return fields


def prepared_mask(body: dict) -> ContentFile:
    """The mask as DeepImage takes it (white repaints), inverted and blurred as asked."""
    raw = integrations.decode_base64_image(body["mask"], "mask", "mask.png").read()
    try:
        mask = decode_mask(raw)
    except InvalidRequest as error:
        raise A1111Error(422, f"mask: {error}") from None
    if number(body, "inpainting_mask_invert", 0):
        mask = ImageOps.invert(mask)
    blur = number(body, "mask_blur", 4)
    if not 0 <= blur <= 64:
        raise A1111Error(422, "mask_blur: from 0 to 64 pixels.")
    if blur:
        mask = mask.filter(ImageFilter.GaussianBlur(blur))
    return ContentFile(encode_png(mask), name="mask.png")


def response_for(session: GenerationSession, translated: Translated, body: dict) -> dict:
    """txt2img/img2img's answer: base64 PNGs (each with its `parameters` chunk), the request
    echoed, and `info`, a JSON string as A1111's `Processed.js()` writes it."""
    pictures = integrations.session_pngs(session) if session.status == Status.SUCCEEDED else []
    infotexts = [infotext_of(png) for _, png in pictures]
    seeds = [session.seed + index for index in range(session.num_images)]
    info = {
        "prompt": translated.prompt_as_sent,
        "all_prompts": [translated.prompt_as_sent] * session.num_images,
        "negative_prompt": session.negative_prompt,
        "all_negative_prompts": [session.negative_prompt] * session.num_images,
        "seed": session.seed,
        "all_seeds": seeds,
        "subseed": -1,
        "all_subseeds": [-1] * session.num_images,
        "subseed_strength": 0,
        "width": session.width,
        "height": session.height,
        "sampler_name": session.sampler,
        "cfg_scale": session.guidance_scale,
        "steps": session.steps,
        "batch_size": translated.batch_size,
        "restore_faces": False,
        "face_restoration_model": None,
        "sd_model_name": session.model.name,
        "sd_model_hash": session.model_hash or None,
        "sd_vae_name": None,
        "sd_vae_hash": None,
        "seed_resize_from_w": -1,
        "seed_resize_from_h": -1,
        "denoising_strength": session.strength if session.mode != Mode.TEXT_TO_IMAGE else None,
        "extra_generation_params": {},
        "index_of_first_image": 0,
        "infotexts": infotexts,
        "styles": [],
        "job_timestamp": (session.started_at or session.created_at).strftime("%Y%m%d%H%M%S"),
        "clip_skip": max(session.clip_skip, 1),
        "is_using_inpainting_conditioning": False,
        "version": "DeepImage",
        "interrupted": session.status == Status.CANCELLED,
        "deepimage": {"session_id": session.id, "image_ids": [image.id for image, _ in pictures]},
    }
    echo = {name: value for name, value in body.items() if name not in ("init_images", "mask")}
    if body.get("include_init_images"):
        echo |= {"init_images": body.get("init_images"), "mask": body.get("mask")}
    images = [] if body.get("send_images") is False else [base64_of(png) for _, png in pictures]
    return {"images": images, "parameters": echo, "info": json.dumps(info)}


def base64_of(png: bytes) -> str:
    return base64.b64encode(png).decode("ascii")


def infotext_of(png: bytes) -> str:
    with Image.open(io.BytesIO(png)) as image:
        return image.text.get("parameters", "")


def current_job(key: ApiKey) -> GenerationSession | None:
    """The key's running job, else its next queued one."""
    mine = GenerationSession.objects.filter(api_key=key)
    return (
        mine.filter(status=Status.RUNNING).order_by("started_at").first()
        or mine.filter(status=Status.QUEUED).order_by("queued_at", "id").first()
    )


def progress_for(key: ApiKey, skip_current_image: bool) -> dict:
    """`GET progress` for the key's current job: 0–1, seconds left, A1111's state block, and
    the newest live preview as base64."""
    unfinished = GenerationSession.objects.filter(api_key=key, status__in=(Status.RUNNING, Status.QUEUED))
    session = current_job(key)
    state = {
        "skipped": False,
        "interrupted": bool(session and session.cancel_requested),
        "stopping_generation": False,
        "job": "",
        "job_count": unfinished.count(),
        "job_timestamp": "0",
        "job_no": 0,
        "sampling_step": 0,
        "sampling_steps": 0,
    }
    if session is None:
        return {"progress": 0, "eta_relative": 0, "state": state, "current_image": None, "textinfo": None}
    state |= {
        "job": f"deepimage-{session.id}",
        "job_timestamp": (session.started_at or session.queued_at or session.created_at).strftime("%Y%m%d%H%M%S"),
        "sampling_step": session.progress_step,
        "sampling_steps": session.progress_total or session.steps,
    }
    progress, eta = 0.0, 0.0
    if session.status == Status.RUNNING and session.progress_total:
        progress = min(session.progress_step / session.progress_total, 1.0)
        elapsed = (timezone.now() - session.started_at).total_seconds() if session.started_at else 0.0
        eta = elapsed / progress - elapsed if progress else 0.0
        textinfo = f"Step {session.progress_step} of {session.progress_total}"
    elif session.status == Status.RUNNING:
        textinfo = "Loading the model"
    else:
        textinfo = f"Waiting in line (position {session.queue_position or '?'})"
    preview = None if skip_current_image else events.latest_preview(session.id)
    image = preview.split(",", 1)[-1] if preview else None
    return {"progress": progress, "eta_relative": eta, "state": state, "current_image": image, "textinfo": textinfo}


def stop_current_job(key: ApiKey) -> GenerationSession | None:
    """`interrupt` / `skip`: stop the key's running job (its batch is one job: skipping the
    current image ends it). Jobs still waiting are left alone, as in A1111."""
    session = GenerationSession.objects.filter(api_key=key, status=Status.RUNNING).order_by("started_at").first()
    return execution.generation_cancel(session) if session else None


def model_title(model: ModelEntry) -> str:
    model_hash = integrations.latest_model_hash(model)
    return f"{model.name} [{model_hash}]" if model_hash else model.name


def sd_models(key: ApiKey) -> list[dict]:
    """Base models the project may use; never a path on the server."""
    return [
        {
            "title": model_title(model),
            "model_name": model.name,
            "hash": integrations.latest_model_hash(model) or None,
            "sha256": None,
            "filename": model.name,
            "config": None,
        }
        for model in integrations.base_models_for(key)
    ]


def loras(key: ApiKey) -> list[dict]:
    adapters = ModelEntry.objects.available_to(key.project).filter(kind=ModelEntry.Kind.ADAPTER)
    return [
        {
            "name": adapter.name,
            "alias": adapter.name,
            "path": adapter.name,
            "metadata": {"family": adapter.family, "base_model": getattr(adapter.base_model, "name", None)},
        }
        for adapter in adapters.select_related("base_model")
    ]


def samplers() -> list[dict]:
    return [{"name": name, "aliases": [], "options": {}} for name in SAMPLER_NAMES if not name.endswith("Karras")]


def schedulers() -> list[dict]:
    return [
        {"name": name, "label": name.title(), "aliases": None, "default_rho": -1, "need_inner_model": False}
        for name in SCHEDULERS
    ]


def options(key: ApiKey) -> dict:
    model = integrations.default_model_for(key)
    return {
        "sd_model_checkpoint": model_title(model),
        "sd_checkpoint_hash": integrations.latest_model_hash(model) or None,
        "CLIP_stop_at_last_layers": 1,
        "samples_format": "png",
        "sd_vae": "Automatic",
    }


def set_options(key: ApiKey, body: dict) -> None:
    """POST options: `sd_model_checkpoint` becomes this key's model; nothing is global."""
    unknown = set(body) - {"sd_model_checkpoint"}
    if unknown:
        raise A1111Error(422, f"DeepImage keeps no A1111 options except sd_model_checkpoint: {', '.join(unknown)}.")
    if "sd_model_checkpoint" in body:
        try:
            model = integrations.model_by_reference(key, str(body["sd_model_checkpoint"]), "sd_model_checkpoint")
        except ValidationError as error:
            raise A1111Error(404, f"Model not found: {' '.join(error.messages)}") from None
        key.default_model = model
        key.save(update_fields=["default_model"])


def png_info(data: str) -> dict:
    """POST png-info: the `parameters` text of a PNG, its other text chunks, and the text
    parsed into A1111's keys."""
    raw = integrations.decode_base64_image(data, "image", "image.png").read()
    try:
        image = open_input(raw, "image", "The image")
    except InvalidRequest as error:
        raise A1111Error(422, f"image: {error}") from None
    chunks = {name: value for name, value in image.info.items() if isinstance(value, str)}
    info = chunks.pop("parameters", "")
    return {"info": info, "items": chunks, "parameters": parse_infotext(info)}


def parse_infotext(info: str) -> dict:
    """A1111's infotext (prompt, "Negative prompt: …", then "Key: value, …") as a dict."""
    if not info:
        return {}
    lines = info.strip().split("\n")
    settings_line = lines.pop() if len(lines) > 1 or re.search(r"\bSteps: ", lines[0]) else ""
    prompt, negative, in_negative = [], [], False
    for line in lines:
        if line.startswith("Negative prompt:"):
            in_negative, line = True, line[len("Negative prompt:") :].strip()
        (negative if in_negative else prompt).append(line)
    parsed = {"Prompt": "\n".join(prompt), "Negative prompt": "\n".join(negative)}
    for key, value in re.findall(r'\s*([\w ]+):\s*("(?:\\.|[^\\"])+"|[^,]*)(?:,|$)', settings_line):
        parsed[key.strip()] = value.strip().strip('"')
    return parsed
