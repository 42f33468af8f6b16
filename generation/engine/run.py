"""One job on a loaded model: every mode, one batched call, one seeded generator per image."""

import inspect
import math

import numpy as np
import torch

from . import limits
from .adapters import activate_adapters
from .images import check_mask_fits, fit_image
from .pipelines import LoadedModel
from .previews import latents_to_previews
from .prompts import prompt_arguments
from .requests import (
    IMAGE_MODES,
    MODES,
    PROMPT_REQUIRED_MODES,
    GeneratedPicture,
    GenerationCancelled,
    GenerationRequest,
    GenerationResult,
    InvalidRequest,
    JobHooks,
    StepProgress,
)
from .samplers import check_sampler, check_sampler_fits, local_scheduler_config, sampler_name_of

VAE_TILING_PIXELS = 1536 * 1536  # above this the VAE decodes in tiles to bound its memory
# What diffusers' SD and SDXL pipelines stack as [unconditional, conditional] for guidance.
GUIDANCE_BATCHED = ("prompt_embeds", "add_text_embeds", "add_time_ids", "mask", "masked_image_latents")


def check_request(request: GenerationRequest) -> None:
    """Refuse what diffusers would fail on deep inside, naming the field to fix."""
    if request.mode not in MODES:
        raise InvalidRequest("mode", f"Unknown mode {request.mode!r}; choose one of {', '.join(MODES)}.")
    if request.mode in PROMPT_REQUIRED_MODES and not request.prompt.strip():
        raise InvalidRequest("prompt", "This mode needs a prompt.")
    if request.mode in IMAGE_MODES and request.init_image is None:
        raise InvalidRequest("init_image", "This mode needs an image: upload one or pick one from the history.")
    if request.mode == "inpaint":
        if request.mask_image is None:
            raise InvalidRequest("mask_image", "Inpainting needs a mask: paint the area to repaint.")
        check_mask_fits(request.init_image, request.mask_image)
    if request.mode in IMAGE_MODES and not 0 < request.strength <= 1:
        raise InvalidRequest("strength", "Denoising strength must be above 0 and at most 1.")
    if request.mode in IMAGE_MODES and int(request.steps * request.strength) < 1:
        raise InvalidRequest("strength", "Steps × denoising strength is below one step: raise either.")
    check_limits(request)
    check_sampler(request.sampler)
    if request.sampler and (config := local_scheduler_config(request.model.source)):
        check_sampler_fits(request.sampler, config)  # a local folder tells before loading; others when loaded
    if request.guidance_rescale and not supports_guidance_rescale(request.model.family, request.mode):
        raise InvalidRequest(
            "guidance_rescale", "Guidance rescale works in text-to-image, and in every mode of SDXL models."
        )


def check_limits(request: GenerationRequest) -> None:
    """The ranges of limits.py; the largest side is the caller's to enforce (it is configured)."""
    for field, value, allowed in (
        ("steps", request.steps, limits.STEPS),
        ("guidance_scale", request.guidance_scale, limits.GUIDANCE_SCALE),
        ("num_images", request.num_images, limits.NUM_IMAGES),
        ("eta", request.eta, limits.ETA),
        ("clip_skip", request.clip_skip, limits.CLIP_SKIP),
        ("guidance_rescale", request.guidance_rescale, limits.GUIDANCE_RESCALE),
        ("guidance_end", request.guidance_end, limits.GUIDANCE_END),
        ("seed", request.seed, limits.SEED),
    ):
        if value not in allowed:
            raise InvalidRequest(
                field, f"{field.replace('_', ' ').capitalize()} must be between {allowed.min:g} and {allowed.max:g}."
            )
    for field in ("prompt", "negative_prompt"):
        if len(getattr(request, field)) > limits.PROMPT_CHARS:
            raise InvalidRequest(field, f"At most {limits.PROMPT_CHARS:,} characters, please.")
    for adapter in request.adapters:
        if adapter.weight not in limits.ADAPTER_WEIGHT:
            raise InvalidRequest(
                "adapters",
                f"Adapter weights must be between {limits.ADAPTER_WEIGHT.min:g} and {limits.ADAPTER_WEIGHT.max:g}.",
            )
    for field, side in (("width", request.width), ("height", request.height)):
        if side < limits.MIN_SIDE or side % limits.SIDE_MULTIPLE:
            raise InvalidRequest(
                field, f"Width and height must be multiples of {limits.SIDE_MULTIPLE}, at least {limits.MIN_SIDE}."
            )


def supports_guidance_rescale(family: str, mode: str) -> bool:
    return family.startswith("sdxl") or mode == "text_to_image"


def check_model_fits(model: LoadedModel, request: GenerationRequest) -> None:
    """What only the loaded weights tell: a 9-channel UNet only inpaints. (A sampler that
    cannot run on the model's noise schedule is refused where its scheduler is made.)"""
    if model.is_inpainting_model and request.mode != "inpaint":
        raise InvalidRequest("mode", "This is an inpainting checkpoint: use it in inpainting mode.")


