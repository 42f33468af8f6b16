"""Celery tasks: each loads ids and calls one service. The broker carries wake-ups, never jobs."""

from celery import shared_task

from . import catalog, execution, queue


@shared_task(ignore_result=True, bind=True)
def wake_worker_task(self) -> None:
    """A job is waiting: serve the queue until it is empty (duplicates find nothing to do)."""
    execution.worker_serve(worker=self.request.hostname or "")


@shared_task(ignore_result=True)
def reconcile_queue_task() -> None:
    """Periodic, on the control worker (Celery beat): see queue.queue_reconcile."""
    queue.queue_reconcile()


@shared_task(ignore_result=True, bind=True)
def load_catalog_entry_task(self, entry_id: int) -> None:
    catalog.catalog_test_load(entry_id, worker=self.request.hostname or "")
