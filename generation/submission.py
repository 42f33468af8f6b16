"""Submitting work: validate a request, resolve its model and adapters (those its project may
use) and the input images its mode uses, check the quotas, record the session (with its
uploads) all or nothing, and queue it (the row is the job).

Comparisons are submissions too: one session per column, one seed, each input stored once,
all or nothing.
"""

import secrets
from contextlib import contextmanager

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone

from studio.models import Project

from . import queue, quotas
from .engine import InvalidRequest, check_request, limits
from .engine.images import decode_image, decode_mask, encode_png
from .engine.requests import IMAGE_MODES
from .engine.sizing import FOLLOW_IMAGE, resolve_size, snap
from .models import Comparison, GeneratedImage, GenerationSession, ModelEntry, SessionAdapter
from .requests import ChosenAdapters, engine_request

Mode = GenerationSession.Mode
RANDOM_SEED = -1
UPSCALE_STRENGTH = 0.3  # hires-fix: enough to add detail, too little to change the picture
DEFAULT_STRENGTH = 0.75


def generation_submit(
    *,
    user,
    project: Project,
    model_id=None,
    init_image=None,
    mask_image=None,
    source_image=None,
    adapters=(),
    stored_inputs: dict | None = None,
    **parameters,
) -> GenerationSession:
    """Validate and record a generation request, then queue it once the row is committed.

    `parameters` are the session's fields (mode, prompt, steps, …); those left out come from
    the catalog entry's defaults, and seed -1 (or None) picks a random seed that is stored.
    The base image is an upload (`init_image`) or an image of the project's history
    (`source_image`, which the results record as their parent). Raises ValidationError by
    field; nothing is written then.
    """
    # 1. The base image from the history; an upscale inherits its model, seed and prompt.
    reference = source_image_for_generation(project, source_image) if source_image else None
    if reference is not None and parameters.get("mode") == Mode.UPSCALE:
        model_id, parameters = inherit_from_reference(reference, model_id, parameters)
    # 2. The model and the adapters chosen for it.
    model = base_model_for_generation(model_id, project)
    chosen_adapters = adapters_for_generation(model, adapters, project)
    # 3. The input images the mode uses, decoded once.
    refuse_unused_inputs(parameters.get("mode") or Mode.TEXT_TO_IMAGE, init_image, source_image, mask_image)
    base_file = reference.file if reference else init_image
    max_pixels = settings.DEEPIMAGE_MAX_INPUT_PIXELS
    with field_errors():
        picture = decode_image(read_upload(base_file), max_pixels=max_pixels) if base_file else None
        mask = decode_mask(read_upload(mask_image), max_pixels=max_pixels) if mask_image else None
    # 4. The session row, its blanks filled from the model, checked by the model's validators…
    session = new_session(user=user, project=project, model=model, reference=reference, picture=picture, **parameters)
    # 5. …and by the engine, which knows what each mode needs.
    with field_errors():
        check_request(engine_request(session, init_image=picture, mask_image=mask, adapters=chosen_adapters))
    # 6. Within the person's and the project's limits, write everything at once; the workers
    # hear of it after the commit.
    upload = picture if init_image and reference is None else None
    with transaction.atomic():
        quotas.quota_check(user, project, session)
        return generation_save(session, upload, mask, chosen_adapters, stored_inputs)


def refuse_unused_inputs(mode: str, init_image, source_image, mask_image) -> None:
    """An input the mode would ignore is a mistake worth saying, and is never stored."""
    if mode not in IMAGE_MODES:
        for field, given in (("init_image", init_image), ("source_image", source_image)):
            if given:
                raise ValidationError({field: "This mode does not start from an image; pick an image mode or drop it."})
    if mask_image and mode != Mode.INPAINT:
        raise ValidationError({"mask_image": "Only inpainting uses a mask."})


@contextmanager
def field_errors():
    """Turn the engine's InvalidRequest into a ValidationError on the field it names."""
    try:
        yield
    except InvalidRequest as error:
        raise ValidationError({error.field: str(error)}) from None


