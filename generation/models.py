from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from studio.models import Project


def validate_multiple_of_8(value: int):
    # The VAE works on 8×8 pixel cells; other sizes fail deep inside diffusers.
    if value % 8:
        raise ValidationError(f"{value} is not a multiple of 8.")


IMAGE_SIDE_VALIDATORS = [MinValueValidator(64), MaxValueValidator(2048), validate_multiple_of_8]


class ModelEntry(models.Model):
    """One entry of the admin-managed catalog: a base model or an adapter."""

    class Kind(models.TextChoices):
        BASE = "base", "Base model"
        ADAPTER = "adapter", "Adapter"

    class Origin(models.TextChoices):
        THIRD_PARTY = "third_party", "Third-party Models"
        CUSTOMIZED = "customized", "Customized Models"

    class Family(models.TextChoices):
        SD15 = "sd15", "Stable Diffusion 1.5"
        SD21 = "sd21", "Stable Diffusion 2.1"
        SDXL = "sdxl", "SDXL"
        SDXL_TURBO = "sdxl-turbo", "SDXL-Turbo"

    name = models.CharField(max_length=120, unique=True)
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.BASE)
    origin = models.CharField(max_length=12, choices=Origin.choices, default=Origin.THIRD_PARTY)
    family = models.CharField(max_length=12, choices=Family.choices, default=Family.SD15)
    source = models.CharField(max_length=500, help_text="A local diffusers folder or a Hugging Face hub id.")
    base_model = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="adapters",
        limit_choices_to={"kind": "base"},
        help_text="For adapters: the base model they were trained on.",
    )
    description = models.TextField(blank=True)
    default_steps = models.PositiveSmallIntegerField(
        default=20, validators=[MinValueValidator(1), MaxValueValidator(150)]
    )
    default_guidance_scale = models.FloatField(default=7.5, validators=[MinValueValidator(0), MaxValueValidator(30)])
    default_width = models.PositiveSmallIntegerField(default=512, validators=IMAGE_SIDE_VALIDATORS)
    default_height = models.PositiveSmallIntegerField(default=512, validators=IMAGE_SIDE_VALIDATORS)
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["origin", "name"]
        verbose_name = "catalog entry"
        verbose_name_plural = "model catalog"

    def __str__(self):
        return self.name


class GenerationSession(models.Model):
    """One press of Generate: its parameters, its progress, and (through images) its results."""

    class Mode(models.TextChoices):
        TEXT_TO_IMAGE = "text_to_image", "Text to image"

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="generation_sessions")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    model = models.ForeignKey(ModelEntry, on_delete=models.PROTECT, related_name="sessions")
    mode = models.CharField(max_length=20, choices=Mode.choices, default=Mode.TEXT_TO_IMAGE)

    prompt = models.TextField()
    negative_prompt = models.TextField(blank=True)
    steps = models.PositiveSmallIntegerField(validators=[MinValueValidator(1), MaxValueValidator(150)])
    guidance_scale = models.FloatField(validators=[MinValueValidator(0), MaxValueValidator(30)])
    seed = models.BigIntegerField(validators=[MinValueValidator(0), MaxValueValidator(2**32 - 1)])
    width = models.PositiveSmallIntegerField(validators=IMAGE_SIDE_VALIDATORS)
    height = models.PositiveSmallIntegerField(validators=IMAGE_SIDE_VALIDATORS)
    num_images = models.PositiveSmallIntegerField(validators=[MinValueValidator(1), MaxValueValidator(4)])
    sampler = models.CharField(max_length=60, blank=True)

    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED, db_index=True)
    progress_step = models.PositiveSmallIntegerField(default=0)
    progress_total = models.PositiveSmallIntegerField(default=0)
    error_message = models.TextField(blank=True)
    worker = models.CharField(max_length=200, blank=True, help_text="The Celery worker that ran it.")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"#{self.pk} {self.prompt[:40]}"

    def parameters(self) -> dict:
        """Everything needed to reproduce the session, as stored in each PNG."""
        return {
            "mode": self.mode,
            "model": self.model.name,
            "model_source": self.model.source,
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
        }


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
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["session_id", "index"]
        constraints = [models.UniqueConstraint(fields=["session", "index"], name="one_image_per_batch_position")]

    def __str__(self):
        return f"image {self.index} of session {self.session_id}"
