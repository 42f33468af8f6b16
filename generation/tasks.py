"""Celery tasks: each loads ids and calls one service."""

from celery import shared_task

from . import catalog, execution


@shared_task(acks_late=True, ignore_result=True, bind=True)
def run_generation_task(self, session_id: int) -> None:
    execution.generation_run(session_id, worker=self.request.hostname or "")


@shared_task(ignore_result=True, bind=True)
def load_catalog_entry_task(self, entry_id: int) -> None:
    catalog.catalog_test_load(entry_id, worker=self.request.hostname or "")
