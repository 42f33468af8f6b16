"""Cancel: a queued job stops at once, a running one at its next step; only writers may."""

import pytest

from generation import services
from generation.models import GenerationSession

pytestmark = [pytest.mark.django_db, pytest.mark.filterwarnings("ignore::FutureWarning")]


@pytest.fixture(autouse=True)
def own_media_folder(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def submit(team, model) -> GenerationSession:
    return services.generation_submit(
        user=team.bob, project=team.project, model_id=model.id, prompt="a harbour", steps=10, num_images=2
    )


def test_a_queued_job_is_cancelled_at_once_and_never_runs(team, tiny_model):
    session = services.generation_cancel(submit(team, tiny_model))
    services.generation_run(session.id, worker="test")

    session.refresh_from_db()
    assert session.status == "cancelled" and session.finished_at and session.progress_step == 0
    assert not session.images.exists()


def test_a_running_job_stops_at_the_next_step_and_stores_nothing(team, tiny_model):
    session = services.generation_claim(submit(team, tiny_model).id, "test")
    services.generation_cancel(session)
    services.generation_execute(session)

    session.refresh_from_db()
    assert (session.status, session.error_message) == ("cancelled", "Cancelled by the user.")
    assert session.progress_step == 1 and session.progress_total >= 10  # PNDM adds one step
    assert not session.images.exists()


def test_a_finished_job_is_left_as_it_is(team, tiny_model):
    session = submit(team, tiny_model)
    services.generation_run(session.id, worker="test")
    services.generation_cancel(session)

    session.refresh_from_db()
    assert session.status == "succeeded" and session.images.count() == 2


@pytest.mark.parametrize(("who", "expected"), [("alice", 200), ("bob", 200), ("vera", 403), ("charlie", 404)])
def test_who_may_cancel(team, tiny_model, api_as, who, expected):
    session = submit(team, tiny_model)
    response = api_as(getattr(team, who)).post(f"/api/v1/generations/{session.id}/cancel/")

    assert response.status_code == expected
    session.refresh_from_db()
    assert session.status == ("cancelled" if expected == 200 else "queued")
