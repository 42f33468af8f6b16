"""File hashes recorded with every image, so a result can be traced to exact weights.

A single file gets A1111's "AutoV2" hash (the first 10 hex digits of its sha256), which
is what other tools show and search by. A diffusers folder gets the same short form of a
sha256 over its weight files in path order. Hashes are computed once per process and
file version: a multi-gigabyte checkpoint takes seconds to read.
"""

import functools
import hashlib
from pathlib import Path

WEIGHT_SUFFIXES = (".safetensors", ".bin", ".ckpt", ".pt", ".pth")
SHORT = 10


def source_hash(source: str) -> str:
    """The short hash of a file or diffusers folder; for a hub id, of its cached snapshot."""
    path = Path(source)
    if not path.exists():
        path = _cached_snapshot(source)
        if path is None:
            return ""
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.suffix in WEIGHT_SUFFIXES)
    stamps = tuple((str(p), p.stat().st_size, p.stat().st_mtime_ns) for p in files)
    return _hash_files(stamps)


@functools.lru_cache(maxsize=256)
def _hash_files(stamps: tuple[tuple[str, int, int], ...]) -> str:
    if len(stamps) == 1:
        return _file_sha256(stamps[0][0])[:SHORT]
    combined = hashlib.sha256()
    for path, _size, _mtime in stamps:
        combined.update(_file_sha256(path).encode())
    return combined.hexdigest()[:SHORT]


def _file_sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(8 * 1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


def _cached_snapshot(repo_id: str) -> Path | None:
    try:
        from huggingface_hub import snapshot_download

        return Path(snapshot_download(repo_id, local_files_only=True))
    except Exception:  # noqa: BLE001 - not cached or not a hub id: nothing to hash
        return None