def inherit_from_reference(reference: GeneratedImage, model_id, parameters: dict) -> tuple:
    """Hires fix: the same model, seed and prompts as the image being enlarged, unless given."""
    origin = reference.session
    inherited = dict(parameters)
    if inherited.get("seed") in (None, RANDOM_SEED):
        inherited["seed"] = reference.seed
    inherited["prompt"] = inherited.get("prompt") or origin.prompt
    inherited["negative_prompt"] = inherited.get("negative_prompt") or origin.negative_prompt
    return (origin.model_id if model_id is None else model_id), inherited


def new_session(
    *,
    user,
    project: Project,
    model: ModelEntry,
    reference: GeneratedImage | None,
    picture,
    mode: str = Mode.TEXT_TO_IMAGE,
    prompt: str = "",
    aspect: str = "",
    width: int | None = None,
    height: int | None = None,
    seed: int | None = RANDOM_SEED,
    steps: int | None = None,
    guidance_scale: float | None = None,
    guidance_end: float | None = None,
    sampler: str = "",
    strength: float | None = None,
    num_images: int = 1,
    **other_fields,
) -> GenerationSession:
    """An unsaved, validated session with the model's defaults where values were left out."""
    with field_errors():
        size = generation_size(model, mode, aspect, width, height, picture)
    session = GenerationSession(
        project=project,
        created_by=user,
        model=model,
        mode=mode,
        prompt=prompt.strip(),
        steps=model.default_steps if steps is None else steps,
        guidance_scale=model.default_guidance_scale if guidance_scale is None else guidance_scale,
        guidance_end=model.default_guidance_end if guidance_end is None else guidance_end,
        sampler=sampler or model.default_sampler,
        seed=secrets.randbelow(limits.SEED.max + 1) if seed in (None, RANDOM_SEED) else seed,
        width=size[0],
        height=size[1],
        aspect=aspect or "",
        strength=(UPSCALE_STRENGTH if mode == Mode.UPSCALE else DEFAULT_STRENGTH) if strength is None else strength,
        source_image=reference,
        num_images=num_images,
        queued_at=timezone.now(),
        **{name: value.strip() if isinstance(value, str) else value for name, value in other_fields.items()},
    )
    session.full_clean(exclude=["init_image", "mask_image"])
    return session


def row_id(value) -> int | None:
    """An id as sent (a number or its digits) if a database column can hold it, else None."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        return None
    try:
        number = int(value)
    except (ValueError, OverflowError):
        return None
    return number if 0 < number < 2**63 else None


def base_model_for_generation(model_id, project: Project) -> ModelEntry:
    """An enabled base model the project may use, or a ValidationError on `model`."""
    try:
        return ModelEntry.objects.available_to(project).get(pk=row_id(model_id), kind=ModelEntry.Kind.BASE)
    except (ModelEntry.DoesNotExist, ValueError, TypeError):
        raise ValidationError({"model": "Unknown model: pick an enabled base model."}) from None


def adapters_for_generation(model: ModelEntry, choices, project: Project) -> ChosenAdapters:
    """Resolve [{"id": …, "weight": …}] to enabled adapters of the model's family that the
    project may use."""
    chosen: ChosenAdapters = []
    allowed = limits.ADAPTER_WEIGHT
    for choice in choices or ():
        try:
            adapter = ModelEntry.objects.available_to(project).get(
                pk=row_id(choice["id"]), kind=ModelEntry.Kind.ADAPTER
            )
            weight = float(choice.get("weight", 1.0))
        except (ModelEntry.DoesNotExist, KeyError, ValueError, TypeError, OverflowError):
            message = "Unknown adapter or weight: pick an enabled adapter and a number."
            raise ValidationError({"adapters": message}) from None
        if adapter.family != model.family:
            raise ValidationError(
                {
                    "adapters": f"“{adapter.name}” is a {adapter.get_family_display()} adapter; "
                    f"“{model.name}” is {model.get_family_display()}."
                }
            )
        if weight not in allowed:
            raise ValidationError(
                {"adapters": f"The weight of “{adapter.name}” must be between {allowed.min:g} and {allowed.max:g}."}
            )
        if any(adapter == earlier for earlier, _ in chosen):
            raise ValidationError({"adapters": f"“{adapter.name}” is chosen twice."})
        chosen.append((adapter, weight))
    return chosen


def source_image_for_generation(project: Project, image_id) -> GeneratedImage:
    """An image of `project` (whose membership the caller has checked) to start from."""
    try:
        image = (
            GeneratedImage.objects.select_related("session")
            .filter(pk=row_id(image_id), session__project=project)
            .first()
        )
    except (ValueError, TypeError):
        image = None
    if image is None:
        raise ValidationError({"source_image": "Pick an image from this project's history."})
    return image


def read_upload(upload) -> bytes:
    upload.seek(0)
    return upload.read()


def generation_size(model: ModelEntry, mode: str, aspect: str, width, height, picture) -> tuple[int, int]:
    """The output size: 2× the image for upscale, else from the aspect preset, the given
    sides, the image (image modes follow it by default) or the model's default size."""
    max_side = settings.DEEPIMAGE_MAX_IMAGE_SIDE
    if mode == Mode.UPSCALE and picture:
        scale = min(2.0, max_side / max(picture.size))
        return snap(picture.width * scale), snap(picture.height * scale)
    if not aspect and not (width or height):
        if picture is None:
            return model.default_width, model.default_height
        aspect = FOLLOW_IMAGE
    image_size = picture.size if picture else None
    return resolve_size(model.family, aspect or "custom", width, height, image_size, max_side=max_side)


