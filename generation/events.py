"""The one place that names channel groups and sends generation events (and keeps the
newest preview of a running session for clients that poll).

Events are a courtesy to watching browsers; the database is the record. A client that
connects late gets the current state from the database first (see selectors), so a lost
event is never lost information, and a failing channel layer never fails a generation.
"""

import base64
import io
import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.core.cache import cache
from django.urls import reverse

logger = logging.getLogger(__name__)
PREVIEW_SECONDS = 600


def group_name(session_id: int) -> str:
    return f"generation.{session_id}"


def access_group_name(project_id: int, user_id: int) -> str:
    """The sockets one person has open on one project's sessions (closed when they leave it)."""
    return f"access.{project_id}.{user_id}"


def send_access_revoked(project_id: int, user_id: int) -> None:
    """Close the person's sockets on the project: they are no member any more."""
    group_send(access_group_name(project_id, user_id), {"type": "access.revoked"})


def image_payload(image) -> dict:
    return {
        "type": "image",
        "id": image.id,
        "index": image.index,
        "seed": image.seed,
        "width": image.width,
        "height": image.height,
        "saved": image.saved,
        "url": reverse("api:image-file", args=[image.id]),
    }


def send(session_id: int, payload: dict) -> None:
    group_send(group_name(session_id), {"type": "generation.event", "event": payload})


def group_send(group: str, message: dict) -> None:
    """Send to a channel group; a failing channel layer is logged, never raised (see above)."""
    try:
        async_to_sync(get_channel_layer().group_send)(group, message)
    except Exception:  # noqa: BLE001 - see the module docstring
        logger.warning("Could not send %s to %s", message.get("event", message).get("type"), group, exc_info=True)


def send_progress(session_id: int, step: int, total_steps: int, previews=()) -> None:
    payload = {"type": "progress", "step": step, "total_steps": total_steps}
    if previews:
        payload["previews"] = [preview_data_url(preview) for preview in previews]
        keep_latest_preview(session_id, payload["previews"][0])
    send(session_id, payload)


def preview_key(session_id: int) -> str:
    return f"deepimage:preview:{session_id}"


def keep_latest_preview(session_id: int, data_url: str) -> None:
    """Keep the newest preview for clients that poll instead of listening (A1111's
    `progress`); like the events, losing it never fails a generation."""
    try:
        cache.set(preview_key(session_id), data_url, timeout=PREVIEW_SECONDS)
    except Exception:  # noqa: BLE001 - see the module docstring
        logger.warning("Could not keep the preview of session %s", session_id, exc_info=True)


def latest_preview(session_id: int) -> str | None:
    """The newest preview's data URL while the session runs, or None."""
    try:
        return cache.get(preview_key(session_id))
    except Exception:  # noqa: BLE001 - see the module docstring
        return None


def preview_data_url(image) -> str:
    """A small JPEG inline in the event: a few KB, shown as it arrives, never stored."""
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=70)
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def queued_payload(position: int, eta_seconds: float | None, attempts: int | None = None) -> dict:
    """Where a waiting job stands: 1 is next; the estimate is until it is likely done."""
    payload = {"type": "queued", "position": position, "eta_seconds": eta_seconds}
    if attempts:
        payload["attempts"] = attempts
    return payload


def send_queued(session_id: int, position: int, eta_seconds: float | None, attempts: int = 0) -> None:
    send(session_id, queued_payload(position, eta_seconds, attempts))


def send_image(session_id: int, image) -> None:
    send(session_id, image_payload(image))


def finished_payload(status: str, error: str = "") -> dict | None:
    """The last event of a session in `status`: `done`, `failed`, or None while it still runs."""
    if status == "succeeded":
        return {"type": "done", "status": status}
    if status in ("failed", "cancelled"):
        return {"type": "failed", "status": status, "error": error}
    return None


def send_done(session_id: int) -> None:
    send(session_id, finished_payload("succeeded"))


def send_failed(session_id: int, error: str, status: str = "failed") -> None:
    send(session_id, finished_payload(status, error))
