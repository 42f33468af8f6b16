"""Every write to generations and images goes through these functions."""

import logging
import secrets
import time

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone

from studio.models import Project

from . import events
from .engine import (
    AdapterSpec,
    Engine,
    GenerationCancelled,
    GenerationError,
    GenerationRequest,
    GenerationResult,
    InvalidRequest,
    JobHooks,
    ModelSpec,
    PipelineCache,
    StepProgress,
    check_request,
)
from .engine.images import decode_image, decode_mask, encode_png
from .engine.metadata import png_bytes
from .engine.sizing import FOLLOW_IMAGE, resolve_size, snap
from .models import Comparison, GeneratedImage, GenerationSession, ModelEntry, SessionAdapter

logger = logging.getLogger(__name__)
Status = GenerationSession.Status
Mode = GenerationSession.Mode
RANDOM_SEED = -1
UPSCALE_STRENGTH = 0.3  # hires-fix: enough to add detail, too little to change the picture
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


def base_model_for_generation(model_id) -> ModelEntry:
    try:
        return ModelEntry.objects.get(pk=model_id, enabled=True, kind=ModelEntry.Kind.BASE)
    except (ModelEntry.DoesNotExist, ValueError, TypeError):
        raise ValidationError({"model": f"Unknown model {model_id!r}: pick an enabled base model."}) from None


def adapters_for_generation(model: ModelEntry, choices) -> list[tuple[ModelEntry, float]]:
    """Resolve [{"id": …, "weight": …}] to enabled adapters of the model's family."""
    chosen: list[tuple[ModelEntry, float]] = []
    for choice in choices or ():
        try:
            adapter = ModelEntry.objects.get(pk=choice["id"], enabled=True, kind=ModelEntry.Kind.ADAPTER)
            weight = float(choice.get("weight", 1.0))
        except (ModelEntry.DoesNotExist, KeyError, ValueError, TypeError):
            raise ValidationError({"adapters": f"Unknown adapter {choice!r}: pick an enabled adapter."}) from None
        if adapter.family != model.family:
            raise ValidationError(
                {
                    "adapters": f"“{adapter.name}” is a {adapter.get_family_display()} adapter; "
                    f"“{model.name}” is {model.get_family_display()}."
                }
            )
        if not -2 <= weight <= 2:
            raise ValidationError({"adapters": f"The weight of “{adapter.name}” must be between -2 and 2."})
        if any(adapter == earlier for earlier, _ in chosen):
            raise ValidationError({"adapters": f"“{adapter.name}” is chosen twice."})
        chosen.append((adapter, weight))
    return chosen


def source_image_for_generation(project: Project, image_id) -> GeneratedImage:
    """An image of `project` (whose membership the caller has checked) to start from."""
    try:
        image = GeneratedImage.objects.select_related("session").filter(pk=image_id, session__project=project).first()
    except (ValueError, TypeError):
        image = None
    if image is None:
        raise ValidationError({"source_image": "Pick an image from this project's history."})
    return image


def invalid(error: InvalidRequest) -> ValidationError:
    return ValidationError({error.field: str(error)})


def read_upload(upload) -> bytes:
    upload.seek(0)
    return upload.read()


