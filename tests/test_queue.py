"""The database as the queue, in-process on the real tiny pipeline: claiming, fair order,
affinity, leases and retries, time limits, positions, the queue API and the admin page."""

import threading
from datetime import timedelta

import pytest
from django.db import close_old_connections, connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from generation import execution, queue
from generation.models import GeneratedImage, GenerationAttempt, GenerationSession, ModelEntry, Worker
from tests.listening import GroupListener

pytestmark = [pytest.mark.django_db, pytest.mark.filterwarnings("ignore::FutureWarning")]


@pytest.fixture
def quick(submit):
    """quick(user, **fields) -> a queued one-step 64² job of `user`'s."""
    return lambda user, **fields: submit(user=user, **({"steps": 1, "width": 64, "height": 64} | fields))


def start_order() -> list[str]:
    return [attempt.session.created_by.username for attempt in GenerationAttempt.objects.order_by("started_at", "id")]


def lapse(session) -> None:
    GenerationSession.objects.filter(pk=session.pk).update(lease_expires_at=timezone.now() - timedelta(seconds=1))


@pytest.mark.django_db(transaction=True)  # the store thread has its own connection
def test_three_people_with_ten_one_and_one_jobs_start_round_robin(team, quick):
    for _ in range(10):
        quick(team.alice)
    quick(team.bob), quick(team.vera)

    assert execution.worker_serve("gpu0@test") == 12

    assert start_order() == ["alice", "bob", "vera"] + ["alice"] * 9
    assert set(GenerationSession.objects.values_list("status", flat=True)) == {"succeeded"}


@pytest.mark.django_db(transaction=True)  # the store thread has its own connection
def test_one_person_alone_gets_every_job_run(team, quick):
    sessions = [quick(team.bob) for _ in range(3)]

    execution.worker_serve("gpu0@test")

    assert [attempt.session_id for attempt in GenerationAttempt.objects.order_by("started_at", "id")] == [
        session.id for session in sessions
    ]


def test_a_lapsed_lease_puts_the_job_back_and_the_last_attempt_fails_saying_so(team, quick):
    session = quick(team.bob)
    queue.queue_claim_next("gpu0@lost")
    lapse(session)

    assert queue.queue_reconcile()["released"] == 1
    session.refresh_from_db()
    assert (session.status, session.attempts, session.worker, session.started_at) == ("queued", 1, "", None)
    assert session.attempt_log.get().outcome == "lost"

    queue.queue_claim_next("gpu1@lost-too")
    lapse(session)
    queue.queue_reconcile()

    session.refresh_from_db()
    assert session.status == "failed" and "attempt 2 of 2" in session.error_message
    assert [attempt.outcome for attempt in session.attempt_log.all()] == ["lost", "lost"]


def test_a_retried_job_succeeds_and_the_lost_attempt_stores_nothing(team, quick):
    session = quick(team.bob, num_images=2)
    first = queue.queue_claim_next("gpu0@a")
    queue.queue_release(session.id, "gpu0 went away")
    second = queue.queue_claim_next("gpu1@b")

    execution.run_claimed(second)
    execution.run_claimed(first)  # the first worker wakes up late: its attempt holds nothing

    session.refresh_from_db()
    assert session.status == "succeeded" and session.worker == "gpu1@b" and session.attempts == 2
    assert GeneratedImage.objects.filter(session=session).count() == 2
    assert [(attempt.worker, attempt.outcome) for attempt in session.attempt_log.all()] == [
        ("gpu0@a", "lost"),
        ("gpu1@b", "succeeded"),
    ]


def test_the_history_shows_each_attempt_of_a_retried_job(team, quick, client):
    session = quick(team.bob)
    queue.queue_claim_next("gpu0@a")
    queue.queue_release(session.id, "gpu0 went away")
    execution.run_claimed(queue.queue_claim_next("gpu1@b"))
    client.force_login(team.vera)

    page = client.get(f"/projects/{team.project.id}/").content.decode()

    assert "2 attempts: 1. gpu0@a, worker lost · 2. gpu1@b, succeeded" in page


def test_a_restarted_worker_gives_back_its_jobs_at_once(team, quick):
    mine, others = quick(team.bob), quick(team.alice)
    queue.queue_claim(mine.id, "gpu0@host")
    queue.queue_claim(others.id, "gpu1@host")

    assert queue.queue_release_worker("gpu0@host") == 1

    mine.refresh_from_db(), others.refresh_from_db()
    assert (mine.status, others.status) == ("queued", "running")


