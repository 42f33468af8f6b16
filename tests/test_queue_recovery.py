"""No job lost, none run twice, on real processes: workers killed with SIGKILL or frozen,
a broker restarted empty, and `make run`'s supervisor bringing a killed worker back.

Each test starts a stack of its own (its own Redis, Celery workers, control worker and Daphne
on the test database, with a 3-second lease) so that it may kill any part of it; every
process is stopped by its PID at the end. How long each lost job took to come back is
written to test-output/recovery-times.txt.
"""

import os
import signal
import subprocess
import sys
import time
import urllib.request

import pytest
from rest_framework.authtoken.models import Token

from deepimage_site import stack
from generation.models import GeneratedImage, GenerationSession, Worker
from tests.conftest import test_database_url as database_url
from tests.livestack import StackClient

pytestmark = [pytest.mark.stack, pytest.mark.django_db(transaction=True)]

LEASE_SECONDS = 3


class OwnStack:
    """Redis, workers, the control worker and Daphne of one test, each startable and killable."""

    def __init__(self, folder, logs):
        self.folder, self.logs = folder, logs
        self.socket = folder / "redis.sock"
        self.port = stack.free_port()
        self.env = dict(
            os.environ,
            DATABASE_URL=database_url(),
            REDIS_URL=f"unix://{self.socket}",
            DEEPIMAGE_QUEUE=f"recovery-{self.port}",
            DEEPIMAGE_JOB_LEASE_SECONDS=str(LEASE_SECONDS),
            DEEPIMAGE_RECONCILE_SECONDS="1",
            DEEPIMAGE_PROGRESS_WRITE_SECONDS="0.2",
            DEBUG="false",
        )
        self.processes: dict[str, subprocess.Popen] = {}

    def log(self, name: str):
        return open(self.logs / f"recovery-{name.split('@')[0]}.log", "a")  # noqa: SIM115

    def start_redis(self) -> None:
        self.processes["redis"] = stack.start_embedded_redis(self.socket)

    def start_worker(self, name: str) -> subprocess.Popen:
        log = self.log(name)
        self.processes[name] = stack.start_worker(self.env, name=name, stdout=log, stderr=log)
        stack.wait_until(lambda: Worker.objects.filter(name=name, pid=self.processes[name].pid).exists(), 60, name)
        return self.processes[name]

    def start_control(self) -> None:
        log = self.log("control")
        self.processes["control"] = stack.start_control(self.env, self.folder / "beat", stdout=log, stderr=log)

    def start_web(self) -> None:
        log = self.log("daphne")
        self.processes["web"] = stack.start_daphne(self.env, "127.0.0.1", self.port, stdout=log, stderr=log)

    def signal(self, name: str, number: int) -> None:
        os.kill(self.processes[name].pid, number)
        if number == signal.SIGKILL:
            self.processes.pop(name).wait()

    def close(self) -> None:
        for process in reversed(list(self.processes.values())):
            if process.poll() is None:
                os.kill(process.pid, signal.SIGCONT)  # a frozen process cannot take its SIGTERM
            stack.stop(process)


@pytest.fixture
def own_stack(transactional_db, tmp_path_factory, output_dir, settings):
    settings.DEEPIMAGE_JOB_LEASE_SECONDS = LEASE_SECONDS  # as this process judges workers lost
    started = OwnStack(tmp_path_factory.mktemp("own"), output_dir)
    try:
        yield started
    finally:
        started.close()


@pytest.fixture
def bob_client(team, own_stack):
    return StackClient(f"127.0.0.1:{own_stack.port}", Token.objects.get_or_create(user=team.bob)[0].key)


@pytest.fixture
def job(team, tiny_model, bob_client):
    """job(steps=…) -> the id of a two-image job bob submitted through the stack's API."""

    def submit(steps: int = 40, seed: int = 7) -> int:
        payload = {"model": tiny_model.id, "prompt": "a mill", "steps": steps, "width": 64, "height": 64}
        status, body = bob_client.request(
            "POST", f"/api/v1/projects/{team.project.id}/generations/", payload | {"num_images": 2, "seed": seed}
        )
        assert status == 201, body
        return body["id"]

    return submit


