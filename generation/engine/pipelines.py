"""Load base pipelines once per process and keep them, least recently used first out."""

import logging
import threading
import time
from collections import OrderedDict

import torch

from .requests import GenerationError, ModelSpec

logger = logging.getLogger(__name__)


def pipeline_class_for(family: str):
    from diffusers import StableDiffusionPipeline, StableDiffusionXLPipeline

    return StableDiffusionXLPipeline if family.startswith("sdxl") else StableDiffusionPipeline


def default_device() -> str:
    return "cuda" if torch.cuda.is_available() else "cpu"


class PipelineCache:
    """Keeps up to `max_pipelines` loaded pipelines, keyed by their ModelSpec.

    A pipeline is not thread-safe; a worker process runs one job at a time, and the
    lock only guards the cache's own bookkeeping.
    """

    def __init__(self, max_pipelines: int = 1, device: str | None = None):
        self.max_pipelines = max(1, max_pipelines)
        self.device = device or default_device()
        self.dtype = torch.float16 if self.device == "cuda" else torch.float32
        self.loads = 0
        self._pipelines: OrderedDict[ModelSpec, object] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, spec: ModelSpec):
        """Return the loaded pipeline for `spec`, loading it on first use."""
        with self._lock:
            if spec in self._pipelines:
                self._pipelines.move_to_end(spec)
                return self._pipelines[spec]
            while len(self._pipelines) >= self.max_pipelines:
                evicted, _ = self._pipelines.popitem(last=False)
                logger.info("Evicted pipeline %s", evicted.source)
            pipeline = self._load(spec)
            self._pipelines[spec] = pipeline
            return pipeline

    def __contains__(self, spec: ModelSpec) -> bool:
        return spec in self._pipelines

    def _load(self, spec: ModelSpec):
        started = time.perf_counter()
        try:
            pipeline = pipeline_class_for(spec.family).from_pretrained(
                spec.source, torch_dtype=self.dtype, safety_checker=None
            )
        except (OSError, ValueError) as error:
            raise GenerationError(f"Could not load model from {spec.source!r}: {error}") from error
        pipeline.set_progress_bar_config(disable=True)
        pipeline.to(self.device)
        self.loads += 1
        logger.info("Loaded %s in %.2fs", spec.source, time.perf_counter() - started)
        return pipeline