@pytest.mark.django_db(transaction=True)  # the store thread has its own connection
def test_a_job_past_its_time_limit_fails_with_a_clear_message(team, quick, settings):
    settings.DEEPIMAGE_JOB_TIME_LIMIT = 0
    session = quick(team.bob, steps=3)

    execution.worker_serve("gpu0@test")

    session.refresh_from_db()
    assert session.status == "failed" and "time limit" in session.error_message
    assert "DEEPIMAGE_JOB_TIME_LIMIT" in session.error_message


def test_progress_reaches_the_channel_every_step_but_the_row_about_once_a_second(team, quick, settings):
    settings.DEEPIMAGE_PROGRESS_WRITE_SECONDS = 60
    session = quick(team.bob, steps=12)
    listener = GroupListener(session.id)

    with CaptureQueriesContext(connection) as queries:
        execution.generation_run(session.id, worker="gpu0@test")

    progress = [event for event in listener.received() if event["type"] == "progress"]
    assert len(progress) >= 12
    writes = [
        query["sql"] for query in queries if query["sql"].startswith("UPDATE") and "progress_step" in query["sql"]
    ]
    assert "'running'" in writes[0].split("WHERE")[0]  # the claim
    assert len(writes[1:]) == 2  # then the first step (the lease renewal rides on it) and the end
    session.refresh_from_db()
    assert session.progress_step == session.progress_total == progress[-1]["step"]