def generation_submit(
    *,
    user,
    project: Project,
    model_id=None,
    prompt: str = "",
    mode: str = Mode.TEXT_TO_IMAGE,
    aspect: str = "",
    width: int | None = None,
    height: int | None = None,
    seed: int | None = RANDOM_SEED,
    steps: int | None = None,
    guidance_scale: float | None = None,
    sampler: str = "",
    strength: float | None = None,
    num_images: int = 1,
    init_image=None,
    mask_image=None,
    source_image=None,
    adapters=(),
    **settings_,
) -> GenerationSession:
    """Validate and record a generation request, then queue it once the row is committed.

    Parameters left out come from the catalog entry's defaults; seed -1 (or None) picks a
    random seed, and the stored seed is the real one. The base image comes from an upload
    (`init_image`) or from the project's history (`source_image`, which the results then
    record as their parent). Raises ValidationError by field; nothing is written then.
    """
    reference = source_image_for_generation(project, source_image) if source_image else None
    if mode == Mode.UPSCALE and reference is not None:
        # Hires fix: the same model, seed and prompt as the image being enlarged, unless told otherwise.
        origin = reference.session
        model_id = origin.model_id if model_id is None else model_id
        seed = reference.seed if seed in (None, RANDOM_SEED) else seed
        prompt = prompt or origin.prompt
        settings_["negative_prompt"] = settings_.get("negative_prompt") or origin.negative_prompt
    model = base_model_for_generation(model_id)
    chosen_adapters = adapters_for_generation(model, adapters)
    base_file = reference.file if reference else init_image
    try:
        picture = decode_image(read_upload(base_file)) if base_file else None
        mask = decode_mask(read_upload(mask_image)) if mask_image else None
        size = generation_size(model, mode, aspect, width, height, picture)
    except InvalidRequest as error:
        raise invalid(error) from None
    session = GenerationSession(
        project=project,
        created_by=user,
        model=model,
        mode=mode,
        prompt=prompt.strip(),
        steps=model.default_steps if steps is None else steps,
        guidance_scale=model.default_guidance_scale if guidance_scale is None else guidance_scale,
        sampler=sampler or model.default_sampler,
        seed=secrets.randbelow(2**32) if seed in (None, RANDOM_SEED) else seed,
        width=size[0],
        height=size[1],
        aspect=aspect or "",
        strength=(UPSCALE_STRENGTH if mode == Mode.UPSCALE else 0.75) if strength is None else strength,
        source_image=reference,
        num_images=num_images,
        **{name: value.strip() if isinstance(value, str) else value for name, value in settings_.items()},
    )
    session.full_clean(exclude=["init_image", "mask_image"])
    try:
        check_request(engine_request(session, submitted=(picture, mask, chosen_adapters)))
    except InvalidRequest as error:
        raise invalid(error) from None
    return generation_save(session, picture if init_image and not reference else None, mask, chosen_adapters)


MIN_COMPARED, MAX_COMPARED = 2, 4


def comparison_submit(*, user, project: Project, variants, seed=RANDOM_SEED, **parameters) -> Comparison:
    """One prompt and seed on 2–4 models or model + adapter combinations: one session per
    column, all-or-nothing. `variants` is [{"model": id, "adapters": [{id, weight}]}, …];
    parameters left out come from each model's own defaults."""
    if not isinstance(variants, list) or not MIN_COMPARED <= len(variants) <= MAX_COMPARED:
        raise ValidationError({"variants": f"Compare {MIN_COMPARED} to {MAX_COMPARED} models."})
    seed = secrets.randbelow(2**32) if seed in (None, RANDOM_SEED) else seed  # one seed for every column
    created: list[GenerationSession] = []
    try:
        with transaction.atomic():
            comparison = Comparison.objects.create(project=project, created_by=user)
            for column, variant in enumerate(variants, start=1):
                created.append(comparison_column(user, project, comparison, column, variant, seed, parameters))
    except Exception:
        for session in created:  # rows rolled back; their stored inputs must go too
            for stored in (session.init_image, session.mask_image):
                if stored:
                    stored.storage.delete(stored.name)
        raise
    return comparison


def comparison_column(user, project, comparison, column: int, variant, seed, parameters) -> GenerationSession:
    if not isinstance(variant, dict) or "model" not in variant:
        raise ValidationError({"variants": f"Column {column}: name a model."})
    try:
        return generation_submit(
            user=user,
            project=project,
            model_id=variant["model"],
            adapters=variant.get("adapters") or (),
            seed=seed,
            comparison=comparison,
            **parameters,
        )
    except ValidationError as error:
        if not hasattr(error, "error_dict") or not {"model", "adapters"} & error.error_dict.keys():
            raise
        messages = [f"Column {column}: {message}" for message in error.messages]
        raise ValidationError({"variants": messages}) from None


