"""Running jobs on a worker: serve the queue (claim what the scheduler picks, run it through
this process's engine, store the images), report progress, and end each attempt as
succeeded, failed or cancelled, only while the attempt still holds the job.
"""

import logging
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import close_old_connections, transaction
from django.utils import timezone

from . import events, queue, webhooks
from .engine import (
    Engine,
    GenerationCancelled,
    GenerationError,
    GenerationResult,
    JobHooks,
    PipelineCache,
    StepProgress,
    WeightsError,
)
from .engine.metadata import png_bytes
from .models import GeneratedImage, GenerationSession
from .requests import stored_request

logger = logging.getLogger(__name__)
Status = GenerationSession.Status
_engine: Engine | None = None
_draining = threading.Event()
_current: dict = {"session": None}  # what this worker runs now, for its heartbeat
_store = ThreadPoolExecutor(max_workers=1, thread_name_prefix="store")
_pending: list[Future] = []


class JobLost(GenerationError):
    """This worker's attempt no longer holds the job: its lease lapsed and it went back to
    the queue (or the session was deleted). The worker drops its work."""


class JobTimeLimitExceeded(GenerationError):
    pass


def worker_engine() -> Engine:
    """The engine of this worker process, created on first use so that its cache lives on."""
    global _engine
    if _engine is None:
        budget_mb = settings.DEEPIMAGE_MEMORY_BUDGET_MB
        _engine = Engine(
            PipelineCache(
                max_pipelines=settings.DEEPIMAGE_MAX_PIPELINES,
                memory_budget=budget_mb * 1024 * 1024 if budget_mb else None,
                dtype=settings.DEEPIMAGE_DTYPE,
            )
        )
    return _engine


def loaded_models() -> set[tuple]:
    """The base models this worker holds, as the scheduler compares them."""
    if _engine is None:
        return set()
    return {(spec.source, spec.family, spec.config) for spec in _engine.cache.loaded_specs()}


def current_session_id() -> int | None:
    return _current["session"]


def worker_drain() -> None:
    """SIGTERM: finish the job in hand, take no new one."""
    _draining.set()


def is_draining() -> bool:
    return _draining.is_set()


def worker_serve(worker: str) -> int:
    """Run the jobs the scheduler picks for this worker until none is waiting or the worker
    is stopping. Storing one job's images overlaps the next job's start. Returns how many ran."""
    served = 0
    try:
        while not _draining.is_set():
            session = queue.queue_claim_next(worker, loaded_models())
            if session is None:
                break
            _store.submit(in_thread, queue.queue_announce)  # the others move up a place
            run_claimed(session, store_in_background=True)
            served += 1
    finally:
        wait_for_stores()
    return served


def wait_for_stores() -> None:
    while _pending:
        _pending.pop(0).result()


def generation_run(session_id: int, worker: str = "") -> None:
    """Claim one particular session for `worker` and run it to its end; a session that is
    not queued any more (cancelled, or claimed by another delivery) is left alone."""
    session = generation_claim(session_id, worker)
    if session is None:
        logger.info("Session %s is not queued any more; skipping", session_id)
        return
    run_claimed(session)


def generation_claim(session_id: int, worker: str) -> GenerationSession | None:
    """Mark a queued session running for `worker`; None if it is gone or already taken."""
    return queue.queue_claim(session_id, worker)


def run_claimed(session: GenerationSession, store_in_background: bool = False) -> None:
    """Run a claimed session through the engine and record how the attempt ended."""
    _current["session"] = session.pk
    try:
        result = worker_engine().generate(stored_request(session), progress_hooks(session))
    except JobLost as error:
        logger.warning("Session %s: %s", session.pk, error)
    except GenerationCancelled as error:
        generation_fail(session, str(error), status=Status.CANCELLED)
    except WeightsError as error:  # names files on the worker: for the log and the admin only
        logger.warning("Session %s: %s", session.pk, error)
        generation_fail(session, weights_message(session))
    except GenerationError as error:  # readable as it is; what the library said goes to the log
        logger.warning("Session %s: %s", session.pk, error, exc_info=error.__cause__ is not None)
        generation_fail(session, str(error))
    except Exception:
        logger.exception("Generation %s crashed", session.pk)
        generation_fail(session, f"Internal error on {session.worker or 'the worker'}; its log has the details.")
    else:
        if store_in_background:
            _pending.append(_store.submit(in_thread, generation_complete, session, result))
        else:
            generation_complete(session, result)
    finally:
        _current["session"] = None


def weights_message(session: GenerationSession) -> str:
    return (
        f"Could not load the weights of “{session.model.name}” or one of its adapters on {session.worker}; "
        "an admin can see why in the worker's log or with the catalog's test load."
    )


def in_thread(function, *args):
    """Run `function` on the store thread, which has its own database connection."""
    try:
        return function(*args)
    except Exception:
        logger.exception("%s failed on the store thread", function.__name__)
    finally:
        close_old_connections()