@pytest.mark.django_db(transaction=True)
def test_two_hundred_claims_from_eight_threads_take_each_job_exactly_once(team, tiny_model):
    GenerationSession.objects.bulk_create(
        GenerationSession(
            project=team.project, created_by=(team.alice, team.bob, team.vera)[number % 3], model=tiny_model,
            prompt=f"job {number}", steps=1, guidance_scale=7, seed=number, width=64, height=64, num_images=1,
            queued_at=timezone.now(),
        )
        for number in range(200)
    )  # fmt: skip
    claimed: list[int] = []
    errors = []

    def claim_until_empty(worker: str):
        try:
            while (session := queue.queue_claim_next(worker)) is not None:
                claimed.append(session.id)
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)
        finally:
            close_old_connections()

    threads = [threading.Thread(target=claim_until_empty, args=(f"gpu{number}@test",)) for number in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert len(claimed) == len(set(claimed)) == 200
    assert GenerationAttempt.objects.count() == 200
    assert not GenerationSession.objects.filter(status="queued").exists()


def test_affinity_saves_loads_and_passes_nobody_over_more_than_the_window(team, tiny_model, settings):
    other = ModelEntry.objects.create(name="Second", source="/elsewhere/second", family="sd15")
    models = {tiny_model.pk: tiny_model.spec, other.pk: other.spec}
    people = (team.alice, team.bob, team.vera)

    def simulate(policy: str) -> tuple[int, int]:
        """Two workers take turns on 24 jobs of three people, the models in pairs (A A B B A A …),
        which first in first out hands to the workers crosswise; count loads and the worst pass-over."""
        settings.DEEPIMAGE_SCHEDULER = policy
        GenerationSession.objects.all().delete()
        GenerationAttempt.objects.all().delete()
        for number in range(24):
            GenerationSession.objects.create(
                project=team.project, created_by=people[number % 3], model=(tiny_model, other)[number // 2 % 2],
                prompt="x", steps=1, guidance_scale=7, seed=number, width=64, height=64, num_images=1,
                queued_at=timezone.now(),
            )  # fmt: skip
        held = {"gpu0": None, "gpu1": None}
        loads = worst = 0
        while GenerationSession.objects.filter(status="queued").exists():
            for worker, model in held.items():
                loaded = {(spec.source, spec.family, spec.config) for spec in [models.get(model)] if spec}
                session = queue.queue_claim_next(worker, loaded)
                if session is None:
                    break
                worst = max(worst, *GenerationSession.objects.values_list("passed_over", flat=True))
                if session.model_id != model:
                    loads, held[worker] = loads + 1, session.model_id
                queue.end_attempt(session, "succeeded")
        return loads, worst

    fifo_loads, _ = simulate("fifo")
    fair_loads, worst_pass_over = simulate("fair")

    assert fair_loads < fifo_loads
    assert worst_pass_over <= settings.DEEPIMAGE_AFFINITY_WINDOW


def test_waiting_jobs_hear_their_new_position_when_the_line_moves(team, quick):
    _first, second, third = quick(team.bob), quick(team.bob), quick(team.alice)
    queue.queue_announce()
    listener = GroupListener(third.id)

    queue.queue_claim_next("gpu0@test")
    queue.queue_announce()

    assert listener.received() == [{"type": "queued", "position": 1, "eta_seconds": None}]
    assert queue.queue_positions() == {third.id: 1, second.id: 2}  # alice's turn comes before bob's second


def test_the_estimate_comes_from_recent_runs_of_that_model_at_that_size(team, quick):
    done = quick(team.bob, steps=2)
    now = timezone.now()
    GenerationSession.objects.filter(pk=done.pk).update(
        status="succeeded", started_at=now - timedelta(seconds=10), finished_at=now
    )
    waiting = [quick(team.bob, steps=2), quick(team.bob, steps=2)]

    standing = queue.queue_standing()

    assert standing[waiting[0].id] == (1, 10.0) and standing[waiting[1].id] == (2, 20.0)


def test_the_api_gives_queue_times_attempts_and_position(team, quick, api_as):
    quick(team.alice)
    session = quick(team.bob)

    detail = api_as(team.bob).get(f"/api/v1/generations/{session.id}/").json()

    assert detail["position"] == 2 and detail["attempts"] == 0 and detail["attempt_log"] == []
    assert detail["queued_at"] and detail["started_at"] is None and detail["finished_at"] is None


def test_the_queue_api_shows_your_jobs_and_only_counts_of_the_others(team, quick, api_as):
    quick(team.alice), quick(team.alice)
    mine = quick(team.bob)
    queue.queue_claim_next("gpu0@test")  # alice's first

    bobs_view = api_as(team.bob).get("/api/v1/queue/").json()
    outsider = api_as(team.charlie).get("/api/v1/queue/").json()

    assert [job["id"] for job in bobs_view["queued"]] == [mine.id] and bobs_view["running"] == []
    assert bobs_view["queued"][0]["position"] == 1
    assert bobs_view["others"] == {"running": 1, "queued": 1}
    assert outsider["queued"] == outsider["running"] == [] and outsider["others"] == {"running": 1, "queued": 2}
    assert "prompt" not in str(outsider)


def test_the_queue_api_needs_a_sign_in(client):
    assert client.get("/api/v1/queue/").status_code in (401, 403)


def test_staff_see_the_queue_page_with_people_jobs_and_workers(team, quick, client, make_user):
    quick(team.alice), quick(team.bob)
    queue.queue_claim_next("gpu0@box")
    now = timezone.now()
    Worker.objects.create(name="gpu0@box", host="box", device="cuda:0", started_at=now, last_seen=now)
    Worker.objects.create(name="gpu1@gone", host="gone", started_at=now, last_seen=now - timedelta(minutes=5))
    client.force_login(make_user("root", is_staff=True, is_superuser=True))

    page = client.get("/admin/queue/").content.decode()

    assert "Running (1)" in page and "Queued (1)" in page and "bob — 1 waiting" in page
    assert "gpu0@box" in page and "cuda:0" in page and "Lost" in page


def test_the_queue_page_is_for_staff_only(team, client):
    client.force_login(team.alice)

    assert client.get("/admin/queue/").status_code == 302


def test_a_worker_preloads_the_models_it_is_told_to_and_reports_them(tiny_model, caplog):
    from generation import workers

    workers.worker_preload([tiny_model.name, "No such model"])

    assert tiny_model.pk in workers.loaded_model_ids()
    assert "no base model called 'No such model'" in caplog.text


@pytest.mark.django_db(transaction=True)
def test_a_job_held_for_a_moment_by_another_transaction_is_still_claimed(team, quick):
    """SKIP LOCKED skips a row someone holds (a position update, another claim); the worker
    tries again instead of going idle with the job waiting."""
    session = quick(team.bob)
    holding, released = threading.Event(), threading.Event()

    def hold_the_row():
        from django.db import transaction

        with transaction.atomic():
            list(GenerationSession.objects.select_for_update().filter(pk=session.pk))
            holding.set()
            released.wait(0.1)
        close_old_connections()

    holder = threading.Thread(target=hold_the_row)
    holder.start()
    holding.wait(5)
    claimed = queue.queue_claim_next("gpu0@test")
    released.set()
    holder.join()

    assert claimed is not None and claimed.pk == session.pk
