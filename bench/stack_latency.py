"""Submit → done through the whole stack, next to the same diffusers call made directly.

Builds the demo model in a scratch data folder, starts the real stack (embedded Redis unless
REDIS_URL is set, one Celery worker that preloads the model, Daphne), submits 4 images × 20
steps through the HTTP API, follows the websocket until `done`, then times the identical
pipeline call in this process. Prints one table, the ratio being the stack's overhead on this
machine, and where a job's time went: submit → claim, the steps, the store, the last event.

    python bench/stack_latency.py [--runs 3] [--steps 20] [--images 4] [--size 256]
"""

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DEEPIMAGE_DATA_DIR", tempfile.mkdtemp(prefix="deepimage-bench-"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "deepimage_site.settings")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("DEBUG", "false")


def prepare_database() -> tuple[str, int, int]:
    """Migrate, build and register the demo model, make a user with a token and a project."""
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
    call_command("create_demo_model", verbosity=0)
    from django.contrib.auth import get_user_model
    from rest_framework.authtoken.models import Token

    from generation.models import ModelEntry
    from studio.services import project_create

    user = get_user_model().objects.create_user("bench", password="bench-password")
    project = project_create(name="Benchmark", owner=user)
    demo = ModelEntry.objects.get(enabled=True, kind=ModelEntry.Kind.BASE)
    return Token.objects.create(user=user).key, project.id, demo.id


def time_through_stack(address, token, project_id, model_id, args) -> list[float]:
    from tests.livestack import StackClient

    client = StackClient(address, token)
    payload = {
        "model": model_id,
        "prompt": "a lighthouse at dusk",
        "steps": args.steps,
        "num_images": args.images,
        "width": args.size,
        "height": args.size,
        "seed": 1,
    }
    timings, parts = [], []
    for _ in range(args.runs + 1):  # the first run on a worker that preloaded the model
        started, posted = time.perf_counter(), time.time()
        status, session = client.request("POST", f"/api/v1/projects/{project_id}/generations/", payload)
        assert status == 201, session
        arrivals: list[float] = []
        events = client.events_until_finished(session["id"], arrivals=arrivals)
        timings.append(time.perf_counter() - started)
        assert events[-1]["type"] == "done", events[-1]
        parts.append(breakdown(session["id"], posted, events, arrivals))
    return timings, parts


def breakdown(session_id: int, posted: float, events: list[dict], arrivals: list[float]) -> dict:
    """Where one job's time went, from the row's own timestamps and when each event arrived."""
    from generation.models import GenerationSession

    row = GenerationSession.objects.get(pk=session_id)
    last_step = max(arrival for event, arrival in zip(events, arrivals, strict=True) if event["type"] == "progress")
    queued, started, finished = (moment.timestamp() for moment in (row.queued_at, row.started_at, row.finished_at))
    return {
        "submit (HTTP) → row committed": queued - posted,
        "row committed → claimed by the worker": started - queued,
        "claimed → last step's event": last_step - started,
        "last step → decoded, PNGs stored, succeeded": finished - last_step,
        "succeeded → `done` at the client": arrivals[-1] - finished,
    }


def wait_for_worker(name: str) -> None:
    """Until the worker has registered and preloaded the model (its heartbeat says so)."""
    from generation.models import Worker

    deadline = time.monotonic() + 120
    while not Worker.objects.filter(name=name).exclude(loaded_models=[]).exists():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{name} did not preload the model")
        time.sleep(0.1)


def time_direct(model_folder: Path, args) -> list[float]:
    import torch
    from diffusers import StableDiffusionPipeline

    pipeline = StableDiffusionPipeline.from_pretrained(model_folder, safety_checker=None)
    pipeline.set_progress_bar_config(disable=True)
    timings = []
    for _ in range(args.runs + 1):
        started = time.perf_counter()
        generators = [torch.Generator("cpu").manual_seed(1 + k) for k in range(args.images)]
        with torch.inference_mode():
            pipeline(
                "a lighthouse at dusk",
                num_inference_steps=args.steps,
                num_images_per_prompt=args.images,
                width=args.size,
                height=args.size,
                generator=generators,
            )
        timings.append(time.perf_counter() - started)
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--images", type=int, default=4)
    parser.add_argument("--size", type=int, default=256)
    args = parser.parse_args()

    token, project_id, model_id = prepare_database()
    from django.conf import settings

    from deepimage_site import stack

    processes = []
    try:
        if settings.REDIS_IS_EMBEDDED:
            processes.append(stack.start_embedded_redis(settings.EMBEDDED_REDIS_SOCKET))
        port = stack.free_port()
        worker_env = dict(os.environ, DEEPIMAGE_PRELOAD_MODELS=str(model_id))
        with open(settings.DATA_DIR / "worker.log", "w") as log:
            processes.append(stack.start_worker(worker_env, name="gpu0@bench", stdout=log, stderr=log))
        wait_for_worker("gpu0@bench")
        processes.append(stack.start_daphne(dict(os.environ), "127.0.0.1", port))
        through_stack, parts = time_through_stack(f"127.0.0.1:{port}", token, project_id, model_id, args)
    finally:
        for process in reversed(processes):
            stack.stop(process)
    direct = time_direct(settings.BASE_DIR / "models" / "demo-shapes", args)

    stack_median, direct_median = statistics.median(through_stack[1:]), statistics.median(direct[1:])
    overhead, ratio = stack_median - direct_median, stack_median / direct_median
    print(f"\nDemo model, {args.images} images × {args.steps} steps at {args.size}², median of {args.runs} warm runs")
    print(f"  submit → done through the stack : {stack_median:7.3f} s")
    print(f"  first run (model preloaded)     : {through_stack[0]:7.3f} s")
    print(f"  same pipeline call, in Python   : {direct_median:7.3f} s")
    print(f"  stack overhead                  : {overhead:+7.3f} s  (ratio {ratio:.3f})")
    print("Where a warm run's time went (median of the warm runs):")
    for part in parts[1]:
        print(f"  {part:42}: {statistics.median(run[part] for run in parts[1:]):7.3f} s")


if __name__ == "__main__":
    main()
