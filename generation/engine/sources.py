"""Does a catalog source exist? Checked when an entry is saved, long before a job loads it.
And which hub commit a cached hub id resolves to, for pinning it."""

import os
import re
from dataclasses import dataclass
from pathlib import Path

from .adapters import adapter_file, adapter_format, read_header
from .requests import GenerationError

HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")
SINGLE_FILE_SUFFIXES = (".safetensors", ".ckpt")


@dataclass(frozen=True)
class SourceProblem:
    field: str
    message: str


def source_problem(
    source: str, *, adapter: bool = False, config: str = "", hub_offline: bool = False
) -> SourceProblem | None:
    """Why `source` cannot be loaded, or None. Reads headers only, never weights; asks the
    Hugging Face hub about an uncached hub id unless `hub_offline`."""
    if adapter:
        return _adapter_problem(source)
    if source.endswith(SINGLE_FILE_SUFFIXES):
        if not Path(source).expanduser().is_file():
            return SourceProblem("source", f"No checkpoint file at {source}.")
        if not config:
            return SourceProblem("config", "A single-file checkpoint needs a config folder describing its parts.")
        return _folder_problem(config, "config", hub_offline)
    return _folder_problem(source, "source", hub_offline)


def _adapter_problem(source: str) -> SourceProblem | None:
    try:
        adapter_format(read_header(adapter_file(os.path.expanduser(source)))[0])
    except GenerationError as error:
        return SourceProblem("source", str(error))
    return None


def _folder_problem(source: str, field: str, hub_offline: bool) -> SourceProblem | None:
    path = Path(source).expanduser()
    if path.is_dir():
        if not (path / "model_index.json").is_file():
            return SourceProblem(field, f"{source} is a folder but not a diffusers model (no model_index.json).")
        return None
    if path.is_absolute() or source.startswith((".", "~")) or not HUB_ID.match(source):
        return SourceProblem(field, f"No model folder at {source}.")
    return _hub_problem(source, field, hub_offline)


def _hub_problem(repo_id: str, field: str, hub_offline: bool) -> SourceProblem | None:
    from huggingface_hub import try_to_load_from_cache

    if isinstance(try_to_load_from_cache(repo_id, "model_index.json"), str):
        return None
    if hub_offline:
        return SourceProblem(field, f"{repo_id} is not in this machine's Hugging Face cache, and the hub is offline.")
    from huggingface_hub import repo_exists

    try:
        if repo_exists(repo_id):
            return None
    except Exception as error:  # noqa: BLE001 - any network failure means "cannot confirm"
        return SourceProblem(field, f"Could not reach the Hugging Face hub to check {repo_id}: {error}")
    return SourceProblem(field, f"{repo_id} is not a model on the Hugging Face hub (or it is private).")


def hub_revision(source: str) -> str | None:
    """The commit a hub id's cached snapshot holds (what a load just read), or None for a
    local path or an uncached id. Never asks the hub."""
    if Path(source).expanduser().exists() or not HUB_ID.match(source):
        return None
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import LocalEntryNotFoundError

    try:
        snapshot = Path(snapshot_download(source, local_files_only=True))
    except (LocalEntryNotFoundError, OSError, ValueError):
        return None
    return snapshot.name if re.fullmatch(r"[0-9a-f]{40}", snapshot.name) else None