def generate_images(model: LoadedModel, request: GenerationRequest, hooks: JobHooks) -> GenerationResult:
    """Run a request already passed through `check_request` on its loaded model."""
    check_model_fits(model, request)
    pipeline = prepare_pipeline(model, request)
    output = pipeline(**call_arguments(pipeline, request, hooks))
    pictures = [
        GeneratedPicture(image=image, seed=seed, index=index)
        for index, (image, seed) in enumerate(zip(output.images, request.image_seeds(), strict=True))
    ]
    return GenerationResult(
        pictures=pictures,
        sampler=sampler_name_of(pipeline.scheduler),
        model_hash=model.model_hash,
        adapter_hashes={spec.source: model.adapter_hash(spec.source) for spec in request.adapters},
    )


def prepare_pipeline(model: LoadedModel, request: GenerationRequest):
    """The mode's pipeline with this job's sampler, adapters and VAE tiling switched in."""
    pipeline = model.for_mode(request.mode)
    pipeline.scheduler = model.scheduler_for(request.sampler)
    names = model.adapter_names(request.adapters)
    activate_adapters(model.pipeline, names, [spec.weight for spec in request.adapters])
    if request.width * request.height > VAE_TILING_PIXELS:
        pipeline.vae.enable_tiling()
    else:
        pipeline.vae.disable_tiling()
    return pipeline


def call_arguments(pipeline, request: GenerationRequest, hooks: JobHooks, output_type: str = "pil") -> dict:
    # CPU generators give the same noise whatever device the pipeline runs on.
    generators = [torch.Generator("cpu").manual_seed(seed) for seed in request.image_seeds()]
    arguments = {
        **prompt_arguments(pipeline, request.prompt, request.negative_prompt, request.clip_skip),
        "num_inference_steps": request.steps,
        # Guidance ending at 0 is no guidance: 1 makes the pipeline skip the unconditional pass.
        "guidance_scale": request.guidance_scale if request.guidance_end > 0 else 1.0,
        "num_images_per_prompt": request.num_images,
        "generator": generators,
        "eta": request.eta,
        "callback_on_step_end": step_callback(request, hooks),
        "callback_on_step_end_tensor_inputs": ["latents", *guidance_tensors(pipeline, request)],
        "output_type": output_type,
    }
    if request.guidance_rescale:
        arguments["guidance_rescale"] = request.guidance_rescale
    if request.mode in IMAGE_MODES:
        arguments["image"] = fit_image(request.init_image, request.width, request.height, request.resize_mode)
        arguments["strength"] = request.strength
    if request.mode == "inpaint":
        arguments["mask_image"] = fit_image(
            request.mask_image, request.width, request.height, request.resize_mode, mask=True
        )
    accepted = inspect.signature(pipeline.__call__).parameters
    if "width" in accepted:  # img2img follows its input image, already resized above
        arguments |= {"width": request.width, "height": request.height}
    return arguments


def guidance_tensors(pipeline, request: GenerationRequest) -> list[str]:
    """What the step callback must halve when guidance ends before the last step."""
    if not 0 < request.guidance_end < 1:
        return []
    return [name for name in GUIDANCE_BATCHED if name in pipeline._callback_tensor_inputs]


def guided_steps(guidance_end: float, total: int) -> int:
    """How many of the `total` denoising steps run classifier-free guidance: the first
    ceil(guidance_end × total), so any end above 0 guides at least one step."""
    return math.ceil(round(guidance_end * total, 6))


def end_guidance(pipeline, tensors: dict) -> dict:
    """Turn classifier-free guidance off for the steps left: keep the conditional half of
    every tensor stacked for it (diffusers' "dynamic CFG" callback), so they run the prompt
    alone at half the UNet work."""
    pipeline._guidance_scale = 1.0  # do_classifier_free_guidance reads `> 1`
    return tensors | {name: tensors[name].chunk(2)[-1] for name in GUIDANCE_BATCHED if name in tensors}


def step_callback(request: GenerationRequest, hooks: JobHooks):
    """Build diffusers' `callback_on_step_end`: end guidance where the request says, report
    the step, previews, stop if asked to."""

    def on_step_end(pipeline, step_index, timestep, callback_kwargs):
        # num_timesteps is the true total in every mode (PNDM runs one step more than asked).
        step, total = step_index + 1, pipeline.num_timesteps
        if pipeline.do_classifier_free_guidance and step == guided_steps(request.guidance_end, total) < total:
            callback_kwargs = end_guidance(pipeline, callback_kwargs)
        previews = ()
        if request.preview_every and (step % request.preview_every == 0) and step < total:
            previews = latents_to_previews(callback_kwargs["latents"], request.model.family)
        hooks.on_progress(StepProgress(step=step, total_steps=total, previews=previews))
        if hooks.should_cancel():
            raise GenerationCancelled("Cancelled by the user.")
        return callback_kwargs

    return on_step_end


def max_pixel_difference(first: np.ndarray, second: np.ndarray) -> float:
    return float(np.abs(np.asarray(first, dtype=np.float64) - np.asarray(second, dtype=np.float64)).max())
