"""The catalog (ModelEntry), generation sessions with the adapters they used, their images
(lineage through `parent`) and comparisons. Choices and ranges come from the engine."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from studio.models import Project

from .engine import limits
from .engine.families import PROFILES, profile
from .engine.requests import MODE_LABELS, RESIZE_MODE_LABELS, ModelSpec
from .engine.samplers import SAMPLER_NAMES
from .engine.sources import source_problem


def validate_image_side(value: int):
    """At least MIN_SIDE, at most DEEPIMAGE_MAX_IMAGE_SIDE, a multiple of the VAE's 8-pixel cell."""
    if not limits.MIN_SIDE <= value <= settings.DEEPIMAGE_MAX_IMAGE_SIDE:
        raise ValidationError(f"{value} is outside {limits.MIN_SIDE}–{settings.DEEPIMAGE_MAX_IMAGE_SIDE} pixels.")
    if value % limits.SIDE_MULTIPLE:
        raise ValidationError(f"{value} is not a multiple of {limits.SIDE_MULTIPLE}.")


def within(allowed: limits.Range) -> list:
    """Django validators for one of the engine's ranges."""
    return [MinValueValidator(allowed.min), MaxValueValidator(allowed.max)]


def choices_from(labels: dict[str, str], class_name: str):
    """TextChoices built from the engine's {value: label} dict: "sdxl-turbo" becomes SDXL_TURBO."""
    return models.TextChoices(
        class_name, [(value.upper().replace("-", "_"), (value, label)) for value, label in labels.items()]
    )


SAMPLER_CHOICES = [(name, name) for name in SAMPLER_NAMES]
RESIZE_MODE_CHOICES = list(RESIZE_MODE_LABELS.items())


FAMILY_DEFAULT = "Blank: the family's default (its native size, steps and guidance)."


class ModelEntry(models.Model):
    """One entry of the admin-managed catalog: a base model or an adapter."""

    class Kind(models.TextChoices):
        BASE = "base", "Base model"
        ADAPTER = "adapter", "Adapter"

    class Origin(models.TextChoices):
        THIRD_PARTY = "third_party", "Third-party Models"
        CUSTOMIZED = "customized", "Customized Models"

    Family = choices_from({family: family_profile.label for family, family_profile in PROFILES.items()}, "Family")

    class TestStatus(models.TextChoices):
        PENDING = "pending", "Testing on a worker…"
        PASSED = "passed", "Loads"
        FAILED = "failed", "Does not load"

    name = models.CharField(max_length=120, unique=True)
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.BASE)
    origin = models.CharField(max_length=12, choices=Origin.choices, default=Origin.THIRD_PARTY)
    family = models.CharField(max_length=12, choices=Family.choices, default=Family.SD15)
    source = models.CharField(
        max_length=500,
        help_text="A local diffusers folder, a Hugging Face hub id, or a single-file .safetensors checkpoint; "
        "for adapters, a LoRA/LoHa/LoKr .safetensors file.",
    )
    config = models.CharField(
        max_length=500,
        blank=True,
        help_text="Single-file checkpoints only: a local diffusers folder (or cached hub id) of the same "
        "architecture that describes the components.",
    )
    adapter_rank = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="DyLoRA adapters only: the rank to use (blank: the file's full rank)."
    )
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
    # Left blank, each default is seeded from the family's (see `seed_family_defaults`).
    default_steps = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=within(limits.STEPS), help_text=FAMILY_DEFAULT
    )
    default_guidance_scale = models.FloatField(
        null=True, blank=True, validators=within(limits.GUIDANCE_SCALE), help_text=FAMILY_DEFAULT
    )
    default_width = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[validate_image_side], help_text=FAMILY_DEFAULT
    )
    default_height = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[validate_image_side], help_text=FAMILY_DEFAULT
    )
    default_sampler = models.CharField(
        max_length=40, blank=True, choices=SAMPLER_CHOICES, help_text="Blank: the scheduler saved with the model."
    )
    preview = models.ImageField(upload_to="catalog/", blank=True, help_text="A sample image shown in the picker.")
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    test_status = models.CharField(max_length=10, choices=TestStatus.choices, blank=True, editable=False)
    test_message = models.TextField(blank=True, editable=False)
    tested_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["origin", "name"]
        verbose_name = "catalog entry"
        verbose_name_plural = "model catalog"

    def __str__(self):
        return self.name

    def save(self, *args, **kwargs):
        # However the entry is made (admin, command, shell), a blank default means the family's.
        self.seed_family_defaults()
        super().save(*args, **kwargs)

    def clean(self):
        self.clean_source()
        if self.kind == self.Kind.ADAPTER:
            if self.base_model is None:
                raise ValidationError({"base_model": "Name the base model this adapter was trained on."})
            if self.base_model.family != self.family:
                raise ValidationError(
                    {
                        "base_model": f"The adapter is {self.get_family_display()} but its base model is "
                        f"{self.base_model.get_family_display()}."
                    }
                )
        elif self.base_model_id:
            raise ValidationError({"base_model": "Only adapters name a base model."})

    def seed_family_defaults(self) -> None:
        """Fill the defaults left blank from the family: an SDXL-Turbo entry starts at one step
        without guidance, an SDXL one at 1024², an SD 2.1 one at 768². (A blank sampler stays
        blank: the scheduler saved with the model is the one it was made for.)"""
        if self.family not in PROFILES:
            return  # the field's own choices error says it
        family = profile(self.family)
        for field, value in (
            ("default_steps", family.default_steps),
            ("default_guidance_scale", family.default_guidance_scale),
            ("default_width", family.native_side),
            ("default_height", family.native_side),
        ):
            if getattr(self, field) in (None, ""):
                setattr(self, field, value)

    def clean_source(self):
        if not self.source:
            return  # the field's own "required" error says it
        problem = source_problem(
            self.source,
            adapter=self.kind == self.Kind.ADAPTER,
            config=self.config,
            hub_offline=settings.HF_HUB_OFFLINE,
        )
        if problem:
            raise ValidationError({problem.field: problem.message})

    @property
    def spec(self) -> ModelSpec:
        return ModelSpec(source=self.source, family=self.family, config=self.config)


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
    worker = models.CharField(max_length=200, blank=True, help_text="The Celery worker that ran it.")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"#{self.pk} {self.prompt[:40]}"

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
            "model_source": self.model.source,
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
