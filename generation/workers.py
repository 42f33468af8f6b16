"""The worker registry: a GPU worker registers when it starts, heartbeats from a thread
(last seen, state, loaded models, current job, whose lease the beat renews), preloads the
models it is told to, and records that it stopped. A worker silent past the lease time is
shown as lost, and the reconciler puts its job back in the queue.
"""

import logging
import os
import socket
import threading

from django.conf import settings
from django.db import close_old_connections
from django.db.models import Q
from django.utils import timezone

from . import execution, queue
from .models import GenerationSession, ModelEntry, Worker

logger = logging.getLogger(__name__)
_beat_stop = threading.Event()


def heartbeat_seconds() -> float:
    return max(0.2, settings.DEEPIMAGE_JOB_LEASE_SECONDS / 4)


def worker_start(name: str) -> None:
    """A GPU worker is ready: register it, give back what its previous life held, load the
    preloaded models, start the heartbeat and look for waiting jobs."""
    now = timezone.now()
    Worker.objects.update_or_create(
        name=name,
        defaults={
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "device": execution.worker_engine().cache.device,
            "state": Worker.State.IDLE,
            "current_session": None,
            "loaded_models": [],
            "started_at": now,
            "last_seen": now,
            "jobs_done": 0,
        },
    )
    released = queue.queue_release_worker(name)
    if released:
        logger.warning("%s gave back %s job(s) its previous run was killed in", name, released)
    worker_preload(settings.DEEPIMAGE_PRELOAD_MODELS)
    worker_heartbeat(name)
    _beat_stop.clear()
    threading.Thread(target=beat_forever, args=(name,), name="heartbeat", daemon=True).start()
    queue.queue_wake(1)


def worker_preload(names: list[str]) -> None:
    """Load the catalog entries named (by name or id) so the first job does not wait."""
    for name in names:
        entry = (
            ModelEntry.objects.filter(Q(name=name) | Q(pk=int(name) if name.isdigit() else None))
            .filter(kind=ModelEntry.Kind.BASE)
            .first()
        )
        if entry is None:
            logger.warning("DEEPIMAGE_PRELOAD_MODELS: no base model called %r in the catalog", name)
            continue
        try:
            execution.worker_engine().load(entry.spec)
            logger.info("Preloaded %s", entry.name)
        except Exception:  # noqa: BLE001 - a model that fails to load is reported when used
            logger.exception("Could not preload %s", entry.name)


def loaded_model_ids() -> list[int]:
    held = execution.loaded_models()
    if not held:
        return []
    entries = ModelEntry.objects.filter(source__in=[source for source, _, _ in held])
    return sorted(entry.pk for entry in entries if (entry.source, entry.family, entry.config) in held)


def worker_heartbeat(name: str) -> None:
    """Say this worker is alive, what it holds and runs; renew the lease of its job."""
    now = timezone.now()
    current = execution.current_session_id()
    if execution.is_draining():
        state = Worker.State.STOPPING
    else:
        state = Worker.State.BUSY if current else Worker.State.IDLE
    Worker.objects.filter(name=name).update(
        last_seen=now, state=state, current_session_id=current, loaded_models=loaded_model_ids()
    )
    if current:
        GenerationSession.objects.filter(pk=current, status=GenerationSession.Status.RUNNING, worker=name).update(
            lease_expires_at=now + queue.lease_seconds()
        )


def beat_forever(name: str) -> None:
    while not _beat_stop.wait(heartbeat_seconds()):
        try:
            worker_heartbeat(name)
        except Exception:  # noqa: BLE001 - a database hiccup must not end the heartbeat
            logger.warning("Heartbeat of %s failed", name, exc_info=True)
        finally:
            close_old_connections()


def worker_stopped(name: str) -> None:
    _beat_stop.set()
    Worker.objects.filter(name=name).update(state=Worker.State.STOPPED, current_session=None, last_seen=timezone.now())