def generation_size(model: ModelEntry, mode: str, aspect: str, width, height, picture) -> tuple[int, int]:
    """The output size: 2× the image for upscale, else from the aspect preset, the given
    sides, the image (image modes follow it by default) or the model's default size."""
    max_side = settings.DEEPIMAGE_MAX_IMAGE_SIDE
    image_size = picture.size if picture else None
    if mode == Mode.UPSCALE and picture:
        scale = min(2.0, max_side / max(picture.size))
        return snap(picture.width * scale), snap(picture.height * scale)
    if not aspect and not (width or height):
        if picture is None:
            return model.default_width, model.default_height
        aspect = FOLLOW_IMAGE
    return resolve_size(model.family, aspect or "custom", width, height, image_size, max_side)


def generation_save(session, picture, mask, chosen_adapters) -> GenerationSession:
    """Write the session, its input files and adapters at once; remove the files if that fails."""
    written = []
    try:
        with transaction.atomic():
            session.save()
            for field, image in (("init_image", picture), ("mask_image", mask)):
                if image is not None:
                    getattr(session, field).save(f"{session.pk}-{field}.png", ContentFile(encode_png(image)))
                    written.append(getattr(session, field).name)
            SessionAdapter.objects.bulk_create(
                SessionAdapter(session=session, adapter=adapter, weight=weight, position=position)
                for position, (adapter, weight) in enumerate(chosen_adapters)
            )
            transaction.on_commit(lambda: generation_dispatch(session.id))
    except Exception:
        for name in written:
            session.init_image.storage.delete(name)
        raise
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
    generation_execute(session)


def generation_execute(session: GenerationSession) -> None:
    """Run a claimed session through the engine and record how it ended."""
    try:
        result = worker_engine().generate(engine_request(session), progress_hooks(session))
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


def engine_request(session: GenerationSession, submitted=None) -> GenerationRequest:
    """The engine's view of a session. Images and adapters are read from the session's
    files and rows, or taken from `submitted` (picture, mask, adapters) before they are stored."""
    if submitted is not None:
        picture, mask, adapters = submitted
    else:
        picture = session_input(session) if session.mode != Mode.TEXT_TO_IMAGE else None
        mask = decode_mask(read_upload(session.mask_image)) if session.mask_image else None
        adapters = [(used.adapter, used.weight) for used in session.adapters_used.select_related("adapter")]
    return GenerationRequest(
        model=ModelSpec(source=session.model.source, family=session.model.family, config=session.model.config),
        mode=session.mode,
        prompt=session.prompt,
        negative_prompt=session.negative_prompt,
        seed=session.seed,
        steps=session.steps,
        guidance_scale=session.guidance_scale,
        width=session.width,
        height=session.height,
        num_images=session.num_images,
        sampler=session.sampler,
        eta=session.eta,
        clip_skip=session.clip_skip,
        guidance_rescale=session.guidance_rescale,
        strength=session.strength,
        resize_mode=session.resize_mode,
        init_image=picture,
        mask_image=mask,
        adapters=tuple(
            AdapterSpec(source=adapter.source, weight=weight, rank=adapter.adapter_rank) for adapter, weight in adapters
        ),
        preview_every=settings.DEEPIMAGE_PREVIEW_EVERY,
    )


def session_input(session: GenerationSession):
    """The base image of an image-mode session: its upload, or the referenced result."""
    stored = session.init_image or (session.source_image.file if session.source_image else None)
    if not stored:
        raise GenerationError("The base image of this generation was deleted before it ran.")
    with stored.open("rb") as handle:
        return decode_image(handle.read())


def progress_hooks(session: GenerationSession) -> JobHooks:
    return JobHooks(
        on_progress=lambda progress: generation_record_progress(session, progress),
        # One indexed read per step: the engine stops before the next step once it is set.
        should_cancel=lambda: GenerationSession.objects.filter(pk=session.pk, cancel_requested=True).exists(),
    )


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


