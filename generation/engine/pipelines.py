"""Load base pipelines once per process and keep them under a memory budget.

One cached entry per base model holds the text-to-image pipeline, the pipelines of the
other modes built from it with `from_pipe` (same weight tensors, no copy), and the
adapters loaded into it. Least recently used entries are evicted first.
"""

import functools
import logging
import threading
import time
from collections import OrderedDict
from pathlib import Path

import torch

from . import adapters as adapter_loading
from .families import pipeline_class
from .hashing import source_hash
from .requests import AdapterSpec, GenerationError, ModelSpec, WeightsError
from .samplers import make_scheduler

logger = logging.getLogger(__name__)
GIB = 1024**3


def default_device() -> str:
    return "cuda" if torch.cuda.is_available() else "cpu"


DTYPES = {"fp16": torch.float16, "bf16": torch.bfloat16, "fp32": torch.float32}


def default_dtype(device: str, name: str = "fp16") -> torch.dtype:
    """fp32 on CPU (half precision is slow or missing there); `name` (fp16, bf16, fp32) on a GPU."""
    if name not in DTYPES:
        raise ValueError(f"Unknown dtype {name!r}; choose one of {', '.join(DTYPES)}.")
    return torch.float32 if device == "cpu" else DTYPES[name]


def module_bytes(pipeline) -> int:
    """The bytes held by a pipeline's weights and buffers."""
    total = 0
    for component in pipeline.components.values():
        if isinstance(component, torch.nn.Module):
            tensors = [*component.parameters(), *component.buffers()]
            total += sum(tensor.numel() * tensor.element_size() for tensor in tensors)
    return total


def expose_text_model(pipeline) -> None:
    """diffusers 0.42's SD clip skip reads `text_encoder.text_model.final_layer_norm`, a
    level transformers 5 removed from CLIPTextModel. Point it back at the encoder itself,
    outside the module registry so state dicts and adapters see no cycle."""
    encoder = getattr(pipeline, "text_encoder", None)
    if encoder is not None and not hasattr(encoder, "text_model") and hasattr(encoder, "final_layer_norm"):
        object.__setattr__(encoder, "text_model", encoder)


class LoadedModel:
    """A base model in memory: its pipelines per mode, its samplers and its adapters."""

    def __init__(self, spec: ModelSpec, pipeline):
        self.spec = spec
        self.pipeline = pipeline
        self.base_scheduler_config = dict(pipeline.scheduler.config)
        self.size_bytes = module_bytes(pipeline)
        self.is_inpainting_model = pipeline.unet.config.in_channels == 9
        self._mode_pipelines = {"text_to_image": pipeline}
        self._schedulers = {"": pipeline.scheduler}
        self._adapter_names: dict[AdapterSpec, str] = {}
        self._adapter_hashes: dict[str, str] = {}

    def for_mode(self, mode: str):
        """The pipeline for `mode`, sharing every component with the base one."""
        key = mode if mode in ("text_to_image", "inpaint") else "image_to_image"
        if key not in self._mode_pipelines:
            derived = pipeline_class(self.spec.family, key).from_pipe(self.pipeline)
            derived.set_progress_bar_config(disable=True)
            self._mode_pipelines[key] = derived
        return self._mode_pipelines[key]

    def scheduler_for(self, sampler: str):
        """One scheduler object per sampler, reused: jobs run one at a time and each call
        resets the scheduler's timesteps."""
        if sampler not in self._schedulers:
            self._schedulers[sampler] = make_scheduler(sampler, self.base_scheduler_config)
        return self._schedulers[sampler]

    def adapter_names(self, specs: tuple[AdapterSpec, ...]) -> list[str]:
        """Names of the adapters for `specs`, loading those not loaded yet (weight aside)."""
        names = []
        for spec in specs:
            key = AdapterSpec(source=spec.source, rank=spec.rank)
            if key not in self._adapter_names:
                name = f"lora_{len(self._adapter_names) + 1}"
                started = time.perf_counter()
                adapter_loading.load_adapter(self.pipeline, spec, name)
                self._adapter_hashes[spec.source] = source_hash(str(adapter_loading.adapter_file(spec.source)))
                logger.info("Loaded adapter %s as %s in %.3fs", spec.source, name, time.perf_counter() - started)
                self._adapter_names[key] = name
            names.append(self._adapter_names[key])
        return names

    @property
    def loaded_adapters(self) -> int:
        return len(self._adapter_names)

    def adapter_hash(self, source: str) -> str:
        return self._adapter_hashes[source]

    @functools.cached_property
    def model_hash(self) -> str:
        # Once per loaded model: these weights stay in memory whatever happens to the files.
        return source_hash(self.spec.source)


