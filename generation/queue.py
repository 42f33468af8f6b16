"""The database is the queue: a queued GenerationSession row is a job waiting.

The broker carries only wake-ups ("a job is waiting"). A worker that gets one claims the job
the scheduler picks at that moment, atomically: on PostgreSQL the row is locked with
`SELECT … FOR UPDATE SKIP LOCKED` and re-checked; on SQLite the IMMEDIATE transaction
serialises writers. A duplicate or stale wake-up finds nothing, or the next job: harmless.

A running job holds a lease its worker renews; the reconciler puts back the jobs of workers
whose lease lapsed (killed, hung, machine gone), fails jobs past their attempts or time
limit, and re-issues wake-ups that were lost (a restarted broker keeps none). This module
also knows where each queued job stands: its position and an estimate of when it is done.
"""

import logging
import statistics
import time
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Max, Q
from django.utils import timezone

from studio.permissions import key_scope

from . import events, webhooks
from .models import GenerationAttempt, GenerationSession, ModelEntry, Worker
from .scheduler import QueuedJob, claim_candidates, fair_order

logger = logging.getLogger(__name__)
Status = GenerationSession.Status
Outcome = GenerationAttempt.Outcome
HISTORY_FOR_ESTIMATES = 200  # recent finished jobs the time estimates learn from


def lease_seconds() -> timedelta:
    return timedelta(seconds=settings.DEEPIMAGE_JOB_LEASE_SECONDS)


# --- what is waiting, in order -------------------------------------------------------------


@dataclass(frozen=True)
class Waiting:
    """A queued job as the scheduler sees it, with what its time estimate needs."""

    job: QueuedJob
    model_id: int
    size: tuple  # (width, height, steps, num_images)


def queue_waiting() -> list[Waiting]:
    rows = GenerationSession.objects.filter(status=Status.QUEUED).values_list(
        "id",
        "created_by_id",
        "model_id",
        "model__source",
        "model__family",
        "model__config",
        "created_at",
        "passed_over",
        "width",
        "height",
        "steps",
        "num_images",
    )
    return [
        Waiting(
            QueuedJob(id=row[0], owner=row[1], model=row[3:6], queued=(row[6], row[0]), passed_over=row[7]),
            model_id=row[2],
            size=row[8:12],
        )
        for row in rows
    ]


def last_started(owners) -> dict:
    """When each person's last job started (a person who never ran one is absent)."""
    rows = (
        GenerationAttempt.objects.filter(session__created_by__in=[owner for owner in owners if owner is not None])
        .values("session__created_by")
        .annotate(last=Max("started_at"))
    )
    return {row["session__created_by"]: row["last"] for row in rows}


def queue_order(waiting: list[Waiting] | None = None) -> list[QueuedJob]:
    """Every queued job, in the order the scheduler would start them."""
    waiting = queue_waiting() if waiting is None else waiting
    jobs = [item.job for item in waiting]
    return fair_order(jobs, last_started({job.owner for job in jobs}), settings.DEEPIMAGE_SCHEDULER)


def queue_positions() -> dict[int, int]:
    """{session id: position} for every queued job, 1 being the next to start."""
    return {job.id: position for position, job in enumerate(queue_order(), start=1)}


# --- claiming -------------------------------------------------------------------------------


def queue_claim_next(worker: str, loaded_models=frozenset(), tries: int = 5) -> GenerationSession | None:
    """Claim the job the scheduler picks for `worker` (holding `loaded_models`, as
    (source, family, config) tuples); None when nothing is waiting.

    A queued row another transaction holds for a moment (a position update, another worker's
    claim that is about to fail) is skipped by SKIP LOCKED; if jobs are still queued after
    every candidate was skipped, try again shortly rather than go idle with work waiting."""
    for attempt in range(tries):
        session = claim_once(worker, loaded_models)
        if session is not None or not GenerationSession.objects.filter(status=Status.QUEUED).exists():
            return session
        time.sleep(0.02 * (attempt + 1))
    return None


def claim_once(worker: str, loaded_models) -> GenerationSession | None:
    with transaction.atomic():
        order = queue_order()
        candidates, passed = claim_candidates(
            order, set(loaded_models), settings.DEEPIMAGE_AFFINITY_WINDOW, settings.DEEPIMAGE_SCHEDULER
        )
        for index, job in enumerate(candidates):
            if start_attempt(job.id, worker):
                if index == 0 and passed:
                    GenerationSession.objects.filter(pk__in=[other.id for other in passed]).update(
                        passed_over=F("passed_over") + 1
                    )
                break
        else:
            return None
    return GenerationSession.objects.select_related("model").get(pk=job.id)


