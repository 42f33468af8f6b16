"""Celery tasks of the studio, on the webhook queue (never a GPU worker's): each loads an id and
calls one service of studio/webhooks.py. Both are safe to run twice."""

from celery import shared_task

from . import webhooks


@shared_task(ignore_result=True)
def deliver_webhook_task(delivery_id: int) -> None:
    webhooks.webhook_deliver(delivery_id)


@shared_task(ignore_result=True)
def sweep_webhooks_task() -> None:
    """Periodic, from Celery beat on the control worker: see webhooks.webhook_sweep."""
    webhooks.webhook_sweep()
