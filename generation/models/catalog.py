"""The admin's catalog: base models and adapters, with their sources, families and form defaults."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models

from studio.permissions import member_filter

from ..engine import limits
from ..engine.families import PROFILES, profile
from ..engine.requests import ModelSpec
from ..engine.sources import source_problem
from .choices import SAMPLER_CHOICES, choices_from, validate_image_side, within

FAMILY_DEFAULT = "Blank: the family's default (its native size, steps and guidance)."


class ModelEntryQuerySet(models.QuerySet):
    def available_to(self, project) -> "ModelEntryQuerySet":
        """Enabled entries a project may use: unrestricted ones, and those restricted to it."""
        return self.filter(enabled=True).filter(models.Q(projects=None) | models.Q(projects=project)).distinct()

    def available_to_user(self, user) -> "ModelEntryQuerySet":
        """Enabled entries any of the user's projects may use."""
        mine = member_filter(user, "projects")
        return self.filter(enabled=True).filter(models.Q(projects=None) | mine).distinct()


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
    default_guidance_end = models.FloatField(
        null=True,
        blank=True,
        validators=within(limits.GUIDANCE_END),
        help_text="The fraction of the steps that run classifier-free guidance; blank: 1, all of them. Below 1 lets "
        "a model that over-shoots at high guidance take it: the last steps draw the details from the prompt alone.",
    )
    default_sampler = models.CharField(
        max_length=40, blank=True, choices=SAMPLER_CHOICES, help_text="Blank: the scheduler saved with the model."
    )
    preview = models.ImageField(upload_to="catalog/", blank=True, help_text="A sample image shown in the picker.")
    enabled = models.BooleanField(default=True)
    allow_pickle = models.BooleanField(
        default=False,
        help_text="Warning: pickle weights (.ckpt, .bin) can run any code when loaded. Leave this off unless you "
        "trust the file's origin; without it only safetensors weights load.",
    )
    revision = models.CharField(
        max_length=64,
        blank=True,
        help_text="Hugging Face hub ids only: the commit every worker loads. Recorded at the first successful test "
        "load, so a later push to the hub repository changes nothing here; clear it to follow the hub again.",
    )
    projects = models.ManyToManyField(
        "studio.Project",
        blank=True,
        related_name="restricted_models",
        help_text="Only these projects may see and use the entry. None chosen: every project.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    test_status = models.CharField(max_length=10, choices=TestStatus.choices, blank=True, editable=False)
    test_message = models.TextField(blank=True, editable=False)
    tested_at = models.DateTimeField(null=True, blank=True, editable=False)

    objects = ModelEntryQuerySet.as_manager()

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
        without guidance, an SDXL one at 1024², an SD 2.1 one at 768²; guidance runs on every
        step. (A blank sampler stays blank: the scheduler saved with the model is the one it
        was made for.)"""
        if self.family not in PROFILES:
            return  # the field's own choices error says it
        family = profile(self.family)
        for field, value in (
            ("default_steps", family.default_steps),
            ("default_guidance_scale", family.default_guidance_scale),
            ("default_width", family.native_side),
            ("default_height", family.native_side),
            ("default_guidance_end", 1.0),
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
        return ModelSpec(
            source=self.source,
            family=self.family,
            config=self.config,
            allow_pickle=self.allow_pickle,
            revision=self.revision,
        )
