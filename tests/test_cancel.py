"""Cancel: a queued job stops at once, a running one at its next step; only writers may."""

import pytest

from generation import execution

pytestmark = [pytest.mark.django_db, pytest.mark.filterwarnings("ignore::FutureWarning")]


@pytest.fixture
def harbour(submit):
    """A queued job of 10 steps and two images."""
    return lambda: submit(prompt="a harbour", steps=10, num_images=2)


def test_a_queued_job_is_cancelled_at_once_and_never_runs(harbour):
    session = execution.generation_cancel(harbour())
    execution.generation_run(session.id, worker="test")

    session.refresh_from_db()
    assert session.status == "cancelled" and session.finished_at and session.progress_step == 0
    assert not session.images.exists()


def test_a_running_job_stops_at_the_next_step_and_stores_nothing(harbour):
    session = execution.generation_claim(harbour().id, "test")
    execution.generation_cancel(session)
    execution.run_claimed(session)

    session.refresh_from_db()
    assert (session.status, session.error_message) == ("cancelled", "Cancelled by the user.")
    assert session.progress_step == 1 and session.progress_total >= 10  # PNDM adds one step
    assert not session.images.exists()


def test_a_finished_job_is_left_as_it_is(harbour):
    session = harbour()
    execution.generation_run(session.id, worker="test")
    execution.generation_cancel(session)

    session.refresh_from_db()
    assert session.status == "succeeded" and session.images.count() == 2


@pytest.mark.parametrize(("who", "expected"), [("alice", 200), ("bob", 200), ("vera", 403), ("charlie", 404)])
def test_who_may_cancel(team, harbour, api_as, who, expected):
    session = harbour()
    response = api_as(getattr(team, who)).post(f"/api/v1/generations/{session.id}/cancel/")

    assert response.status_code == expected
    session.refresh_from_db()
    assert session.status == ("cancelled" if expected == 200 else "queued")
