"""Signal receivers: a GPU worker's life (register, drain on SIGTERM, stop), deleted rows
that take their files, and removed members whose sockets close."""

from celery.signals import worker_ready, worker_shutdown, worker_shutting_down
from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.db.models.signals import post_delete
from django.dispatch import receiver

from studio.models import Membership

from . import events, execution, workers
from .models import GeneratedImage, GenerationSession, ModelEntry


def serves_generations(consumer) -> bool:
    """True for a GPU worker; the control worker (reconciler) consumes only its own queue."""
    queues = consumer.app.amqp.queues.consume_from or consumer.app.amqp.queues
    return settings.CELERY_TASK_DEFAULT_QUEUE in queues


@worker_ready.connect
def register_worker(sender, **kwargs):
    if serves_generations(sender):
        workers.worker_start(sender.hostname)


@worker_shutting_down.connect
def drain_worker(sender, **kwargs):
    """Warm shutdown (SIGTERM): the job in hand finishes, no new one is taken."""
    execution.worker_drain()


@worker_shutdown.connect
def record_worker_stopped(sender, **kwargs):
    if sender is not None and serves_generations(sender):
        workers.worker_stopped(sender.hostname)


def delete_files_after_commit(*files) -> None:
    """Remove stored files once their rows are surely gone: a rolled-back delete keeps both.
    Each delete stands alone (`robust`): one that fails is logged, the others still run, and
    the request that deleted the rows still succeeds."""
    for file in files:
        if file:
            storage, name = file.storage, file.name
            transaction.on_commit(lambda storage=storage, name=name: storage.delete(name), robust=True)


# Every way a row goes (a Delete button, a deleted project's cascade, the admin) takes its files with it.
@receiver(post_delete, sender=GeneratedImage)
def delete_image_file(sender, instance, **kwargs):
    delete_files_after_commit(instance.file)


@receiver(post_delete, sender=GenerationSession)
def delete_session_inputs(sender, instance, **kwargs):
    """A comparison's columns share their inputs: a file goes once no session names it."""
    for file in (instance.init_image, instance.mask_image):
        if file:
            storage, name = file.storage, file.name

            def delete_if_unused(storage=storage, name=name):
                if not GenerationSession.objects.filter(Q(init_image=name) | Q(mask_image=name)).exists():
                    storage.delete(name)

            transaction.on_commit(delete_if_unused, robust=True)


@receiver(post_delete, sender=Membership)
def close_sockets_of_a_former_member(sender, instance, **kwargs):
    """Removed from the project, or the project deleted: their open sockets close after commit."""
    project_id, user_id = instance.project_id, instance.user_id
    transaction.on_commit(lambda: events.send_access_revoked(project_id, user_id), robust=True)


@receiver(post_delete, sender=ModelEntry)
def delete_catalog_preview(sender, instance, **kwargs):
    delete_files_after_commit(instance.preview)