def queue_claim(session_id: int, worker: str) -> GenerationSession | None:
    """Claim one particular queued session; None if it is gone, finished or taken."""
    with transaction.atomic():
        if not start_attempt(session_id, worker):
            return None
    return GenerationSession.objects.select_related("model").get(pk=session_id)


def start_attempt(session_id: int, worker: str) -> bool:
    """Within a transaction: lock the session if it is still queued, mark it running for
    `worker` with a fresh lease, and record the attempt. False if someone else has it."""
    attempts = (
        GenerationSession.objects.select_for_update(skip_locked=True)
        .filter(pk=session_id, status=Status.QUEUED)
        .values_list("attempts", flat=True)
        .first()
    )
    if attempts is None:
        return False
    now = timezone.now()
    GenerationSession.objects.filter(pk=session_id).update(
        status=Status.RUNNING,
        worker=worker,
        started_at=now,
        attempts=attempts + 1,
        lease_expires_at=now + lease_seconds(),
        progress_step=0,
        progress_total=0,
        queue_position=None,
    )
    GenerationAttempt.objects.create(session_id=session_id, number=attempts + 1, worker=worker, started_at=now)
    return True


def owned(session: GenerationSession) -> Q:
    """The rows of `session` as long as this attempt still holds it."""
    return Q(pk=session.pk, status=Status.RUNNING, worker=session.worker, attempts=session.attempts)


def end_attempt(session: GenerationSession, status: str, message: str = "") -> bool:
    """Record how this attempt ended on the session and its attempt row, and its webhooks;
    False (and nothing written) if the attempt no longer holds the session (lease lost,
    session deleted)."""
    now = timezone.now()
    updated = GenerationSession.objects.filter(owned(session)).update(
        status=status,
        finished_at=now,
        error_message=message,
        lease_expires_at=None,
        progress_step=session.progress_step,
        progress_total=session.progress_total,
    )
    if updated:
        session.status, session.finished_at, session.error_message = status, now, message
        GenerationAttempt.objects.filter(session=session, number=session.attempts).update(
            finished_at=now, outcome=status, message=message
        )
        Worker.objects.filter(name=session.worker).update(jobs_done=F("jobs_done") + 1)
        webhooks.session_finished(session, status)
    return bool(updated)


# --- leases and recovery --------------------------------------------------------------------


def queue_release(session_id: int, reason: str) -> str | None:
    """Take a running job from the worker that lost it: back to the queue while attempts
    remain, else failed. Returns the new status, or None if it was not running."""
    with transaction.atomic():
        session = (
            GenerationSession.objects.select_for_update(skip_locked=True)
            .filter(pk=session_id, status=Status.RUNNING)
            .first()
        )
        if session is None:
            return None
        now = timezone.now()
        GenerationAttempt.objects.filter(session=session, number=session.attempts).update(
            finished_at=now, outcome=Outcome.LOST, message=reason
        )
        allowed = settings.DEEPIMAGE_JOB_ATTEMPTS
        if session.attempts >= allowed:
            message = (
                f"{reason} This was attempt {session.attempts} of {allowed}, so it was not tried again. "
                "Please run it again."
            )
            GenerationSession.objects.filter(pk=session.pk).update(
                status=Status.FAILED, finished_at=now, error_message=message, lease_expires_at=None
            )
            webhooks.session_finished(session, Status.FAILED)
            transaction.on_commit(lambda: events.send_failed(session.pk, message))
            return Status.FAILED
        GenerationSession.objects.filter(pk=session.pk).update(
            status=Status.QUEUED,
            worker="",
            started_at=None,
            queued_at=now,
            lease_expires_at=None,
            progress_step=0,
            progress_total=0,
            passed_over=0,
            queue_position=None,
        )
        logger.warning("Session %s goes back to the queue: %s", session.pk, reason)
        transaction.on_commit(queue_changed)
        return Status.QUEUED


def queue_release_worker(worker: str) -> int:
    """A worker that starts again gives back at once the jobs its previous life held."""
    held = GenerationSession.objects.filter(status=Status.RUNNING, worker=worker).values_list("pk", flat=True)
    reason = f"The worker {worker} stopped while running this generation (it restarted)."
    return sum(1 for session_id in list(held) if queue_release(session_id, reason))


def queue_release_expired() -> int:
    """Put back the running jobs whose lease lapsed: their worker stopped renewing it."""
    expired = GenerationSession.objects.filter(status=Status.RUNNING, lease_expires_at__lt=timezone.now())
    released = 0
    for session_id, worker in list(expired.values_list("pk", "worker")):
        reason = f"The worker {worker} stopped responding while running this generation."
        released += bool(queue_release(session_id, reason))
    return released


