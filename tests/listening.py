"""Listening to a session's channel group from a test, as a websocket consumer would."""

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from generation import events


class GroupListener:
    """Joins a session's channel group, like a websocket consumer does."""

    def __init__(self, session_id: int):
        self.layer = get_channel_layer()
        self.channel = async_to_sync(self.layer.new_channel)()
        async_to_sync(self.layer.group_add)(events.group_name(session_id), self.channel)

    def received(self) -> list[dict]:
        import asyncio

        async def drain():
            messages = []
            while True:
                try:
                    messages.append(await asyncio.wait_for(self.layer.receive(self.channel), 0.5))
                except TimeoutError:
                    return messages

        return [message["event"] for message in async_to_sync(drain)()]
