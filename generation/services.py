"""Every write to generations and images goes through these functions."""

import logging
import secrets

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone

from studio.models import Project

from . import events
from .engine import (
    Engine,
    GenerationCancelled,
    GenerationError,
    GenerationResult,
    JobHooks,
    ModelSpec,
    PipelineCache,
    StepProgress,
    TextToImageRequest,
)
from .engine.metadata import png_bytes
from .models import GeneratedImage, GenerationSession, ModelEntry

logger = logging.getLogger(__name__)
Status = GenerationSession.Status
RANDOM_SEED = -1
_engine: Engine | None = None


def worker_engine() -> Engine:
    """The engine of this worker process, created on first use so that its cache lives on."""
    global _engine
    if _engine is None:
        _engine = Engine(PipelineCache(max_pipelines=settings.DEEPIMAGE_MAX_PIPELINES))
    return _engine


def base_model_for_generation(model_id) -> ModelEntry:
    try:
        return ModelEntry.objects.get(pk=model_id, enabled=True, kind=ModelEntry.Kind.BASE)
    except (ModelEntry.DoesNotExist, ValueError, TypeError):
        raise ValidationError({"model": f"Unknown model {model_id!r}: pick an enabled base model."}) from None


def generation_submit(
    *,
    user,
    project: Project,
    model_id,
    prompt: str,
    negative_prompt: str = "",
    steps: int | None = None,
    guidance_scale: float | None = None,
    seed: int | None = RANDOM_SEED,
    width: int | None = None,
    height: int | None = None,
    num_images: int = 1,
) -> GenerationSession:
    """Validate and record a text-to-image request, then queue it once the row is committed.

    Parameters left out come from the catalog entry's defaults; seed -1 (or None) picks a
    random seed, and the stored seed is the real one. Raises ValidationError by field.
    """
    model = base_model_for_generation(model_id)
    session = GenerationSession(
        project=project,
        created_by=user,
        model=model,
        mode=GenerationSession.Mode.TEXT_TO_IMAGE,
        prompt=prompt.strip(),
        negative_prompt=negative_prompt.strip(),
        steps=model.default_steps if steps is None else steps,
        guidance_scale=model.default_guidance_scale if guidance_scale is None else guidance_scale,
        seed=secrets.randbelow(2**32) if seed in (None, RANDOM_SEED) else seed,
        width=model.default_width if width is None else width,
        height=model.default_height if height is None else height,
        num_images=num_images,
    )
    session.full_clean()
    with transaction.atomic():
        session.save()
        transaction.on_commit(lambda: generation_dispatch(session.id))
    return session


def generation_dispatch(session_id: int) -> None:
    """Hand a queued session to the workers. First in, first out for now; a fair-share
    scheduler replaces this one function."""
    from .tasks import run_generation

    run_generation.delay(session_id)


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


def generation_run(session_id: int, worker: str = "") -> None:
    """Run one session from queued to a finished status. Never leaves it running."""
    session = generation_claim(session_id, worker)
    if session is None:
        logger.info("Session %s is not queued any more; skipping", session_id)
        return
    try:
        result = worker_engine().text_to_image(engine_request(session), progress_hooks(session))
        generation_store_images(session, result)
    except GenerationCancelled as error:
        generation_fail(session, str(error), status=Status.CANCELLED)
    except GenerationError as error:
        generation_fail(session, str(error))
    except Exception as error:
        logger.exception("Generation %s crashed", session_id)
        generation_fail(session, f"Internal error: {type(error).__name__}: {error}")
    else:
        generation_finish(session)


def engine_request(session: GenerationSession) -> TextToImageRequest:
    return TextToImageRequest(
        model=ModelSpec(source=session.model.source, family=session.model.family),
        prompt=session.prompt,
        negative_prompt=session.negative_prompt,
        seed=session.seed,
        steps=session.steps,
        guidance_scale=session.guidance_scale,
        width=session.width,
        height=session.height,
        num_images=session.num_images,
    )


def progress_hooks(session: GenerationSession) -> JobHooks:
    return JobHooks(on_progress=lambda progress: generation_record_progress(session, progress))


def generation_record_progress(session: GenerationSession, progress: StepProgress) -> None:
    session.progress_step, session.progress_total = progress.step, progress.total_steps
    GenerationSession.objects.filter(pk=session.pk).update(
        progress_step=progress.step, progress_total=progress.total_steps
    )
    events.send_progress(session.pk, progress.step, progress.total_steps)


def generation_store_images(session: GenerationSession, result: GenerationResult) -> list[GeneratedImage]:
    """Write each picture as a PNG with its parameters and record it; all or nothing."""
    session.sampler = result.sampler
    stored: list[GeneratedImage] = []
    try:
        with transaction.atomic():
            GenerationSession.objects.filter(pk=session.pk).update(sampler=result.sampler)
            for picture in result.pictures:
                parameters = {**session.parameters(), "seed": picture.seed, "index": picture.index}
                image = GeneratedImage(
                    session=session,
                    index=picture.index,
                    seed=picture.seed,
                    width=picture.image.width,
                    height=picture.image.height,
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


def generation_fail_orphans(worker: str) -> int:
    """Fail sessions a previous run of `worker` left running (it was killed mid-job)."""
    orphans = list(GenerationSession.objects.filter(status=Status.RUNNING, worker=worker))
    for session in orphans:
        generation_fail(session, "The worker stopped while this generation was running. Please run it again.")
    return len(orphans)
