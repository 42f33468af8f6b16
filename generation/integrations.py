"""What the compatible APIs (AUTOMATIC1111's, OpenAI's) share below their protocols: the
model a key means, inputs sent as base64, submitting as the key, and a session's images as
PNG bytes. Each protocol's module translates its fields to these and back."""

import base64
import binascii

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db.models import QuerySet

from studio.models import ApiKey

from . import submission
from .models import GeneratedImage, GenerationSession, ModelEntry
from .selectors import generation_models


def base_models_for(key: ApiKey) -> QuerySet[ModelEntry]:
    """The base models the key's project may use, in the picker's order."""
    return generation_models(key.project)


def default_model_for(key: ApiKey) -> ModelEntry:
    """The key's chosen model if the project may still use it, else the project's first
    base model (what the workspace preselects); a ValidationError when there is none."""
    models = base_models_for(key)
    chosen = models.filter(pk=key.default_model_id).first() if key.default_model_id else None
    model = chosen or models.first()
    if model is None:
        raise ValidationError({"model": "This project may use no base model: ask an admin to enable one."})
    return model


def latest_model_hash(model: ModelEntry) -> str:
    """The model's short hash as last computed by a worker ('' before its first job)."""
    return (
        GenerationSession.objects.filter(model=model)
        .exclude(model_hash="")
        .order_by("-id")
        .values_list("model_hash", flat=True)
        .first()
        or ""
    )


def model_by_reference(key: ApiKey, reference: str, field: str) -> ModelEntry:
    """A base model the project may use, named as integrations name it: the entry's name, an
    A1111 title ("name [hash]"), or its hash. Unknown names are errors, never ignored."""
    reference = (reference or "").strip()
    models = list(base_models_for(key))
    name = reference.rsplit(" [", 1)[0] if reference.endswith("]") else reference
    for model in models:
        if model.name == name or model.name == reference:
            return model
    for model in models:
        model_hash = latest_model_hash(model)
        if model_hash and reference.lower() in (model_hash.lower(), f"[{model_hash.lower()}]"):
            return model
    known = ", ".join(model.name for model in models) or "none"
    raise ValidationError({field: f"Unknown model “{reference}”. This project's models: {known}."})


def adapter_by_name(key: ApiKey, name: str, field: str) -> ModelEntry:
    """An adapter the project may use, by its catalog name."""
    adapter = (
        ModelEntry.objects.available_to(key.project).filter(kind=ModelEntry.Kind.ADAPTER, name__iexact=name).first()
    )
    if adapter is None:
        raise ValidationError({field: f"Unknown adapter “{name}”: use a name from the project's adapters."})
    return adapter


def decode_base64_image(data: str, field: str, name: str) -> ContentFile:
    """An upload from base64 or a `data:image/…;base64,` URL (what A1111 clients send)."""
    if not isinstance(data, str) or not data:
        raise ValidationError({field: "Send the image as base64 or a data URL."})
    payload = data.split(",", 1)[1] if data.startswith("data:") else data
    try:
        raw = base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        raise ValidationError({field: "The image is not valid base64."}) from None
    return ContentFile(raw, name=name)


def submit_as_key(key: ApiKey, user, **fields) -> GenerationSession:
    """An ordinary generation session of the key's project: the history, lineage, quotas
    and the queue treat it like any other."""
    return submission.generation_submit(user=user, project=key.project, api_key=key, **fields)


def session_pngs(session: GenerationSession) -> list[tuple[GeneratedImage, bytes]]:
    """The session's images in batch order, with their PNG files (metadata included)."""
    pictures = []
    for image in session.images.order_by("index"):
        with image.file.open("rb") as file:
            pictures.append((image, file.read()))
    return pictures
