"""The scheduler on the real stack: first in, first out against fair share with model affinity.

Two Celery workers, each holding one pipeline at a time (DEEPIMAGE_MAX_PIPELINES=1, as a GPU
that fits one SDXL), the trained demo model and a second tiny model. Four people submit 10
jobs each at once, in the order a busy afternoon gives: all of ann's, then ben's, cat's and
dan's, each person's jobs alternating between the two models. The same 40 jobs run once
under each policy, on a fresh pair of workers. Printed, per policy, from the database's own
records (queued_at, each attempt's worker and start, finished_at):

- pipeline loads (a worker loads when its job's model differs from the one it ran before),
- the worst number of other people's jobs started ahead of a job after it was queued,
- p50 / p95 from submit to start, and the total time.

    python bench/scheduler.py [--jobs 10] [--steps 4] [--size 128]
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
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")

PEOPLE = ("ann", "ben", "cat", "dan")


def prepare():
    """Migrate, register the demo model and a second tiny model, make the four people."""
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
    call_command("create_demo_model", verbosity=0)
    from django.conf import settings
    from django.contrib.auth import get_user_model

    from generation.engine.tiny import save_tiny_sd15_model
    from generation.models import ModelEntry
    from studio.models import Membership
    from studio.services import membership_set, project_create

    demo = ModelEntry.objects.get(enabled=True, kind=ModelEntry.Kind.BASE)
    tiny = ModelEntry.objects.create(
        name="Tiny second model", family="sd15", source=str(save_tiny_sd15_model(settings.DATA_DIR / "tiny-second"))
    )
    users = [get_user_model().objects.create_user(name, password="bench-password") for name in PEOPLE]
    project = project_create(name="Benchmark", owner=users[0])
    for user in users[1:]:
        membership_set(project=project, user=user, role=Membership.Role.EDITOR)
    return users, project, (demo, tiny)


def run_policy(policy: str, users, project, models, args) -> dict:
    from django.conf import settings

    from deepimage_site import stack
    from generation import submission
    from generation.models import GenerationAttempt, GenerationSession

    GenerationSession.objects.all().delete()
    # Two CPU workers stand in for two GPUs: one core and one torch thread each, so that they
    # do not fight over the cores (two processes spinning two threads each on two cores stall).
    env = dict(os.environ, DEEPIMAGE_SCHEDULER=policy, DEEPIMAGE_MAX_PIPELINES="1", OMP_NUM_THREADS="1")
    processes = []
    try:
        if settings.REDIS_IS_EMBEDDED:
            processes.append(stack.start_embedded_redis(settings.EMBEDDED_REDIS_SOCKET))
        with open(settings.DATA_DIR / f"workers-{policy}.log", "w") as log:
            for number in range(2):
                processes.append(stack.start_worker(env, name=f"gpu{number}@bench", stdout=log, stderr=log))
        wait_for_workers(2)
        started = time.time()
        for user in users:
            for number in range(args.jobs):
                submission.generation_submit(
                    user=user, project=project, model_id=models[number % 2].id, prompt="a red circle",
                    steps=args.steps, width=args.size, height=args.size, num_images=1, seed=number,
                )  # fmt: skip
        total = args.jobs * len(users)
        while GenerationSession.objects.filter(finished_at__isnull=False).count() < total:
            time.sleep(0.2)
        elapsed = time.time() - started
    finally:
        for process in reversed(processes):
            stack.stop(process)
    sessions = list(GenerationSession.objects.select_related("created_by"))
    assert {session.status for session in sessions} == {"succeeded"}, {session.error_message for session in sessions}
    attempts = list(GenerationAttempt.objects.select_related("session").order_by("started_at", "id"))
    return {
        "loads": loads(attempts),
        "ahead": worst_ahead(sessions),
        "first ahead": worst_ahead(sessions, first_only=True),
        "waits": waits(sessions),
        "total": elapsed,
    }


def wait_for_workers(count: int) -> None:
    from generation.models import Worker

    deadline = time.monotonic() + 120
    while Worker.objects.filter(name__endswith="@bench", state="idle").count() < count:
        if time.monotonic() > deadline:
            raise TimeoutError("the workers did not register")
        time.sleep(0.2)


def loads(attempts) -> int:
    held: dict[str, int] = {}
    count = 0
    for attempt in attempts:
        if held.get(attempt.worker) != attempt.session.model_id:
            held[attempt.worker] = attempt.session.model_id
            count += 1
    return count


def worst_ahead(sessions, first_only: bool = False) -> int:
    """The most of other people's jobs that started after a job was queued and before it
    (over every job, or over each person's first job)."""
    if first_only:
        firsts: dict = {}
        for session in sorted(sessions, key=lambda session: (session.queued_at, session.id)):
            firsts.setdefault(session.created_by_id, session)
        judged = list(firsts.values())
    else:
        judged = sessions
    return max(
        sum(
            1
            for other in sessions
            if other.created_by_id != session.created_by_id
            and session.queued_at < other.started_at < session.started_at
        )
        for session in judged
    )


def waits(sessions) -> list[float]:
    return sorted((session.started_at - session.queued_at).total_seconds() for session in sessions)


def percentile(values: list[float], fraction: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[round(fraction * 100) - 1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=10, help="jobs per person")
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--size", type=int, default=128)
    args = parser.parse_args()
    users, project, models = prepare()
    results = {policy: run_policy(policy, users, project, models, args) for policy in ("fifo", "fair")}

    print(f"\n{len(PEOPLE)} people × {args.jobs} jobs, 2 workers (one pipeline each), 2 models, {args.steps} steps")
    print(f"at {args.size}², submitted at once (all of ann's first):")
    print(f"  {'':44} {'first in first out':>20} {'fair + affinity':>16}")
    rows = [
        ("pipeline loads", lambda r: f"{r['loads']}"),
        ("worst other people's jobs started ahead", lambda r: f"{r['ahead']}"),
        ("  … ahead of a person's first job", lambda r: f"{r['first ahead']}"),
        ("submit → start, p50", lambda r: f"{statistics.median(r['waits']):.2f} s"),
        ("submit → start, p95", lambda r: f"{percentile(r['waits'], 0.95):.2f} s"),
        ("total", lambda r: f"{r['total']:.2f} s"),
    ]
    for label, cell in rows:
        print(f"  {label:44} {cell(results['fifo']):>20} {cell(results['fair']):>16}")


if __name__ == "__main__":
    main()
