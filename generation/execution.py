"""Running jobs on a worker: claim a queued session, run it through this process's engine,
report progress, store the images, and finish, fail or cancel it. Also the recovery of
sessions a killed worker left running.
"""

import logging

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone

from . import events
from .engine import (
    Engine,
    GenerationCancelled,
    GenerationError,
    GenerationResult,
    JobHooks,
    PipelineCache,
    StepProgress,
)
from .engine.metadata import png_bytes
from .models import GeneratedImage, GenerationSession
from .requests import stored_request

logger = logging.getLogger(__name__)
Status = GenerationSession.Status
_engine: Engine | None = None


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


def generation_run(session_id: int, worker: str = "") -> None:
    """Claim the session for `worker` and run it to a finished status; a session that is
    not queued any more (cancelled, or claimed by another delivery) is left alone."""
    session = generation_claim(session_id, worker)
    if session is None:
        logger.info("Session %s is not queued any more; skipping", session_id)
        return
    run_claimed(session)


def generation_claim(session_id: int, worker: str) -> GenerationSession | None:
    """Mark a queued session running for `worker`; None if it is gone or already taken.

    The conditional update means two deliveries of one task never run it twice.
    """
    claimed = GenerationSession.objects.filter(pk=session_id, status=Status.QUEUED).update(
        status=Status.RUNNING, worker=worker, started_at=timezone.now()
    )
    if not claimed:
        return None
    return GenerationSession.objects.select_related("model").get(pk=session_id)


def run_claimed(session: GenerationSession) -> None:
    """Run a claimed session through the engine and record how it ended. Never leaves it running."""
    try:
        result = worker_engine().generate(stored_request(session), progress_hooks(session))
        generation_store_images(session, result)
    except GenerationCancelled as error:
        generation_fail(session, str(error), status=Status.CANCELLED)
    except GenerationError as error:
        generation_fail(session, str(error))
    except Exception as error:
        logger.exception("Generation %s crashed", session.pk)
        generation_fail(session, f"Internal error: {type(error).__name__}: {error}")
    else:
        generation_finish(session)


def progress_hooks(session: GenerationSession) -> JobHooks:
    return JobHooks(
        on_progress=lambda progress: generation_record_progress(session, progress),
        # One indexed read per step: the engine stops before the next step once it is set.
        should_cancel=lambda: GenerationSession.objects.filter(pk=session.pk, cancel_requested=True).exists(),
    )


def generation_record_progress(session: GenerationSession, progress: StepProgress) -> None:
    session.progress_step, session.progress_total = progress.step, progress.total_steps
    GenerationSession.objects.filter(pk=session.pk).update(
        progress_step=progress.step, progress_total=progress.total_steps
    )
    events.send_progress(session.pk, progress.step, progress.total_steps, progress.previews)


def generation_store_images(session: GenerationSession, result: GenerationResult) -> list[GeneratedImage]:
    """Write each picture as a PNG with its parameters and record it; all or nothing."""
    session.sampler, session.model_hash = result.sampler, result.model_hash
    stored: list[GeneratedImage] = []
    try:
        with transaction.atomic():
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
    except Exception:
        for image in stored:
            image.file.storage.delete(image.file.name)
        raise
    for image in stored:
        events.send_image(session.pk, image)
    return stored


def generation_finish(session: GenerationSession) -> None:
    mark_finished(session, Status.SUCCEEDED)
    events.send_done(session.pk)


def generation_fail(session: GenerationSession, message: str, status: str = Status.FAILED) -> None:
    session.error_message = message
    mark_finished(session, status, error_message=message)
    events.send_failed(session.pk, message, status=status)


def mark_finished(session: GenerationSession, status: str, **fields) -> None:
    # An update, not save(): a session deleted meanwhile (its project removed) is no error.
    session.status, session.finished_at = status, timezone.now()
    updated = GenerationSession.objects.filter(pk=session.pk).update(
        status=status, finished_at=session.finished_at, **fields
    )
    if not updated:
        logger.info("Session %s was deleted while it ran", session.pk)


def generation_cancel(session: GenerationSession) -> GenerationSession:
    """Stop a session: a queued one is cancelled at once, a running one at its next step.
    A finished session is left as it is."""
    message = "Cancelled by the user."
    if GenerationSession.objects.filter(pk=session.pk, status=Status.QUEUED).update(
        status=Status.CANCELLED, finished_at=timezone.now(), error_message=message, cancel_requested=True
    ):
        events.send_failed(session.pk, message, status=Status.CANCELLED)
    else:
        GenerationSession.objects.filter(pk=session.pk, status=Status.RUNNING).update(cancel_requested=True)
    session.refresh_from_db()
    return session


def generation_fail_orphans(worker: str) -> int:
    """Fail sessions a previous run of `worker` left running (it was killed mid-job)."""
    orphans = list(GenerationSession.objects.filter(status=Status.RUNNING, worker=worker))
    for session in orphans:
        generation_fail(session, "The worker stopped while this generation was running. Please run it again.")
    return len(orphans)
