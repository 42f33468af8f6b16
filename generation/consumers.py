"""The websocket consumer that streams one generation session's events to project members."""

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from . import events, selectors
from .models import GenerationSession


class GenerationConsumer(AsyncJsonWebsocketConsumer):
    """Streams one generation session's events to a project member.

    On connect the client first gets the session's current state, so a late subscriber
    or a reloaded page never waits for events that already passed.
    """

    async def connect(self):
        self.session_id = self.scope["url_route"]["kwargs"]["session_id"]
        if not await self.user_may_watch():
            await self.close()  # before accept(): the handshake is refused with 403
            return
        # Join first, then read the state: an event in between arrives twice, never zero times.
        self.group = events.group_name(self.session_id)
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

    async def generation_event(self, message):
        await self.send_json(message["event"])

    @database_sync_to_async
    def user_may_watch(self) -> bool:
        return selectors.sessions_visible_to(self.scope["user"]).filter(pk=self.session_id).exists()
