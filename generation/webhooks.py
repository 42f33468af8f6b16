"""What a generation session tells its project's webhooks when it ends: the event
`generation.succeeded`, `generation.failed` or `generation.cancelled`, with the session and
the absolute URLs of its images. studio/webhooks.py records and delivers it."""

import logging

from django.conf import settings
from django.db import transaction
from django.urls import reverse

from studio import webhooks

from .models import GenerationSession

logger = logging.getLogger(__name__)


def session_finished(session: GenerationSession, status: str) -> None:
    """Record the deliveries of a session that just ended in `status`, in the caller's
    transaction; they are sent once it commits. Costs one query when nobody listens."""
    event = f"generation.{status}"
    endpoints = webhooks.endpoints_for(session.project_id, event)
    if not endpoints:
        return
    try:
        with transaction.atomic():
            webhooks.event_record(endpoints, event, session_payload(session.pk), session_id=session.pk)
    except Exception:  # a webhook must never cost a generation its result
        logger.exception("Could not record the webhooks of session %s", session.pk)


def session_payload(session_id: int) -> dict:
    """The session as webhooks carry it; URLs start with DEEPIMAGE_PUBLIC_URL."""
    session = GenerationSession.objects.select_related("project", "model", "created_by").get(pk=session_id)
    return {
        "id": session.pk,
        "url": public_url("api:generation-detail", session.pk),
        "project": {"id": session.project_id, "name": session.project.name},
        "status": session.status,
        "mode": session.mode,
        "prompt": session.prompt,
        "negative_prompt": session.negative_prompt,
        "model": {"id": session.model_id, "name": session.model.name},
        "seed": session.seed,
        "steps": session.steps,
        "guidance_scale": session.guidance_scale,
        "sampler": session.sampler,
        "width": session.width,
        "height": session.height,
        "num_images": session.num_images,
        "created_by": session.created_by.username if session.created_by else None,
        "created_at": iso(session.created_at),
        "started_at": iso(session.started_at),
        "finished_at": iso(session.finished_at),
        "error": session.error_message,
        "images": [
            {
                "id": image.pk,
                "index": image.index,
                "seed": image.seed,
                "width": image.width,
                "height": image.height,
                "url": public_url("api:image-file", image.pk),
            }
            for image in session.images.order_by("index")
        ],
    }


def public_url(name: str, pk: int) -> str:
    return settings.DEEPIMAGE_PUBLIC_URL + reverse(name, args=[pk])


def iso(moment) -> str | None:
    return moment.isoformat().replace("+00:00", "Z") if moment else None
