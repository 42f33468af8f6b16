"""The job system's records: each attempt a worker made at a session, and the workers
themselves with their heartbeat and the models they hold."""

from datetime import timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone

from .sessions import GenerationSession


class GenerationAttempt(models.Model):
    """One worker's try at a session: a session normally has one, a second after a lost worker."""

    class Outcome(models.TextChoices):
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"
        LOST = "lost", "Worker lost"

    session = models.ForeignKey(GenerationSession, on_delete=models.CASCADE, related_name="attempt_log")
    number = models.PositiveSmallIntegerField()
    worker = models.CharField(max_length=200)
    started_at = models.DateTimeField(db_index=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=10, choices=Outcome.choices, default=Outcome.RUNNING)
    message = models.TextField(blank=True)

    class Meta:
        ordering = ["session_id", "number"]
        constraints = [models.UniqueConstraint(fields=["session", "number"], name="one_attempt_per_number")]

    def __str__(self):
        return f"attempt {self.number} of session {self.session_id} on {self.worker}"


class Worker(models.Model):
    """A GPU worker process as it last reported itself (one per GPU, on any machine)."""

    class State(models.TextChoices):
        IDLE = "idle", "Idle"
        BUSY = "busy", "Busy"
        STOPPING = "stopping", "Stopping"
        STOPPED = "stopped", "Stopped"

    name = models.CharField(max_length=200, unique=True, help_text="The Celery worker name, e.g. gpu0@host.")
    host = models.CharField(max_length=200)
    pid = models.PositiveIntegerField(default=0)
    device = models.CharField(max_length=100, blank=True)
    loaded_models = models.JSONField(default=list, blank=True, help_text="Ids of the catalog entries it holds.")
    state = models.CharField(max_length=10, choices=State.choices, default=State.IDLE)
    current_session = models.ForeignKey(
        GenerationSession, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    started_at = models.DateTimeField()
    last_seen = models.DateTimeField(db_index=True)
    jobs_done = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    @property
    def is_lost(self) -> bool:
        """Silent past the lease time: killed, hung or its machine gone."""
        if self.state == self.State.STOPPED:
            return False
        return self.last_seen < timezone.now() - timedelta(seconds=settings.DEEPIMAGE_JOB_LEASE_SECONDS)

    @property
    def status_label(self) -> str:
        return "Lost" if self.is_lost else self.get_state_display()
