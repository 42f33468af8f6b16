"""Text-to-image on a cached pipeline: one batched call, one seeded generator per image."""

import torch

from .requests import (
    GeneratedPicture,
    GenerationCancelled,
    GenerationResult,
    JobHooks,
    StepProgress,
    TextToImageRequest,
)


def step_callback(hooks: JobHooks):
    """Build diffusers' `callback_on_step_end`: report the step, stop if asked to."""

    def on_step_end(pipeline, step_index, timestep, callback_kwargs):
        # num_timesteps is the true total in every mode (PNDM runs one step more than asked).
        hooks.on_progress(StepProgress(step=step_index + 1, total_steps=pipeline.num_timesteps))
        if hooks.should_cancel():
            raise GenerationCancelled("Cancelled by the user.")
        return callback_kwargs

    return on_step_end


def run_text_to_image(pipeline, request: TextToImageRequest, hooks: JobHooks) -> GenerationResult:
    # CPU generators give the same noise whatever device the pipeline runs on.
    generators = [torch.Generator("cpu").manual_seed(seed) for seed in request.image_seeds()]
    with torch.inference_mode():
        output = pipeline(
            prompt=request.prompt,
            negative_prompt=request.negative_prompt or None,
            num_inference_steps=request.steps,
            guidance_scale=request.guidance_scale,
            width=request.width,
            height=request.height,
            num_images_per_prompt=request.num_images,
            generator=generators,
            callback_on_step_end=step_callback(hooks),
        )
    pictures = [
        GeneratedPicture(image=image, seed=seed, index=index)
        for index, (image, seed) in enumerate(zip(output.images, request.image_seeds(), strict=True))
    ]
    return GenerationResult(pictures=pictures, sampler=type(pipeline.scheduler).__name__)