def progress_hooks(session: GenerationSession) -> JobHooks:
    """Every step goes to the channel layer; the row (progress, the lease renewal, and the
    check for a cancel) is written at most every DEEPIMAGE_PROGRESS_WRITE_SECONDS and at the end."""
    interval = settings.DEEPIMAGE_PROGRESS_WRITE_SECONDS
    started = time.monotonic()
    state = {"written": float("-inf"), "cancel": False}

    def on_progress(progress: StepProgress) -> None:
        session.progress_step, session.progress_total = progress.step, progress.total_steps
        events.send_progress(session.pk, progress.step, progress.total_steps, progress.previews)
        now = time.monotonic()
        if now - state["written"] >= interval:
            state["written"] = now
            state["cancel"] = not generation_record_progress(session)

    def should_cancel() -> bool:
        if time.monotonic() - started > settings.DEEPIMAGE_JOB_TIME_LIMIT:
            raise JobTimeLimitExceeded(queue.time_limit_message())
        return state["cancel"]

    return JobHooks(on_progress=on_progress, should_cancel=should_cancel)


def generation_record_progress(session: GenerationSession) -> bool:
    """Write the progress and renew the lease in one update; False if a cancel was asked
    for. Raises JobLost if this attempt no longer holds the job."""
    updated = (
        GenerationSession.objects.filter(queue.owned(session))
        .filter(cancel_requested=False)
        .update(
            progress_step=session.progress_step,
            progress_total=session.progress_total,
            lease_expires_at=timezone.now() + queue.lease_seconds(),
        )
    )
    if updated:
        return True
    if GenerationSession.objects.filter(queue.owned(session)).exists():
        return False  # still ours: the user asked to cancel
    raise JobLost("the worker lost its lease on this job; another attempt has it or it was deleted")


def generation_complete(session: GenerationSession, result: GenerationResult) -> list[GeneratedImage]:
    """Store the pictures and mark the session succeeded, all or nothing, and only while
    this attempt holds the job: a job that went back to the queue is never stored twice."""
    try:
        stored = generation_store_images(session, result)
    except JobLost as error:
        logger.warning("Session %s: results dropped, %s", session.pk, error)
        return []
    except Exception:
        logger.exception("Storing the images of session %s failed", session.pk)
        generation_fail(session, "Could not store the images; the worker's log has the details.")
        return []
    for image in stored:
        events.send_image(session.pk, image)
    events.send_done(session.pk)
    return stored


def generation_store_images(session: GenerationSession, result: GenerationResult) -> list[GeneratedImage]:
    """Write each picture as a PNG with its parameters, record it, and end the attempt as
    succeeded, in one transaction; the files go again if it fails."""
    session.sampler, session.model_hash = result.sampler, result.model_hash
    stored: list[GeneratedImage] = []
    try:
        with transaction.atomic():
            if not GenerationSession.objects.select_for_update().filter(queue.owned(session)).exists():
                raise JobLost("the worker lost its lease on this job before storing it")
            GenerationSession.objects.filter(pk=session.pk).update(sampler=result.sampler, model_hash=result.model_hash)
            for used in session.adapters_used.select_related("adapter"):
                used.file_hash = result.adapter_hashes.get(used.adapter.source, "")
                used.save(update_fields=["file_hash"])
            session_parameters = session.parameters()  # after the hashes above, which it includes
            for picture in result.pictures:
                parameters = {**session_parameters, "seed": picture.seed, "index": picture.index}
                image = GeneratedImage(
                    session=session,
                    index=picture.index,
                    seed=picture.seed,
                    width=picture.image.width,
                    height=picture.image.height,
                    parent=session.source_image,
                )
                image.file.save(
                    f"{picture.index}-{picture.seed}.png", ContentFile(png_bytes(picture.image, parameters))
                )
                stored.append(image)
            queue.end_attempt(session, Status.SUCCEEDED)
    except Exception:
        for image in stored:
            image.file.storage.delete(image.file.name)
        raise
    return stored


def generation_fail(session: GenerationSession, message: str, status: str = Status.FAILED) -> None:
    if queue.end_attempt(session, status, message):
        events.send_failed(session.pk, message, status=status)
    else:
        logger.info("Session %s ended elsewhere (deleted, or taken back from this worker)", session.pk)


def generation_cancel(session: GenerationSession) -> GenerationSession:
    """Stop a session: a queued one is cancelled at once, a running one at its next step.
    A finished session is left as it is."""
    message = "Cancelled by the user."
    if GenerationSession.objects.filter(pk=session.pk, status=Status.QUEUED).update(
        status=Status.CANCELLED, finished_at=timezone.now(), error_message=message, cancel_requested=True
    ):
        webhooks.session_finished(session, Status.CANCELLED)
        events.send_failed(session.pk, message, status=Status.CANCELLED)
        transaction.on_commit(queue.queue_announce)
    else:
        GenerationSession.objects.filter(pk=session.pk, status=Status.RUNNING).update(cancel_requested=True)
    session.refresh_from_db()
    return session
