"""Reads that decide what a user may see."""

from django.db.models import QuerySet
from django.http import Http404

from . import events
from .engine.families import PROFILES
from .engine.samplers import SAMPLER_NAMES
from .engine.sizing import ASPECT_RATIOS, CUSTOM, FOLLOW_IMAGE
from .models import RESIZE_MODE_CHOICES, GeneratedImage, GenerationSession, ModelEntry


def enabled_models() -> QuerySet[ModelEntry]:
    return ModelEntry.objects.filter(enabled=True)


def generation_models() -> QuerySet[ModelEntry]:
    """What the model picker offers: enabled base models."""
    return enabled_models().filter(kind=ModelEntry.Kind.BASE)


def sessions_visible_to(user) -> QuerySet[GenerationSession]:
    if not user.is_authenticated:
        return GenerationSession.objects.none()
    return GenerationSession.objects.filter(project__memberships__user=user)


def session_for_member(user, session_id) -> GenerationSession:
    try:
        return sessions_visible_to(user).select_related("model").get(pk=session_id)
    except (GenerationSession.DoesNotExist, ValueError, TypeError):
        raise Http404("No such generation.") from None


def image_for_member(user, image_id) -> GeneratedImage:
    if not user.is_authenticated:
        raise Http404("No such image.")
    try:
        return GeneratedImage.objects.get(pk=image_id, session__project__memberships__user=user)
    except (GeneratedImage.DoesNotExist, ValueError, TypeError):
        raise Http404("No such image.") from None


def project_history(project) -> QuerySet[GenerationSession]:
    """The project's sessions, newest first, with what a history list shows."""
    return (
        GenerationSession.objects.filter(project=project)
        .select_related("model", "created_by")
        .prefetch_related("images")
        .order_by("-created_at", "-id")
    )


def generation_state(session_id: int) -> dict:
    """The state a websocket client gets on connect, before any live event."""
    session = GenerationSession.objects.get(pk=session_id)
    return {
        "type": "state",
        "id": session.pk,
        "status": session.status,
        "step": session.progress_step,
        "total_steps": session.progress_total,
        "error": session.error_message,
        "images": [events.image_payload(image) for image in session.images.all()],
    }


def generation_options() -> dict:
    """Every choice a generation request accepts, with labels and per-family sizes."""
    return {
        "modes": [{"value": value, "label": label} for value, label in GenerationSession.Mode.choices],
        "samplers": list(SAMPLER_NAMES),
        "aspects": [*ASPECT_RATIOS, CUSTOM, FOLLOW_IMAGE],
        "resize_modes": [{"value": value, "label": label} for value, label in RESIZE_MODE_CHOICES],
        "native_sides": {family: family_profile.native_side for family, family_profile in PROFILES.items()},
    }
