"""The diffusers engine: plain Python objects in, images and progress out.

Nothing in this package imports Django, so it runs and is tested on its own.
"""

from .pipelines import PipelineCache
from .requests import (
    FAMILIES,
    GeneratedPicture,
    GenerationCancelled,
    GenerationError,
    GenerationResult,
    JobHooks,
    ModelSpec,
    StepProgress,
    TextToImageRequest,
)
from .text_to_image import run_text_to_image

__all__ = [
    "FAMILIES",
    "Engine",
    "GeneratedPicture",
    "GenerationCancelled",
    "GenerationError",
    "GenerationResult",
    "JobHooks",
    "ModelSpec",
    "PipelineCache",
    "StepProgress",
    "TextToImageRequest",
]


class Engine:
    """One per worker process: owns the pipeline cache and runs one job at a time."""

    def __init__(self, cache: PipelineCache | None = None):
        self.cache = cache or PipelineCache()

    def text_to_image(self, request: TextToImageRequest, hooks: JobHooks | None = None) -> GenerationResult:
        """Generate `request.num_images` images; raises GenerationError with a readable message."""
        pipeline = self.cache.get(request.model)
        return run_text_to_image(pipeline, request, hooks or JobHooks())
