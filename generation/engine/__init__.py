"""The diffusers engine: plain Python objects in, images and progress out.

Nothing in this package imports Django, so it runs and is tested on its own.
"""

from dataclasses import replace

import torch

from .pipelines import LoadedModel, PipelineCache
from .requests import (
    FAMILIES,
    MODES,
    RESIZE_MODES,
    AdapterSpec,
    GeneratedPicture,
    GenerationCancelled,
    GenerationError,
    GenerationRequest,
    GenerationResult,
    InvalidRequest,
    JobHooks,
    ModelSpec,
    StepProgress,
    WeightsError,
)
from .run import (
    call_arguments,
    check_model_fits,
    check_request,
    generate_images,
    max_pixel_difference,
    prepare_pipeline,
)

__all__ = [
    "FAMILIES",
    "MODES",
    "RESIZE_MODES",
    "AdapterSpec",
    "Engine",
    "GeneratedPicture",
    "GenerationCancelled",
    "GenerationError",
    "GenerationRequest",
    "GenerationResult",
    "InvalidRequest",
    "JobHooks",
    "ModelSpec",
    "PipelineCache",
    "StepProgress",
    "WeightsError",
    "check_request",
]


class Engine:
    """One per worker process: owns the pipeline cache and runs one job at a time."""

    def __init__(self, cache: PipelineCache | None = None):
        self.cache = cache or PipelineCache()

    def generate(self, request: GenerationRequest, hooks: JobHooks | None = None) -> GenerationResult:
        """Run `request` in its mode; raises GenerationError with a readable message."""
        check_request(request)
        return generate_images(self.cache.get(request.model), request, hooks or JobHooks())

    def load(self, spec: ModelSpec) -> LoadedModel:
        """Load a model (and nothing else): the admin's "test load"."""
        return self.cache.get(spec)

    def verify_adapters(self, request: GenerationRequest) -> float:
        """Largest pixel difference (0–1 scale) between the request's adapters applied
        unmerged and the same adapters fused into the weights. The fusion is undone."""
        if not request.adapters:
            raise InvalidRequest("adapters", "Name at least one adapter to verify.")
        check_request(request)
        model = self.cache.get(request.model)
        check_model_fits(model, request)
        unmerged = self._raw_images(model, request)
        pipeline = model.pipeline
        names = model.adapter_names(request.adapters)
        pipeline.fuse_lora(adapter_names=names, lora_scale=1.0)
        try:
            fused = self._raw_images(model, request, reactivate=False)
        finally:
            pipeline.unfuse_lora()
        return max_pixel_difference(unmerged, fused)

    @staticmethod
    def _raw_images(model: LoadedModel, request: GenerationRequest, reactivate: bool = True):
        if reactivate:
            pipeline = prepare_pipeline(model, request)
        else:
            pipeline = model.for_mode(request.mode)
        quiet = replace(request, preview_every=0)
        with torch.inference_mode():
            return pipeline(**call_arguments(pipeline, quiet, JobHooks(), output_type="np")).images
