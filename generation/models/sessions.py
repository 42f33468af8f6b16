"""Generation sessions (one press of Generate) with the adapters they used, their images
(lineage through `parent`) and comparisons."""

from django.conf import settings
from django.db import models

from studio.models import Project

from ..engine import limits
from ..engine.requests import MODE_LABELS
from .catalog import ModelEntry
from .choices import RESIZE_MODE_CHOICES, SAMPLER_CHOICES, choices_from, validate_image_side, within


class Comparison(models.Model):
    """One prompt and seed run on 2–4 models (or model + adapter combinations), one session each."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="comparisons")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"comparison #{self.pk}"


def input_upload_path(session: "GenerationSession", filename: str) -> str:
    return f"projects/{session.project_id}/inputs/{filename}"


class GenerationSession(models.Model):
    """One press of Generate: its parameters, its progress, and (through images) its results."""

    Mode = choices_from(MODE_LABELS, "Mode")

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="generation_sessions")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    api_key = models.ForeignKey(
        "studio.ApiKey",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="sessions",
        help_text="The project API key it was submitted with, if any.",
    )
    model = models.ForeignKey(ModelEntry, on_delete=models.PROTECT, related_name="sessions")
    mode = models.CharField(max_length=20, choices=Mode.choices, default=Mode.TEXT_TO_IMAGE)

    prompt = models.TextField(blank=True)
    negative_prompt = models.TextField(blank=True)
    steps = models.PositiveSmallIntegerField(validators=within(limits.STEPS))
    guidance_scale = models.FloatField(validators=within(limits.GUIDANCE_SCALE))
    seed = models.BigIntegerField(validators=within(limits.SEED))
    width = models.PositiveSmallIntegerField(validators=[validate_image_side])
    height = models.PositiveSmallIntegerField(validators=[validate_image_side])
    num_images = models.PositiveSmallIntegerField(validators=within(limits.NUM_IMAGES))
    sampler = models.CharField(max_length=40, blank=True, choices=SAMPLER_CHOICES)
    eta = models.FloatField(default=0.0, validators=within(limits.ETA))
    clip_skip = models.PositiveSmallIntegerField(default=0, validators=within(limits.CLIP_SKIP))
    guidance_rescale = models.FloatField(default=0.0, validators=within(limits.GUIDANCE_RESCALE))
    guidance_end = models.FloatField(
        default=1.0,
        validators=within(limits.GUIDANCE_END),
        help_text="The fraction of the steps that run classifier-free guidance; the rest follow the prompt alone.",
    )
    strength = models.FloatField(default=0.75, validators=within(limits.STRENGTH), help_text="Denoising strength.")
    resize_mode = models.CharField(max_length=20, choices=RESIZE_MODE_CHOICES, default="just_resize")
    aspect = models.CharField(max_length=10, blank=True, help_text="The aspect preset the size came from.")
    init_image = models.FileField(upload_to=input_upload_path, blank=True)
    mask_image = models.FileField(upload_to=input_upload_path, blank=True)
    source_image = models.ForeignKey(
        "GeneratedImage",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="derived_sessions",
        help_text="The result used as the base image (Reference); its children record it as parent.",
    )
    model_hash = models.CharField(max_length=20, blank=True)
    comparison = models.ForeignKey(Comparison, on_delete=models.CASCADE, null=True, blank=True, related_name="sessions")

    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED, db_index=True)
    cancel_requested = models.BooleanField(default=False)
    progress_step = models.PositiveSmallIntegerField(default=0)
    progress_total = models.PositiveSmallIntegerField(default=0)
    error_message = models.TextField(blank=True)
    worker = models.CharField(max_length=200, blank=True, help_text="The worker running it, or that ran it last.")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    queued_at = models.DateTimeField(
        null=True, blank=True, help_text="When it last entered the queue: submitted, or put back after a lost worker."
    )
    started_at = models.DateTimeField(null=True, blank=True, help_text="When the current (or last) attempt started.")
    finished_at = models.DateTimeField(null=True, blank=True)

    # The queue (see generation/queue.py): the row is the job.
    attempts = models.PositiveSmallIntegerField(default=0, help_text="How many times a worker has started it.")
    lease_expires_at = models.DateTimeField(
        null=True, blank=True, help_text="While running: the worker must renew this or the job goes back to the queue."
    )
    passed_over = models.PositiveSmallIntegerField(
        default=0, help_text="How often a worker took another user's job before this one for model affinity."
    )
    queue_position = models.PositiveIntegerField(
        null=True, blank=True, help_text="The position last announced to watchers, 1 = next."
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["status", "lease_expires_at"], name="session_status_lease"),
            models.Index(fields=["created_by", "started_at"], name="session_user_started"),
        ]

    def __str__(self):
        return f"#{self.pk} {self.prompt[:40]}"

    @property
    def is_finished(self) -> bool:
        return self.status in (self.Status.SUCCEEDED, self.Status.FAILED, self.Status.CANCELLED)

    @property
    def run_seconds(self) -> float | None:
        """How long the worker took, from claiming the job to its end."""
        if self.started_at and self.finished_at:
            return (self.finished_at - self.started_at).total_seconds()
        return None

    def parameters(self) -> dict:
        """Everything needed to reproduce the session, as stored in each PNG."""
        return {
            "mode": self.mode,
            "model": self.model.name,
            "model_id": self.model_id,
            "model_hash": self.model_hash,
            "family": self.model.family,
            "prompt": self.prompt,
            "negative_prompt": self.negative_prompt,
            "steps": self.steps,
            "guidance_scale": self.guidance_scale,
            "sampler": self.sampler,
            "seed": self.seed,
            "width": self.width,
            "height": self.height,
            "num_images": self.num_images,
            "eta": self.eta,
            "clip_skip": self.clip_skip,
            "guidance_rescale": self.guidance_rescale,
            "guidance_end": self.guidance_end,
            "strength": self.strength,
            "resize_mode": self.resize_mode,
            "aspect": self.aspect,
            "source_image": self.source_image_id,
            "adapters": [
                {"id": used.adapter_id, "name": used.adapter.name, "weight": used.weight, "hash": used.file_hash}
                for used in self.adapters_used.select_related("adapter")
            ],
        }


class SessionAdapter(models.Model):
    """An adapter a session applied (unmerged), with its weight and the file's hash."""

    session = models.ForeignKey(GenerationSession, on_delete=models.CASCADE, related_name="adapters_used")
    adapter = models.ForeignKey(ModelEntry, on_delete=models.PROTECT, related_name="+")
    weight = models.FloatField(validators=within(limits.ADAPTER_WEIGHT))
    position = models.PositiveSmallIntegerField()
    file_hash = models.CharField(max_length=20, blank=True)

    class Meta:
        ordering = ["session_id", "position"]
        constraints = [models.UniqueConstraint(fields=["session", "adapter"], name="one_use_per_adapter")]

    def __str__(self):
        return f"{self.adapter} × {self.weight:g}"


def image_upload_path(image: "GeneratedImage", filename: str) -> str:
    return f"projects/{image.session.project_id}/sessions/{image.session_id}/{filename}"


class GeneratedImage(models.Model):
    session = models.ForeignKey(GenerationSession, on_delete=models.CASCADE, related_name="images")
    index = models.PositiveSmallIntegerField(help_text="Position in the batch, from 0.")
    seed = models.BigIntegerField(help_text="The seed of this image alone: the session's seed + index.")
    width = models.PositiveSmallIntegerField()
    height = models.PositiveSmallIntegerField()
    file = models.FileField(upload_to=image_upload_path)
    parent = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="children", help_text="Lineage."
    )
    parent_deleted = models.BooleanField(
        default=False, help_text="The image this one was made from has been deleted; lineage stops here."
    )
    saved = models.BooleanField(default=False, db_index=True, help_text="In the project's saved set.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["session_id", "index"]
        constraints = [models.UniqueConstraint(fields=["session", "index"], name="one_image_per_batch_position")]

    def __str__(self):
        return f"image {self.index} of session {self.session_id}"
