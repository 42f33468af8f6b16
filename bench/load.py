"""A load test with a real HTTP client against the stack `make run` starts (its launcher,
`python -m deepimage_site.stack`, on a scratch data folder: embedded Redis, one worker, the
control worker, Daphne). 20 people each submit 10 small generations at once through the API;
each may have 8 jobs waiting (DEEPIMAGE_QUOTA_QUEUED_JOBS=8), and every tenth request asks for
more than the per-job cost cap, so some are refused. Then it waits for every accepted job and
checks: no 5xx, every accepted job succeeded, every refused one got its 429 or 400, and the
database and the stored files agree. Prints p50/p95 API latency and the counts.

    python bench/load.py [--people 20] [--jobs 10]
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DEEPIMAGE_DATA_DIR", tempfile.mkdtemp(prefix="deepimage-load-"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "deepimage_site.settings")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
os.environ["DEEPIMAGE_QUOTA_QUEUED_JOBS"] = "8"
os.environ["DEEPIMAGE_QUOTA_JOB_COST"] = str(128 * 128 * 4 * 4)


def prepare(people: int):
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from rest_framework.authtoken.models import Token

    from generation.engine.tiny import save_tiny_sd15_model
    from generation.models import ModelEntry
    from studio.models import Membership
    from studio.services import membership_set, project_create

    model = ModelEntry.objects.create(
        name="Tiny SD 1.5", family="sd15", source=str(save_tiny_sd15_model(settings.DATA_DIR / "tiny-sd15"))
    )
    users = [get_user_model().objects.create_user(f"person{number}") for number in range(people)]
    project = project_create(name="Load", owner=users[0])
    for user in users[1:]:
        membership_set(project=project, user=user, role=Membership.Role.EDITOR)
    return [Token.objects.create(user=user).key for user in users], project.id, model.id


def submit_all(address: str, tokens: list[str], project_id: int, model_id: int, jobs: int) -> list[tuple]:
    """Each person's jobs from their own thread, all released at once; (status, seconds, body)."""
    from tests.livestack import StackClient

    results: list[tuple] = []
    start = threading.Barrier(len(tokens))

    def person(token: str, number: int) -> None:
        client = StackClient(address, token)
        start.wait()
        for job in range(jobs):
            too_dear = (number * jobs + job) % 10 == 9
            payload = {"model": model_id, "prompt": f"a kite {job}", "steps": 2, "width": 128, "height": 128}
            payload["num_images"] = 4 if too_dear else 1
            payload["steps"] = 8 if too_dear else 2
            started = time.perf_counter()
            status, body = client.request("POST", f"/api/v1/projects/{project_id}/generations/", payload)
            results.append((status, time.perf_counter() - started, body, too_dear))

    threads = [threading.Thread(target=person, args=(token, number)) for number, token in enumerate(tokens)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=20)
    parser.add_argument("--jobs", type=int, default=10)
    args = parser.parse_args()
    tokens, project_id, model_id = prepare(args.people)
    from django.core.files.storage import default_storage

    from deepimage_site import stack
    from generation.models import GeneratedImage, GenerationSession
    from generation.orphans import referenced_names, stored_names

    port = stack.free_port()
    env = dict(os.environ, PORT=str(port), DEEPIMAGE_QUEUE=f"load-{port}", DEBUG="false")
    log = open(Path(os.environ["DEEPIMAGE_DATA_DIR"]) / "stack.log", "w")  # noqa: SIM115
    launcher = subprocess.Popen([sys.executable, "-m", "deepimage_site.stack"], env=env, stdout=log, stderr=log)
    try:
        stack.wait_until(lambda: stack.port_open("127.0.0.1", port), 90, "the stack", launcher)
        began = time.perf_counter()
        results = submit_all(f"127.0.0.1:{port}", tokens, project_id, model_id, args.jobs)
        submitted = time.perf_counter() - began
        accepted = [body["id"] for status, _, body, _ in results if status == 201]
        deadline = time.monotonic() + 1800
        while GenerationSession.objects.filter(pk__in=accepted, finished_at__isnull=True).exists():
            if time.monotonic() > deadline:
                raise TimeoutError("accepted jobs did not finish")
            time.sleep(0.5)
        drained = time.perf_counter() - began
    finally:
        launcher.send_signal(2)
        launcher.wait(120)
        log.close()

    statuses = Counter(status for status, *_ in results)
    latencies = sorted(seconds for _, seconds, *_ in results)
    wrong_refusals = [
        (status, too_dear) for status, _, _, too_dear in results if (status == 400) != too_dear or status >= 500
    ]
    outcomes = Counter(GenerationSession.objects.filter(pk__in=accepted).values_list("status", flat=True))
    images = GeneratedImage.objects.filter(session_id__in=accepted).count()
    stored = set(stored_names(default_storage))
    missing, orphans = referenced_names() - stored, stored - referenced_names()

    print(
        f"\n{args.people} people × {args.jobs} jobs through the API at once, one worker ({submitted:.1f} s to submit)"
    )
    print(f"  answers: {dict(sorted(statuses.items()))}")
    print("    (201 queued, 429 over the waiting-jobs limit, 400 over the cost cap)")
    print(f"  5xx: {sum(count for status, count in statuses.items() if status >= 500)}")
    print(f"  refusals that were not the expected 429/400: {len(wrong_refusals)}")
    p50, p95 = statistics.median(latencies), latencies[int(0.95 * len(latencies)) - 1]
    print(f"  API latency: p50 {p50 * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms")
    print(f"  accepted jobs finished: {dict(outcomes)} in {drained:.1f} s from the first request")
    print(f"  database and files agree: {images} images, {len(missing)} rows without a file,")
    print(f"    {len(orphans)} files without a row")
    print(f"  rows in the project: {GenerationSession.objects.count()} sessions (accepted: {len(accepted)})")


if __name__ == "__main__":
    main()
