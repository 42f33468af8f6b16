from celery import shared_task

from . import services


@shared_task(acks_late=True, ignore_result=True, bind=True)
def run_generation(self, session_id: int) -> None:
    services.generation_run(session_id, worker=self.request.hostname or "")


@shared_task(ignore_result=True, bind=True)
def load_catalog_entry(self, entry_id: int) -> None:
    services.catalog_test_load(entry_id, worker=self.request.hostname or "")
