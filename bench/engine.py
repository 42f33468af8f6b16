"""The engine's cost over raw diffusers, and what caching buys: one run, ratios from it.

Builds a tiny random-weight SD 1.5 pipeline (and, on a GPU, a full-size SD 1.5 UNet with
random weights in fp16), then times in this one process:

  * engine job / raw diffusers call for the same work (goal ≤ 1.03)
  * unmerged LoRA job / job without adapters (goal on GPU ≤ 1.05)
  * adapter switch (set_adapters) / pipeline reload
  * mode switch (text-to-image → image-to-image on the cached components) / pipeline reload

    python bench/engine.py [--runs 5] [--steps 20] [--images 4] [--size 256] [--full-size]
"""

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch  # noqa: E402

from generation.engine import AdapterSpec, Engine, GenerationRequest, ModelSpec, PipelineCache  # noqa: E402
from generation.engine.adapters import activate_adapters  # noqa: E402
from generation.engine.previews import latents_to_previews  # noqa: E402
from generation.engine.run import call_arguments  # noqa: E402
from generation.engine.tiny import build_tiny_pipeline, save_tiny_adapter, save_tiny_model  # noqa: E402


def median_seconds(action, runs: int) -> float:
    timings = []
    for _ in range(runs):
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        started = time.perf_counter()
        action()
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        timings.append(time.perf_counter() - started)
    return statistics.median(timings)


def full_size_sd15(folder: Path) -> Path:
    """SD 1.5's real UNet shape (860M parameters) with random weights, around the tiny VAE/CLIP."""
    from diffusers import UNet2DConditionModel

    pipeline = build_tiny_pipeline("sd15")
    pipeline.unet = UNet2DConditionModel(cross_attention_dim=pipeline.text_encoder.config.hidden_size)
    pipeline.register_modules(unet=pipeline.unet)
    pipeline.save_pretrained(folder, safe_serialization=True)
    return folder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--images", type=int, default=4)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--full-size", action="store_true", help="SD 1.5-sized UNet (meant for a GPU)")
    options = parser.parse_args()

    scratch = Path(tempfile.mkdtemp(prefix="deepimage-bench-"))
    folder = full_size_sd15(scratch / "model") if options.full_size else save_tiny_model(scratch / "model")
    adapter_file = save_tiny_adapter(scratch / "lora.safetensors", build_tiny_pipeline("sd15"), "lora")
    second_adapter = save_tiny_adapter(scratch / "loha.safetensors", build_tiny_pipeline("sd15"), "loha")

    engine = Engine(PipelineCache())
    request = GenerationRequest(
        model=ModelSpec(source=str(folder)),
        prompt="a lighthouse on a cliff at dusk",
        seed=1,
        steps=options.steps,
        width=options.size,
        height=options.size,
        num_images=options.images,
        sampler="Euler",
    )
    with_adapter = GenerationRequest(**{**request.__dict__, "adapters": (AdapterSpec(str(adapter_file), 0.8),)})
    loaded = engine.load(request.model)
    engine.generate(request)  # warm-up: first call allocates
    engine.generate(with_adapter)
    engine.generate(GenerationRequest(**{**request.__dict__, "adapters": (AdapterSpec(str(second_adapter)),)}))
    pipeline = loaded.pipeline

    def raw_call():
        arguments = call_arguments(pipeline, request, None)
        for engine_only in ("callback_on_step_end", "callback_on_step_end_tensor_inputs"):
            arguments.pop(engine_only)
        pipeline.scheduler = loaded.scheduler_for("Euler")
        activate_adapters(pipeline, [], [])
        pipeline(**arguments)

    # Interleave so drift on a shared machine hits both sides alike.
    engine_times, raw_times, adapter_times = [], [], []
    for _ in range(options.runs):
        engine_times.append(median_seconds(lambda: engine.generate(request), 1))
        raw_times.append(median_seconds(raw_call, 1))
        adapter_times.append(median_seconds(lambda: engine.generate(with_adapter), 1))
    job, raw, adapted = (statistics.median(t) for t in (engine_times, raw_times, adapter_times))

    switch = (
        median_seconds(lambda: activate_adapters(pipeline, ["lora_1"], [0.8]), 20) / 2
        + median_seconds(lambda: activate_adapters(pipeline, ["lora_2"], [1.0]), 20) / 2
    )
    reload = median_seconds(lambda: Engine(PipelineCache()).load(request.model), 3)
    mode_first = median_seconds(
        lambda: loaded._mode_pipelines.pop("image_to_image", None) or loaded.for_mode("upscale"), 5
    )
    mode_cached = median_seconds(lambda: loaded.for_mode("image_to_image"), 20)

    # Live previews vs what a VAE decode of the same batch would cost (SD 1.5's 512² latents).
    latents = torch.randn(options.images, 4, 64, 64, device=pipeline.device, dtype=pipeline.vae.dtype)
    preview = median_seconds(lambda: latents_to_previews(latents, "sd15"), 5)
    with torch.inference_mode():
        decode = median_seconds(lambda: pipeline.vae.decode(latents / pipeline.vae.config.scaling_factor), 3)

    device = torch.cuda.get_device_name() if torch.cuda.is_available() else f"CPU, {torch.get_num_threads()} threads"
    model = "SD 1.5-size UNet, random weights" if options.full_size else "tiny SD 1.5, random weights"
    print(f"{model} on {device}: {options.images} images × {options.steps} steps at {options.size}², Euler")
    print(f"  engine job            {job:8.3f} s")
    print(f"  raw diffusers call    {raw:8.3f} s   ratio {job / raw:.3f}  (goal ≤ 1.03)")
    print(f"  job with 1 LoRA       {adapted:8.3f} s   ratio {adapted / job:.3f}  (unmerged adapter cost)")
    print(f"  adapter switch        {switch * 1000:8.2f} ms")
    print(f"  pipeline reload       {reload * 1000:8.1f} ms  switch/reload {switch / reload:.4f}")
    print(f"  mode switch, first    {mode_first * 1000:8.2f} ms  /reload {mode_first / reload:.4f}  (from_pipe)")
    print(f"  mode switch, cached   {mode_cached * 1000:8.4f} ms")
    print(f"  live previews (4×64²) {preview * 1000:8.2f} ms  vs this model's VAE decode {decode * 1000:.1f} ms")


if __name__ == "__main__":
    main()