def generation_save(
    session: GenerationSession, upload, mask, chosen_adapters: ChosenAdapters, stored_inputs: dict | None = None
) -> GenerationSession:
    """Write the session, its input files and adapters at once; remove the files if that fails.
    `stored_inputs` ({field: file name}) shares inputs already stored for another session of
    the same submission (a comparison's columns), which then stores each input once."""
    written = []
    stored_inputs = {} if stored_inputs is None else stored_inputs
    try:
        with transaction.atomic():
            session.save()
            inputs = [(field, image) for field, image in (("init_image", upload), ("mask_image", mask)) if image]
            for field, image in inputs:
                if field in stored_inputs:
                    setattr(session, field, stored_inputs[field])
                else:
                    name, content = f"{session.pk}-{field}.png", ContentFile(encode_png(image))
                    getattr(session, field).save(name, content, save=False)
                    written.append(stored_inputs.setdefault(field, getattr(session, field).name))
            if inputs:
                session.save(update_fields=[field for field, _ in inputs])
            SessionAdapter.objects.bulk_create(
                SessionAdapter(session=session, adapter=adapter, weight=weight, position=position)
                for position, (adapter, weight) in enumerate(chosen_adapters)
            )
            transaction.on_commit(queue.queue_changed)  # wake a worker; tell the waiting their place
    except Exception:
        for name in written:
            session.init_image.storage.delete(name)
        raise
    return session


def comparison_submit(*, user, project: Project, variants, seed=RANDOM_SEED, **parameters) -> Comparison:
    """One prompt and seed on 2–4 models or model + adapter combinations: one session per
    column, all-or-nothing. `variants` is [{"model": id, "adapters": [{id, weight}]}, …];
    parameters left out come from each model's own defaults."""
    allowed = limits.COMPARED_MODELS
    if not isinstance(variants, list) or len(variants) not in allowed:
        raise ValidationError({"variants": f"Compare {allowed.min} to {allowed.max} models."})
    seed = secrets.randbelow(limits.SEED.max + 1) if seed in (None, RANDOM_SEED) else seed  # one seed for all
    created: list[GenerationSession] = []
    shared = {"stored_inputs": {}}  # the columns share one stored copy of each input
    try:
        with transaction.atomic():
            comparison = Comparison.objects.create(project=project, created_by=user)
            for column, variant in enumerate(variants, start=1):
                created.append(comparison_column(user, project, comparison, column, variant, seed, parameters | shared))
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