def wait_for(condition, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"not {what} after {timeout:.0f}s")


def running_on(session_id: int) -> str:
    """The worker running the job once it has made progress (the row says so)."""
    session = GenerationSession.objects.get(pk=session_id)
    return session.worker if session.status == "running" and session.progress_step > 0 else ""


def finished(session_id: int) -> GenerationSession | None:
    session = GenerationSession.objects.get(pk=session_id)
    return session if session.is_finished else None


def record(output_dir, what: str, seconds: float) -> None:
    with open(output_dir / "recovery-times.txt", "a") as times:
        times.write(f"{what}: {seconds:.1f} s\n")


def assert_ran_once_in_the_end(session: GenerationSession, outcomes: list[str]) -> None:
    assert session.status == "succeeded", session.error_message
    assert [attempt.outcome for attempt in session.attempt_log.all()] == outcomes
    assert session.attempts == len(outcomes)
    assert GeneratedImage.objects.filter(session=session).count() == 2  # no image stored twice
    assert sorted(GeneratedImage.objects.filter(session=session).values_list("index", flat=True)) == [0, 1]


def test_a_worker_killed_mid_job_is_restarted_and_the_job_succeeds_on_it(own_stack, job, output_dir):
    own_stack.start_redis(), own_stack.start_web()
    own_stack.start_worker("gpu0@recovery")
    session_id = job(steps=60)
    wait_for(lambda: running_on(session_id), 60, "running")

    own_stack.signal("gpu0@recovery", signal.SIGKILL)  # as the OOM killer would
    killed = time.monotonic()
    own_stack.start_worker("gpu0@recovery")  # what the supervisor does
    session = wait_for(lambda: finished(session_id), 120, "finished")

    record(output_dir, "SIGKILL, same worker restarted (includes its start)", time.monotonic() - killed)
    assert_ran_once_in_the_end(session, ["lost", "succeeded"])
    assert [attempt.worker for attempt in session.attempt_log.all()] == ["gpu0@recovery"] * 2


def test_a_worker_killed_for_good_loses_its_job_to_the_other_at_lease_expiry(own_stack, job, output_dir):
    own_stack.start_redis(), own_stack.start_web(), own_stack.start_control()
    own_stack.start_worker("gpu0@recovery"), own_stack.start_worker("gpu1@recovery")
    session_id = job(steps=60)
    victim = wait_for(lambda: running_on(session_id), 60, "running")

    own_stack.signal(victim, signal.SIGKILL)  # and it never comes back: a machine gone
    killed = time.monotonic()
    session = wait_for(lambda: finished(session_id), 120, "finished")

    record(output_dir, f"SIGKILL, never back, other worker (lease {LEASE_SECONDS} s)", time.monotonic() - killed)
    assert_ran_once_in_the_end(session, ["lost", "succeeded"])
    survivor = ({"gpu0@recovery", "gpu1@recovery"} - {victim}).pop()
    assert [attempt.worker for attempt in session.attempt_log.all()] == [victim, survivor]
    assert Worker.objects.get(name=victim).is_lost


def test_a_frozen_worker_that_wakes_after_its_lease_stores_nothing(own_stack, job, output_dir):
    own_stack.start_redis(), own_stack.start_web(), own_stack.start_control()
    own_stack.start_worker("gpu0@recovery"), own_stack.start_worker("gpu1@recovery")
    session_id = job(steps=60)
    frozen = wait_for(lambda: running_on(session_id), 60, "running")

    own_stack.signal(frozen, signal.SIGSTOP)  # a machine that stalls, then comes back
    stopped = time.monotonic()
    session = wait_for(lambda: finished(session_id), 120, "finished elsewhere")
    record(output_dir, f"SIGSTOP, other worker (lease {LEASE_SECONDS} s)", time.monotonic() - stopped)
    own_stack.signal(frozen, signal.SIGCONT)
    wait_for(lambda: Worker.objects.get(name=frozen).current_session_id is None, 60, "the woken worker idle")

    session.refresh_from_db()
    assert_ran_once_in_the_end(session, ["lost", "succeeded"])
    assert session.attempt_log.last().worker != frozen


