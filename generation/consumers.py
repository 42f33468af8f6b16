"""The websocket consumer that streams one generation session's events to project members,
and closes when the member leaves the project (or it is deleted)."""

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from . import events, selectors
from .models import GenerationSession


class GenerationConsumer(AsyncJsonWebsocketConsumer):
    """Streams one generation session's events to a project member.

    On connect the client first gets the session's current state, so a late subscriber
    or a reloaded page never waits for events that already passed.
    """

    REVOKED = 4403  # the close code when the member leaves the project

    async def connect(self):
        self.session_id = self.scope["url_route"]["kwargs"]["session_id"]
        project_id = await self.project_watched()
        if project_id is None:
            await self.close()  # before accept(): the handshake is refused with 403
            return
        # Join first, then read the state: an event in between arrives twice, never zero times.
        self.group = events.group_name(self.session_id)
        self.access_group = events.access_group_name(project_id, self.scope["user"].pk)
        await self.channel_layer.group_add(self.access_group, self.channel_name)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        try:
            state = await database_sync_to_async(selectors.generation_state)(self.session_id)
        except GenerationSession.DoesNotExist:  # deleted between the check and now
            await self.close()
            return
        await self.send_json(state)
        finished = events.finished_payload(state["status"], state["error"])
        if finished:
            await self.send_json(finished)

    async def disconnect(self, code):
        if hasattr(self, "group"):
            await self.channel_layer.group_discard(self.group, self.channel_name)
            await self.channel_layer.group_discard(self.access_group, self.channel_name)

    async def generation_event(self, message):
        await self.send_json(message["event"])

    async def access_revoked(self, message):
        await self.close(code=self.REVOKED)

    @database_sync_to_async
    def project_watched(self) -> int | None:
        """The session's project if the user may watch it, else None."""
        visible = selectors.sessions_visible_to(self.scope["user"]).filter(pk=self.session_id)
        return visible.values_list("project_id", flat=True).first()
