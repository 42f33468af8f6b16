"""Signal receivers: a restarted worker fails its orphans, and deleted rows take their files."""

from celery.signals import worker_ready
from django.db import transaction
from django.db.models.signals import post_delete
from django.dispatch import receiver

from .execution import generation_fail_orphans
from .models import GeneratedImage, GenerationSession, ModelEntry


@worker_ready.connect
def fail_generations_left_running(sender, **kwargs):
    """A worker that starts again fails the jobs its previous life was killed in."""
    generation_fail_orphans(worker=sender.hostname)


def delete_files_after_commit(*files) -> None:
    """Remove stored files once their rows are surely gone: a rolled-back delete keeps both."""
    for file in files:
        if file:
            storage, name = file.storage, file.name
            transaction.on_commit(lambda storage=storage, name=name: storage.delete(name))


# Every way a row goes (a Delete button, a deleted project's cascade, the admin) takes its files with it.
@receiver(post_delete, sender=GeneratedImage)
def delete_image_file(sender, instance, **kwargs):
    delete_files_after_commit(instance.file)


@receiver(post_delete, sender=GenerationSession)
def delete_session_inputs(sender, instance, **kwargs):
    delete_files_after_commit(instance.init_image, instance.mask_image)


@receiver(post_delete, sender=ModelEntry)
def delete_catalog_preview(sender, instance, **kwargs):
    delete_files_after_commit(instance.preview)