def queue_fail_runaways() -> int:
    """Fail jobs running past the time limit whose worker did not stop them itself (stuck in
    one step); a lease's worth of grace lets the worker do it first."""
    limit = settings.DEEPIMAGE_JOB_TIME_LIMIT
    cutoff = timezone.now() - timedelta(seconds=limit) - lease_seconds()
    runaway = GenerationSession.objects.filter(status=Status.RUNNING, started_at__lt=cutoff)
    failed = 0
    for session in runaway:
        if end_attempt(session, Status.FAILED, time_limit_message()):
            events.send_failed(session.pk, time_limit_message())
            failed += 1
    return failed


def time_limit_message() -> str:
    limit = settings.DEEPIMAGE_JOB_TIME_LIMIT
    shown = f"{limit / 60:g} minutes" if limit >= 60 else f"{limit:g} seconds"
    return f"Stopped: it ran longer than the time limit of {shown} (DEEPIMAGE_JOB_TIME_LIMIT)."


def queue_reconcile() -> dict:
    """The periodic repair: put back lost jobs, fail runaways, wake idle workers for waiting
    jobs whose wake-up was lost, and refresh the positions people see."""
    released = queue_release_expired()
    failed = queue_fail_runaways()
    waiting = GenerationSession.objects.filter(status=Status.QUEUED).count()
    woken = queue_wake(min(waiting, idle_worker_count())) if waiting else 0
    queue_announce()
    if released or failed or woken:
        logger.info("Reconciled: %s put back, %s timed out, %s wake-ups", released, failed, woken)
    return {"released": released, "timed_out": failed, "woken": woken, "waiting": waiting}


# --- wake-ups -------------------------------------------------------------------------------


def queue_wake(count: int = 1) -> int:
    """Tell `count` idle workers a job is waiting. A broker that is down is no error: the job
    is safe in the database and the reconciler wakes a worker once the broker is back."""
    from .tasks import wake_worker_task  # lazy: tasks import this module

    sent = 0
    for _ in range(count):
        try:
            wake_worker_task.apply_async(retry=False)
        except Exception:  # noqa: BLE001 - the broker's own errors vary by transport
            logger.warning("Could not send a wake-up; the reconciler will retry", exc_info=True)
            break
        sent += 1
    return sent


def queue_changed() -> None:
    """After a job entered the queue: tell everyone waiting where they stand, then wake a
    worker (in that order: the position updates have committed before a worker claims)."""
    queue_announce()
    queue_wake(1)


def live_workers():
    cutoff = timezone.now() - lease_seconds()
    return Worker.objects.filter(last_seen__gte=cutoff).exclude(state=Worker.State.STOPPED)


def idle_worker_count() -> int:
    return live_workers().filter(state=Worker.State.IDLE).count()


# --- where each job stands ------------------------------------------------------------------


class Estimator:
    """Run times learnt from recent jobs: the same model at the same size and steps if seen,
    else scaled from the model's (or any model's) seconds per step-pixel-image."""

    def __init__(self):
        recent = (
            GenerationSession.objects.filter(status=Status.SUCCEEDED, started_at__isnull=False)
            .order_by("-finished_at")
            .values_list("model_id", "width", "height", "steps", "num_images", "started_at", "finished_at")[
                :HISTORY_FOR_ESTIMATES
            ]
        )
        self.exact: dict = {}
        self.rates: dict = {}
        for model_id, width, height, steps, images, started, finished in recent:
            seconds = (finished - started).total_seconds()
            self.exact.setdefault((model_id, width, height, steps, images), []).append(seconds)
            rate = seconds / max(1, width * height * steps * images)
            self.rates.setdefault(model_id, []).append(rate)
            self.rates.setdefault(None, []).append(rate)

    def seconds(self, model_id: int, size: tuple) -> float | None:
        same = self.exact.get((model_id, *size))
        if same:
            return statistics.median(same[:5])
        rates = self.rates.get(model_id) or self.rates.get(None)
        if not rates:
            return None
        width, height, steps, images = size
        return statistics.median(rates[:20]) * width * height * steps * images


