"""The websocket consumer through the real ASGI application (auth, origin, snapshot)."""

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.testing import WebsocketCommunicator
from rest_framework.authtoken.models import Token

from deepimage_site.asgi import application
from generation import events
from generation.models import GenerationSession

pytestmark = pytest.mark.django_db(transaction=True)
ORIGIN = (b"origin", b"http://127.0.0.1:8000")


@pytest.fixture
def session(team, tiny_model):
    return GenerationSession.objects.create(
        project=team.project, created_by=team.bob, model=tiny_model, prompt="p", steps=4,
        guidance_scale=7, seed=5, width=64, height=64, num_images=1, status="running",
        progress_step=2, progress_total=4,
    )  # fmt: skip


def run(scenario):
    """Run one websocket conversation in a single event loop, as a real client would."""
    return async_to_sync(scenario)()


async def connect(path: str, headers=(ORIGIN,)):
    communicator = WebsocketCommunicator(application, path, headers=list(headers))
    connected, _ = await communicator.connect()
    return communicator, connected


def token_for(user) -> str:
    return Token.objects.get_or_create(user=user)[0].key


def test_member_with_token_gets_the_current_state_first(team, session):
    path = f"/ws/generations/{session.id}/?token={token_for(team.vera)}"

    async def scenario():
        communicator, connected = await connect(path)
        assert connected
        state = await communicator.receive_json_from(timeout=3)
        await communicator.disconnect()
        return state

    assert run(scenario) == {
        "type": "state", "id": session.id, "status": "running", "step": 2, "total_steps": 4, "error": "",
        "attempts": session.attempts, "images": [],
    }  # fmt: skip


def test_authorization_header_token_works_too(team, session):
    header = (b"authorization", f"Token {token_for(team.bob)}".encode())

    async def scenario():
        communicator, connected = await connect(f"/ws/generations/{session.id}/", headers=(ORIGIN, header))
        await communicator.disconnect()
        return connected

    assert run(scenario)


def test_live_events_are_forwarded_after_the_state(team, session):
    path = f"/ws/generations/{session.id}/?token={token_for(team.bob)}"

    async def scenario():
        communicator, _ = await connect(path)
        await communicator.receive_json_from(timeout=3)
        await sync_to_async(events.send_progress)(session.id, 3, 4)
        event = await communicator.receive_json_from(timeout=3)
        await communicator.disconnect()
        return event

    assert run(scenario) == {"type": "progress", "step": 3, "total_steps": 4}


def test_a_late_subscriber_to_a_finished_session_gets_state_then_done(team, session):
    GenerationSession.objects.filter(pk=session.pk).update(status="succeeded")
    path = f"/ws/generations/{session.id}/?token={token_for(team.bob)}"

    async def scenario():
        communicator, _ = await connect(path)
        received = [await communicator.receive_json_from(timeout=3) for _ in range(2)]
        await communicator.disconnect()
        return received

    state, done = run(scenario)
    assert state["status"] == "succeeded"
    assert done == {"type": "done", "status": "succeeded"}


def refused(path: str, headers=(ORIGIN,)) -> bool:
    async def scenario():
        communicator, connected = await connect(path, headers)
        if connected:
            await communicator.disconnect()
        else:
            # Let the refused application finish inside this loop: left for asyncio.run's
            # shutdown, its thread-sensitive database call would wait on the blocked main thread.
            await communicator.wait()
        return not connected

    return run(scenario)


@pytest.mark.parametrize("who", ["charlie", "anonymous", "bad-token"])
def test_non_members_are_refused(team, session, who):
    query = {"charlie": f"?token={token_for(team.charlie)}", "anonymous": "", "bad-token": "?token=nope"}[who]
    assert refused(f"/ws/generations/{session.id}/{query}")


def test_a_foreign_origin_is_refused(team, session):
    foreign = ((b"origin", b"http://evil.example"),)

    assert refused(f"/ws/generations/{session.id}/?token={token_for(team.bob)}", headers=foreign)


@pytest.mark.parametrize("how", ["removed", "project deleted"])
def test_a_member_who_leaves_the_project_has_their_socket_closed(team, session, how):
    from studio import services

    path = f"/ws/generations/{session.id}/?token={token_for(team.vera)}"

    async def scenario():
        communicator, connected = await connect(path)
        assert connected
        await communicator.receive_json_from(timeout=3)  # the state
        if how == "removed":
            await sync_to_async(services.member_remove)(team.project, team.vera.id)
        else:
            await sync_to_async(services.project_delete)(team.project)
        closed = await communicator.receive_output(timeout=3)
        await communicator.wait()
        return closed

    assert run(scenario) == {"type": "websocket.close", "code": 4403}


def test_a_member_who_stays_keeps_their_socket_when_another_leaves(team, session):
    from studio import services

    path = f"/ws/generations/{session.id}/?token={token_for(team.vera)}"

    async def scenario():
        communicator, connected = await connect(path)
        await communicator.receive_json_from(timeout=3)
        await sync_to_async(services.member_remove)(team.project, team.bob.id)
        await sync_to_async(events.send_progress)(session.id, 3, 4)
        event = await communicator.receive_json_from(timeout=3)
        await communicator.disconnect()
        return event

    assert run(scenario) == {"type": "progress", "step": 3, "total_steps": 4}
