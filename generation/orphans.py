"""Files in storage that no row references (left by a crash between a write and its commit,
or by a delete whose storage call failed), found and removed by `manage.py purge_orphan_files`.

A file younger than `min_age` is never an orphan: it may belong to a transaction that has not
committed yet (a worker stores a job's PNGs before it marks the job succeeded)."""

import logging
from collections.abc import Iterator
from datetime import timedelta

from django.core.files.storage import Storage, default_storage
from django.utils import timezone

from .models import GeneratedImage, GenerationSession, ModelEntry

logger = logging.getLogger(__name__)


def stored_names(storage: Storage, folder: str = "") -> Iterator[str]:
    """Every file under `folder`, as storage names ("a/b.png"), through the storage's own listdir."""
    folders, files = storage.listdir(folder)
    for name in files:
        yield f"{folder}/{name}" if folder else name
    for child in folders:
        yield from stored_names(storage, f"{folder}/{child}" if folder else child)


def referenced_names() -> set[str]:
    names = set(GeneratedImage.objects.values_list("file", flat=True))
    names.update(GenerationSession.objects.values_list("init_image", flat=True))
    names.update(GenerationSession.objects.values_list("mask_image", flat=True))
    names.update(ModelEntry.objects.values_list("preview", flat=True))
    return {name for name in names if name}


def orphan_files(storage: Storage = default_storage, min_age: timedelta = timedelta(hours=1)) -> list[str]:
    referenced, cutoff = referenced_names(), timezone.now() - min_age
    return sorted(
        name for name in stored_names(storage) if name not in referenced and storage.get_modified_time(name) < cutoff
    )


def purge_orphan_files(names: list[str], storage: Storage = default_storage) -> tuple[int, list[str]]:
    """Delete each file on its own; one that fails is logged and the rest still go.
    Returns (deleted, the names that failed)."""
    deleted, failed = 0, []
    for name in names:
        try:
            storage.delete(name)
            deleted += 1
        except Exception:  # noqa: BLE001 - storages raise their own kinds; log and go on
            logger.exception("Could not delete orphan file %s", name)
            failed.append(name)
    return deleted, failed
