"""A session as the engine sees it: the one translation from rows to a GenerationRequest."""

from django.conf import settings
from PIL import Image

from .engine import AdapterSpec, GenerationError, GenerationRequest
from .engine.images import decode_image, decode_mask
from .models import GenerationSession, ModelEntry

ChosenAdapters = list[tuple[ModelEntry, float]]


def engine_request(
    session: GenerationSession,
    *,
    init_image: Image.Image | None,
    mask_image: Image.Image | None,
    adapters: ChosenAdapters,
) -> GenerationRequest:
    """The engine's request for `session`, with its images and adapters given explicitly:
    submission passes what it just decoded, execution what `stored_inputs` reads back."""
    return GenerationRequest(
        model=session.model.spec,
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
        guidance_end=session.guidance_end,
        strength=session.strength,
        resize_mode=session.resize_mode,
        init_image=init_image,
        mask_image=mask_image,
        adapters=tuple(
            AdapterSpec(source=adapter.source, weight=weight, rank=adapter.adapter_rank) for adapter, weight in adapters
        ),
        preview_every=settings.DEEPIMAGE_PREVIEW_EVERY,
    )


def stored_request(session: GenerationSession) -> GenerationRequest:
    """The request of a recorded session, its images read back from storage. A model or
    adapter that the project may no longer use (disabled, or restricted to other projects
    since the job was queued) is refused here, on the worker."""
    adapters = [(used.adapter, used.weight) for used in session.adapters_used.select_related("adapter")]
    used = {session.model_id, *(adapter.pk for adapter, _ in adapters)}
    if ModelEntry.objects.available_to(session.project_id).filter(pk__in=used).count() != len(used):
        raise GenerationError("The model or an adapter of this job is not available to this project any more.")
    init_image = stored_base_image(session) if session.mode != GenerationSession.Mode.TEXT_TO_IMAGE else None
    mask_image = None
    if session.mask_image:
        with session.mask_image.open("rb") as handle:
            mask_image = decode_mask(handle.read())
    return engine_request(session, init_image=init_image, mask_image=mask_image, adapters=adapters)


def stored_base_image(session: GenerationSession) -> Image.Image:
    """The base image of an image-mode session: its upload, or the referenced result."""
    stored = session.init_image or (session.source_image.file if session.source_image else None)
    if not stored:
        raise GenerationError("The base image of this generation was deleted before it ran.")
    with stored.open("rb") as handle:
        return decode_image(handle.read())