class PipelineCache:
    """Loaded models keyed by ModelSpec, evicted least recently used first when a new one
    would exceed `memory_budget` bytes or `max_pipelines` entries.

    A pipeline is not thread-safe; a worker process runs one job at a time, and the lock
    only guards the cache's own bookkeeping.
    """

    def __init__(
        self,
        max_pipelines: int = 2,
        device: str | None = None,
        memory_budget: int | None = None,
        dtype: str = "fp16",
    ):
        self.max_pipelines = max(1, max_pipelines)
        self.device = device or default_device()
        self.dtype = default_dtype(self.device, dtype)
        self.memory_budget = memory_budget or self._default_budget()
        self.loads = 0
        self._models: OrderedDict[ModelSpec, LoadedModel] = OrderedDict()
        self._lock = threading.Lock()

    def _default_budget(self) -> int | None:
        if self.device.startswith("cuda"):
            # Leave room for activations: a 1024² SDXL batch needs a few GiB beyond the weights.
            return int(torch.cuda.get_device_properties(self.device).total_memory * 0.7)
        return None

    def get(self, spec: ModelSpec) -> LoadedModel:
        """Return the loaded model for `spec`, loading it on first use."""
        with self._lock:
            if spec in self._models:
                self._models.move_to_end(spec)
                return self._models[spec]
            model = LoadedModel(spec, self._load(spec))
            self._make_room(model)
            if self.device != "cpu":  # loaded on the CPU already
                model.pipeline.to(self.device)
            if self.device.startswith("cuda"):
                model.pipeline.unet.to(memory_format=torch.channels_last)
            self._models[spec] = model
            return model

    def __contains__(self, spec: ModelSpec) -> bool:
        return spec in self._models

    def loaded_specs(self) -> list[ModelSpec]:
        """The models held now, least recently used first. Lock-free on purpose: the worker's
        heartbeat asks while a load holds the lock for seconds (copying the C-implemented
        OrderedDict's keys runs no Python code, so the GIL makes it atomic)."""
        return list(tuple(self._models))

    @property
    def used_bytes(self) -> int:
        return sum(model.size_bytes for model in self._models.values())

    def _make_room(self, model: LoadedModel) -> None:
        if self.memory_budget is not None and model.size_bytes > self.memory_budget:
            raise GenerationError(
                f"The model needs {model.size_bytes / GIB:.2f} GiB but this worker's memory budget is "
                f"{self.memory_budget / GIB:.2f} GiB (DEEPIMAGE_MEMORY_BUDGET_MB)."
            )
        while self._models and (
            len(self._models) >= self.max_pipelines
            or (self.memory_budget is not None and self.used_bytes + model.size_bytes > self.memory_budget)
        ):
            evicted, _ = self._models.popitem(last=False)
            logger.info("Evicted %s to make room for %s", evicted.source, model.spec.source)
        if self.device.startswith("cuda"):
            torch.cuda.empty_cache()

    def _load(self, spec: ModelSpec):
        started = time.perf_counter()
        pipeline_type = pipeline_class(spec.family, "text_to_image")
        options = {"torch_dtype": self.dtype}
        if spec.source.endswith(".ckpt") and not spec.allow_pickle:
            raise GenerationError(
                f"{Path(spec.source).name} is a pickle checkpoint, which can run code when loaded; "
                "convert it to .safetensors, or let an admin allow pickle for this entry."
            )
        if not pipeline_type.__name__.startswith("StableDiffusionXL"):
            options |= {"safety_checker": None, "requires_safety_checker": False}
        try:
            if spec.is_single_file:
                pipeline = pipeline_type.from_single_file(spec.source, config=spec.config or None, **options)
            else:
                # Without allow_pickle a folder holding only pickle (.bin) weights is refused.
                safe_only = {} if spec.allow_pickle else {"use_safetensors": True}
                pinned = {"revision": spec.revision} if spec.revision else {}
                pipeline = pipeline_type.from_pretrained(spec.source, **options, **safe_only, **pinned)
        except (OSError, ValueError, KeyError, RuntimeError) as error:
            hint = " Single-file checkpoints need a config folder." if spec.is_single_file and not spec.config else ""
            raise WeightsError(f"Could not load model from {spec.source!r}: {error}.{hint}") from error
        pipeline.set_progress_bar_config(disable=True)
        expose_text_model(pipeline)
        self.loads += 1
        logger.info("Loaded %s in %.2fs", spec.source, time.perf_counter() - started)
        return pipeline
