"""Waiting for a session to end without holding a thread, for the compatible APIs whose calls
answer only when the images exist (AUTOMATIC1111's txt2img, OpenAI's generations).

The wait is a coroutine on the session's channel group; the database stays the record: it is
read when the wait starts, when an event says the session ended, and every few seconds in
between, so a lost event costs seconds, never the answer. A running session always ends (the
queue's reconciler fails what runs too long or loses its worker); a queued one waits as long as
the queue does — with no worker online, until one comes — as a call to AUTOMATIC1111 waits. A
caller who hangs up ends the wait (Django cancels the view), and a session deleted meanwhile
(with its project) ends it with Http404.
"""

import asyncio

from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.http import Http404

from . import events
from .models import GenerationSession

RECHECK_SECONDS = 5.0
SETTLE_SECONDS = (0.02, 0.05, 0.1, 0.2, 0.5)  # an end event may arrive just before its commit


@database_sync_to_async
def finished_session(session_id: int) -> GenerationSession | None:
    try:
        session = GenerationSession.objects.select_related("model").get(pk=session_id)
    except GenerationSession.DoesNotExist:
        raise Http404("The generation was deleted before it ended.") from None
    return session if session.is_finished else None


async def session_end(session_id: int, on_event=None) -> GenerationSession:
    """The session once it has succeeded, failed or been cancelled. `on_event(payload)`, if
    given, sees each event on the way (progress, previews, images)."""
    layer = get_channel_layer()
    channel = await layer.new_channel()
    group = events.group_name(session_id)
    await layer.group_add(group, channel)  # before the first read: nothing can slip between
    try:
        while (session := await finished_session(session_id)) is None:
            try:
                message = await asyncio.wait_for(layer.receive(channel), timeout=RECHECK_SECONDS)
            except TimeoutError:
                continue
            event = message.get("event") or {}
            if on_event is not None:
                on_event(event)
            if events.finished_payload(event.get("status", "")) is not None:
                for delay in SETTLE_SECONDS:
                    if (session := await finished_session(session_id)) is not None:
                        return session
                    await asyncio.sleep(delay)
        return session
    finally:
        await layer.group_discard(group, channel)
