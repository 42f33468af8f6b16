from celery.signals import worker_ready


@worker_ready.connect
def fail_generations_left_running(sender, **kwargs):
    """A worker that starts again fails the jobs its previous life was killed in."""
    from .services import generation_fail_orphans

    generation_fail_orphans(worker=sender.hostname)