def generation_fail_orphans(worker: str) -> int:
    """Fail sessions a previous run of `worker` left running (it was killed mid-job)."""
    orphans = list(GenerationSession.objects.filter(status=Status.RUNNING, worker=worker))
    for session in orphans:
        generation_fail(session, "The worker stopped while this generation was running. Please run it again.")
    return len(orphans)


def adapter_verify(entry: str, *, weight=1.0, seed=1234, steps=None, size=None) -> tuple[ModelEntry, float]:
    """Largest pixel difference between `entry` applied unmerged and fused, on its base model."""
    adapters = ModelEntry.objects.filter(kind=ModelEntry.Kind.ADAPTER).select_related("base_model")
    adapter = adapters.filter(pk=int(entry)).first() if entry.isdigit() else adapters.filter(name=entry).first()
    if adapter is None or adapter.base_model is None:
        raise ValueError(f"No adapter {entry!r} with a base model in the catalog.")
    base = adapter.base_model
    request = GenerationRequest(
        model=ModelSpec(source=base.source, family=base.family, config=base.config),
        prompt="a lighthouse on a cliff at dusk",
        seed=seed,
        steps=steps or base.default_steps,
        guidance_scale=base.default_guidance_scale,
        width=size or base.default_width,
        height=size or base.default_height,
        sampler=base.default_sampler,
        adapters=(AdapterSpec(source=adapter.source, weight=weight, rank=adapter.adapter_rank),),
    )
    try:
        return adapter, worker_engine().verify_adapters(request)
    except GenerationError as error:
        raise ValueError(str(error)) from error


def catalog_request_test(entries) -> int:
    """Mark catalog entries as being tested and queue a load of each on a worker."""
    from .tasks import load_catalog_entry

    ids = list(entries.values_list("pk", flat=True))
    ModelEntry.objects.filter(pk__in=ids).update(
        test_status=ModelEntry.TestStatus.PENDING, test_message="Queued for a worker…", tested_at=None
    )
    for entry_id in ids:
        transaction.on_commit(lambda entry_id=entry_id: load_catalog_entry.delay(entry_id))
    return len(ids)


def catalog_test_load(entry_id: int, worker: str = "") -> ModelEntry:
    """Load a catalog entry the way a job would (an adapter onto its base model) and record
    the outcome on the entry for the admin to read."""
    entry = ModelEntry.objects.select_related("base_model").get(pk=entry_id)
    started = time.perf_counter()
    try:
        report = load_for_test(entry)
    except GenerationError as error:
        status, message = ModelEntry.TestStatus.FAILED, str(error)
    except Exception as error:
        logger.exception("Test load of %s crashed", entry)
        status, message = ModelEntry.TestStatus.FAILED, f"Internal error: {type(error).__name__}: {error}"
    else:
        status, message = ModelEntry.TestStatus.PASSED, f"{report} in {time.perf_counter() - started:.1f} s"
    if worker:
        message += f" (worker {worker})"
    entry.test_status, entry.test_message, entry.tested_at = status, message, timezone.now()
    entry.save(update_fields=["test_status", "test_message", "tested_at"])
    return entry


def load_for_test(entry: ModelEntry) -> str:
    if entry.kind != ModelEntry.Kind.ADAPTER:
        loaded = worker_engine().load(entry.spec)
        return f"Loaded {loaded.size_bytes / 2**20:.1f} MB of weights, model hash {loaded.model_hash},"
    if entry.base_model is None:
        raise GenerationError("The adapter names no base model.")
    loaded = worker_engine().load(entry.base_model.spec)
    loaded.adapter_names((AdapterSpec(source=entry.source, rank=entry.adapter_rank),))
    return f"Applied onto {entry.base_model.name}, adapter hash {loaded.adapter_hash(entry.source)},"
