"""End to end on the real stack: HTTP API → Celery worker process → diffusers → Redis → Daphne → websocket."""

import io

import pytest
from PIL import Image
from rest_framework.authtoken.models import Token
from websockets.exceptions import InvalidStatus

from generation.engine.metadata import read_parameters
from generation.models import GenerationSession
from tests.conftest import LIVE_QUEUE
from tests.livestack import StackClient

pytestmark = [pytest.mark.stack, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def client_for(live_stack):
    def make(user) -> StackClient:
        return StackClient(live_stack, Token.objects.get_or_create(user=user)[0].key)

    return make


def submit(client: StackClient, project_id: int, payload: dict) -> dict:
    status, body = client.request("POST", f"/api/v1/projects/{project_id}/generations/", payload)
    assert status == 201, body
    return body


def test_four_images_from_submit_to_done_through_the_stack(team, tiny_model, client_for):
    bob = client_for(team.bob)
    payload = {"model": tiny_model.id, "prompt": "a lighthouse", "steps": 6, "width": 64, "height": 96, "num_images": 4}
    session = submit(bob, team.project.id, payload | {"seed": 321})

    received = bob.events_until_finished(session["id"])

    assert received[0]["type"] == "state"
    progress = [event for event in received if event["type"] == "progress"]
    assert progress and progress[-1]["step"] == progress[-1]["total_steps"] >= 6
    assert [event["step"] for event in progress] == sorted({event["step"] for event in progress})
    images = [event for event in received if event["type"] == "image"]
    assert sorted(event["seed"] for event in images) == [321, 322, 323, 324]
    assert received[-1] == {"type": "done", "status": "succeeded"}

    status, detail = bob.request("GET", f"/api/v1/generations/{session['id']}/")
    assert status == 200 and detail["status"] == "succeeded" and len(detail["images"]) == 4
    path = detail["images"][0]["url"].split("127.0.0.1", 1)[1].split("/", 1)[1]
    status, png = bob.request("GET", "/" + path)
    assert status == 200 and Image.open(io.BytesIO(png)).size == (64, 96)
    assert read_parameters(png)["prompt"] == "a lighthouse"

    stored = GenerationSession.objects.get(pk=session["id"])
    assert stored.worker.startswith("test-worker@")
    assert [image.file.size > 0 for image in stored.images.all()] == [True] * 4


def test_a_broken_model_fails_readably_on_the_api_and_the_websocket(team, broken_model, client_for):
    bob = client_for(team.bob)
    session = submit(
        bob, team.project.id, {"model": broken_model.id, "prompt": "x", "steps": 2, "width": 64, "height": 64}
    )

    received = bob.events_until_finished(session["id"])

    assert received[-1]["type"] == "failed" and "Could not load the weights" in received[-1]["error"]
    status, detail = bob.request("GET", f"/api/v1/generations/{session['id']}/")
    assert detail["status"] == "failed" and "Missing folder" in detail["error_message"]
    assert "no-such-model" not in detail["error_message"]  # no path on the worker reaches the user


def test_a_late_subscriber_still_gets_the_images_and_done(team, tiny_model, client_for):
    bob = client_for(team.bob)
    session = submit(bob, team.project.id, {"model": tiny_model.id, "prompt": "x", "num_images": 2})
    bob.events_until_finished(session["id"])

    replay = bob.events_until_finished(session["id"])

    assert [event["type"] for event in replay] == ["state", "done"]
    assert len(replay[0]["images"]) == 2


def test_the_websocket_refuses_an_outsider(team, tiny_model, client_for):
    bob = client_for(team.bob)
    session = submit(bob, team.project.id, {"model": tiny_model.id, "prompt": "x", "num_images": 1})
    bob.events_until_finished(session["id"])

    with pytest.raises(InvalidStatus) as refusal:
        client_for(team.charlie).events_until_finished(session["id"])
    assert refusal.value.response.status_code == 403


def test_bad_input_over_http_is_a_400_and_nothing_is_queued(team, tiny_model, client_for):
    status, body = client_for(team.bob).request(
        "POST", f"/api/v1/projects/{team.project.id}/generations/", {"model": tiny_model.id, "prompt": "x", "width": 65}
    )

    assert status == 400 and "width" in body
    assert not GenerationSession.objects.exists()


def test_the_catalogs_test_load_runs_on_the_real_worker(tiny_model, broken_model, live_stack, settings):
    settings.CELERY_TASK_DEFAULT_QUEUE = LIVE_QUEUE  # as the stack's own processes send it
    import time

    from django.db import transaction

    from generation import catalog
    from generation.models import ModelEntry

    with transaction.atomic():
        catalog.catalog_request_test(ModelEntry.objects.filter(pk__in=[tiny_model.pk, broken_model.pk]))

    deadline = time.monotonic() + 60
    while ModelEntry.objects.filter(test_status="pending").exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    tiny_model.refresh_from_db()
    broken_model.refresh_from_db()
    assert tiny_model.test_status == "passed" and "test-worker@" in tiny_model.test_message
    assert broken_model.test_status == "failed" and "Could not load model" in broken_model.test_message