def test_five_jobs_queued_when_redis_stops_all_run_after_it_starts_empty(own_stack, job, output_dir):
    own_stack.start_redis(), own_stack.start_web(), own_stack.start_control()
    own_stack.start_worker("gpu0@recovery")
    own_stack.signal("gpu0@recovery", signal.SIGSTOP)  # busy elsewhere: the wake-ups wait in Redis
    session_ids = [job(steps=2, seed=seed) for seed in range(5)]
    assert set(GenerationSession.objects.filter(pk__in=session_ids).values_list("status", flat=True)) == {"queued"}

    stack.stop(own_stack.processes.pop("redis"))  # the wake-ups go with it
    own_stack.start_redis()
    restarted = time.monotonic()
    own_stack.signal("gpu0@recovery", signal.SIGCONT)
    wait_for(
        lambda: all(finished(session_id) for session_id in session_ids), 120, "all five finished"
    )  # with nobody doing anything

    record(output_dir, "Redis restarted empty, 5 queued jobs all done", time.monotonic() - restarted)
    for session in GenerationSession.objects.filter(pk__in=session_ids):
        assert_ran_once_in_the_end(session, ["succeeded"])


def test_a_worker_stopped_with_sigterm_finishes_its_job_and_takes_no_other(own_stack, job):
    own_stack.start_redis(), own_stack.start_web()
    worker = own_stack.start_worker("gpu0@recovery")
    first = job(steps=60)
    wait_for(lambda: running_on(first), 60, "running")
    second = job(steps=2)

    worker.terminate()
    worker.wait(60)

    assert_ran_once_in_the_end(GenerationSession.objects.get(pk=first), ["succeeded"])
    assert GenerationSession.objects.get(pk=second).status == "queued"  # for the next worker
    assert Worker.objects.get(name="gpu0@recovery").state == "stopped"


def test_make_runs_supervisor_restarts_a_killed_worker_and_keeps_serving(team, tiny_model, tmp_path, output_dir):
    port = stack.free_port()
    env = dict(
        os.environ,
        DATABASE_URL=database_url(),
        REDIS_URL="",
        DEEPIMAGE_DATA_DIR=str(tmp_path),
        PORT=str(port),
        DEEPIMAGE_QUEUE=f"supervised-{port}",
    )
    launcher = subprocess.Popen(
        [sys.executable, "-m", "deepimage_site.stack"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        stack.wait_until(lambda: Worker.objects.filter(name__startswith="gpu0@").exists(), 90, "the worker", launcher)
        worker = Worker.objects.get(name__startswith="gpu0@")
        os.kill(worker.pid, signal.SIGKILL)
        killed = time.monotonic()

        client = StackClient(f"127.0.0.1:{port}", Token.objects.get_or_create(user=team.bob)[0].key)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/accounts/login/", timeout=10) as response:
            assert response.status == 200  # the web server did not go down with the worker
        status, body = client.request(
            "POST",
            f"/api/v1/projects/{team.project.id}/generations/",
            {"model": tiny_model.id, "prompt": "a pier", "steps": 2, "width": 64, "height": 64},
        )
        assert status == 201, body
        session = wait_for(lambda: finished(body["id"]), 120, "served by the restarted worker")
        record(output_dir, "make run's supervisor: worker SIGKILL to next job done", time.monotonic() - killed)
        assert session.status == "succeeded"
        assert Worker.objects.get(name=worker.name).pid != worker.pid

        launcher.send_signal(signal.SIGINT)
        output = launcher.communicate(timeout=90)[0].decode()
    finally:
        if launcher.poll() is None:
            launcher.kill()
            launcher.communicate()

    assert "worker gpu0 exited with code -9; starting it again" in output
    assert "worker gpu0 started again (restart 1)" in output
    assert launcher.returncode == 0, output