def queue_standing(waiting: list[Waiting] | None = None) -> dict[int, tuple[int, float | None]]:
    """{session id: (position, seconds until it is likely done, or None)} for queued jobs.

    The estimate plays the order forward on the live workers, starting from what the
    running jobs have left.
    """
    waiting = queue_waiting() if waiting is None else waiting
    order = queue_order(waiting)
    if not order:
        return {}
    estimator = Estimator()
    by_id = {item.job.id: item for item in waiting}
    now = timezone.now()
    busy_until = []
    running = GenerationSession.objects.filter(status=Status.RUNNING).values_list(
        "model_id", "width", "height", "steps", "num_images", "started_at"
    )
    for model_id, width, height, steps, images, started in running:
        expected = estimator.seconds(model_id, (width, height, steps, images))
        elapsed = (now - started).total_seconds() if started else 0
        busy_until.append(None if expected is None else max(0.0, expected - elapsed))
    slots = max(1, live_workers().count())
    free_at = sorted((busy for busy in busy_until if busy is not None), reverse=True)[:slots]
    unknown_ahead = any(busy is None for busy in busy_until)
    free_at = sorted(free_at + [0.0] * (slots - len(free_at)))
    standing = {}
    for position, job in enumerate(order, start=1):
        item = by_id[job.id]
        expected = estimator.seconds(item.model_id, item.size)
        if expected is None or unknown_ahead:
            unknown_ahead = True
            standing[job.id] = (position, None)
            continue
        start = free_at.pop(0)
        free_at.append(start + expected)
        free_at.sort()
        standing[job.id] = (position, round(start + expected, 1))
    return standing


def queue_announce() -> int:
    """Send a `queued` event to each waiting job whose position changed; returns how many."""
    standing = queue_standing()
    if not standing:
        return 0
    known = {
        pk: (announced, attempts)
        for pk, announced, attempts in GenerationSession.objects.filter(
            pk__in=standing, status=Status.QUEUED
        ).values_list("pk", "queue_position", "attempts")
    }
    moved = [
        (session_id, position, eta)
        for session_id, (position, eta) in standing.items()
        if session_id in known and known[session_id][0] != position
    ]
    with transaction.atomic():  # one write for all of them
        for session_id, position, _ in moved:
            GenerationSession.objects.filter(pk=session_id, status=Status.QUEUED).update(queue_position=position)
    for session_id, position, eta in moved:
        events.send_queued(session_id, position, eta, attempts=known[session_id][1])
    return len(moved)


def job_summary(session: GenerationSession, standing: dict) -> dict:
    position, eta = standing.get(session.pk, (None, None))
    return {
        "id": session.pk,
        "project": session.project_id,
        "model": session.model_id,
        "model_name": session.model.name,
        "prompt": session.prompt,
        "status": session.status,
        "queued_at": session.queued_at,
        "started_at": session.started_at,
        "attempts": session.attempts,
        "worker": session.worker,
        "progress_step": session.progress_step,
        "progress_total": session.progress_total,
        "position": position,
        "eta_seconds": eta,
    }


def queue_overview(user) -> dict:
    """What one person may see of the queue: their own queued and running jobs with their
    positions (asked with a project API key, those of the key's project only), everyone
    else's only as counts, and how many workers are up."""
    standing = queue_standing()
    active = GenerationSession.objects.filter(status__in=(Status.QUEUED, Status.RUNNING)).select_related("model")
    mine = sorted(
        active.filter(key_scope(user, "project"), created_by=user),
        key=lambda session: (session.status != Status.RUNNING, standing.get(session.pk, (0,))[0]),
    )
    others = active.exclude(created_by=user)
    workers = live_workers()
    return {
        "running": [job_summary(session, standing) for session in mine if session.status == Status.RUNNING],
        "queued": [job_summary(session, standing) for session in mine if session.status == Status.QUEUED],
        "others": {
            "running": others.filter(status=Status.RUNNING).count(),
            "queued": others.filter(status=Status.QUEUED).count(),
        },
        "workers": {"online": workers.count(), "busy": workers.filter(state=Worker.State.BUSY).count()},
    }


def queue_admin_overview() -> dict:
    """Everything, for staff: running jobs, queued jobs per person in order, every worker."""
    standing = queue_standing()
    active = GenerationSession.objects.filter(status__in=(Status.QUEUED, Status.RUNNING)).select_related(
        "model", "created_by", "project"
    )
    running = [session for session in active if session.status == Status.RUNNING]
    queued = sorted(
        (session for session in active if session.status == Status.QUEUED),
        key=lambda session: standing.get(session.pk, (0,))[0],
    )
    per_user: dict = {}
    for session in queued:
        per_user.setdefault(session.created_by, []).append((session, *standing.get(session.pk, (None, None))))
    return {
        "running": running,
        "queued": queued,
        "queued_per_user": sorted(per_user.items(), key=lambda item: item[1][0][1] or 0),
        "standing": standing,
        "workers": list(Worker.objects.order_by("name")),
        "models": dict(ModelEntry.objects.values_list("pk", "name")),
    }
