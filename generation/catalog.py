"""Catalog maintenance on a worker: test loads of entries (pinning a hub id to the commit
they read) and adapter verification (unmerged against fused). The entries' own checks
(source exists, family matches) are on the ModelEntry model; what the picker offers is in
selectors."""

import logging
import time

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from .engine import AdapterSpec, GenerationError, GenerationRequest
from .engine.sources import hub_revision
from .execution import worker_engine
from .models import ModelEntry

logger = logging.getLogger(__name__)


def adapter_verify(entry: str, *, weight=1.0, seed=1234, steps=None, size=None) -> tuple[ModelEntry, float]:
    """Largest pixel difference between `entry` (an id or a name) applied unmerged and fused,
    on its base model. Raises ValueError when there is no such adapter or it cannot run."""
    adapters = ModelEntry.objects.filter(kind=ModelEntry.Kind.ADAPTER).select_related("base_model")
    adapter = adapters.filter(pk=int(entry)).first() if entry.isdigit() else adapters.filter(name=entry).first()
    if adapter is None or adapter.base_model is None:
        raise ValueError(f"No adapter {entry!r} with a base model in the catalog.")
    base = adapter.base_model
    request = GenerationRequest(
        model=base.spec,
        prompt="a lighthouse on a cliff at dusk",
        seed=seed,
        steps=steps or base.default_steps,
        guidance_scale=base.default_guidance_scale,
        guidance_end=base.default_guidance_end,
        width=size or base.default_width,
        height=size or base.default_height,
        sampler=base.default_sampler,
        adapters=(AdapterSpec(source=adapter.source, weight=weight, rank=adapter.adapter_rank),),
    )
    try:
        return adapter, worker_engine().verify_adapters(request)
    except GenerationError as error:
        raise ValueError(str(error)) from error


def catalog_request_test(entries) -> int:
    """Mark catalog entries as being tested and queue a load of each on a worker."""
    from .tasks import load_catalog_entry_task  # lazy: the task module imports this one

    ids = list(entries.values_list("pk", flat=True))
    queue = settings.CELERY_TASK_DEFAULT_QUEUE  # the GPU workers' queue
    ModelEntry.objects.filter(pk__in=ids).update(
        test_status=ModelEntry.TestStatus.PENDING, test_message="Queued for a worker…", tested_at=None
    )
    for entry_id in ids:
        transaction.on_commit(lambda entry_id=entry_id: load_catalog_entry_task.apply_async((entry_id,), queue=queue))
    return len(ids)


def catalog_test_load(entry_id: int, worker: str = "") -> ModelEntry:
    """Load a catalog entry the way a job would (an adapter onto its base model) and record
    the outcome on the entry for the admin to read."""
    entry = ModelEntry.objects.select_related("base_model").get(pk=entry_id)
    started = time.perf_counter()
    try:
        report = load_for_test(entry)
    except GenerationError as error:  # the admin reads the library's words too
        cause = f" ({type(error.__cause__).__name__}: {error.__cause__})" if error.__cause__ else ""
        status, message = ModelEntry.TestStatus.FAILED, f"{error}{cause}"
    except Exception as error:
        logger.exception("Test load of %s crashed", entry)
        status, message = ModelEntry.TestStatus.FAILED, f"Internal error: {type(error).__name__}: {error}"
    else:
        status, message = ModelEntry.TestStatus.PASSED, f"{report} in {time.perf_counter() - started:.1f} s"
        message += pin_hub_revision(entry)
    if worker:
        message += f" (worker {worker})"
    entry.test_status, entry.test_message, entry.tested_at = status, message, timezone.now()
    entry.save(update_fields=["test_status", "test_message", "tested_at", "revision"])
    return entry


def pin_hub_revision(entry: ModelEntry) -> str:
    """After a first good load of a hub id, record the commit it read: every worker loads
    that commit from then on, whatever is pushed to the repository later."""
    if entry.revision or entry.kind != ModelEntry.Kind.BASE:
        return ""
    revision = hub_revision(entry.source)
    if revision is None:
        return ""
    entry.revision = revision
    return f", pinned to hub revision {revision[:12]}"


def load_for_test(entry: ModelEntry) -> str:
    if entry.kind != ModelEntry.Kind.ADAPTER:
        loaded = worker_engine().load(entry.spec)
        return f"Loaded {loaded.size_bytes / 2**20:.1f} MB of weights, model hash {loaded.model_hash},"
    if entry.base_model is None:
        raise GenerationError("The adapter names no base model.")
    loaded = worker_engine().load(entry.base_model.spec)
    loaded.adapter_names((AdapterSpec(source=entry.source, rank=entry.adapter_rank),))
    return f"Applied onto {entry.base_model.name}, adapter hash {loaded.adapter_hash(entry.source)},"
