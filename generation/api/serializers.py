"""Serializers of the generation API: catalog entries, sessions, images, comparisons and the
input of a submission (types and ranges; the rules are the submission service's)."""

import json

from drf_spectacular.utils import extend_schema_field, inline_serializer
from rest_framework import serializers
from rest_framework.reverse import reverse

from .. import queue
from ..engine import limits
from ..models import GeneratedImage, GenerationAttempt, GenerationSession, ModelEntry, SessionAdapter


class ModelEntrySerializer(serializers.ModelSerializer):
    kind_label = serializers.CharField(source="get_kind_display")
    origin_label = serializers.CharField(source="get_origin_display")
    family_label = serializers.CharField(source="get_family_display")
    preview_url = serializers.SerializerMethodField()

    class Meta:
        model = ModelEntry
        fields = [
            "id",
            "name",
            "kind",
            "kind_label",
            "origin",
            "origin_label",
            "family",
            "family_label",
            "description",
            "base_model",
            "default_steps",
            "default_guidance_scale",
            "default_guidance_end",
            "default_width",
            "default_height",
            "default_sampler",
            "preview_url",
        ]

    def get_preview_url(self, entry) -> str | None:
        return reverse("api:model-preview", args=[entry.id]) if entry.preview else None


class ImageSerializer(serializers.ModelSerializer):
    url = serializers.SerializerMethodField()

    class Meta:
        model = GeneratedImage
        fields = ["id", "session", "index", "seed", "width", "height", "url", "parent", "parent_deleted", "saved"]

    def get_url(self, image) -> str:
        return reverse("api:image-file", args=[image.id], request=self.context.get("request"))


class ImageUpdateSerializer(serializers.Serializer):
    saved = serializers.BooleanField()


class SessionAdapterSerializer(serializers.ModelSerializer):
    name = serializers.CharField(source="adapter.name")

    class Meta:
        model = SessionAdapter
        fields = ["adapter", "name", "weight", "file_hash"]


class AttemptSerializer(serializers.ModelSerializer):
    class Meta:
        model = GenerationAttempt
        fields = ["number", "worker", "started_at", "finished_at", "outcome", "message"]


class GenerationSerializer(serializers.ModelSerializer):
    images = ImageSerializer(many=True, read_only=True)
    attempt_log = AttemptSerializer(many=True, read_only=True)
    position = serializers.SerializerMethodField(help_text="While queued: 1 is the next job to start; else null.")
    adapters = SessionAdapterSerializer(source="adapters_used", many=True, read_only=True)
    model_name = serializers.CharField(source="model.name")
    created_by = serializers.CharField(source="created_by.username", default=None, allow_null=True)

    class Meta:
        model = GenerationSession
        fields = [
            "id",
            "project",
            "created_by",
            "model",
            "model_name",
            "mode",
            "prompt",
            "negative_prompt",
            "steps",
            "guidance_scale",
            "sampler",
            "seed",
            "width",
            "height",
            "aspect",
            "num_images",
            "strength",
            "eta",
            "clip_skip",
            "guidance_rescale",
            "guidance_end",
            "resize_mode",
            "source_image",
            "comparison",
            "adapters",
            "model_hash",
            "status",
            "cancel_requested",
            "progress_step",
            "progress_total",
            "error_message",
            "created_at",
            "queued_at",
            "started_at",
            "finished_at",
            "attempts",
            "attempt_log",
            "position",
            "images",
        ]

    def get_position(self, session) -> int | None:
        if session.status != GenerationSession.Status.QUEUED:
            return None
        if "queue_positions" not in self.context:  # one read of the queue per response
            self.context["queue_positions"] = queue.queue_positions()
        return self.context["queue_positions"].get(session.pk)


ADAPTER_CHOICES = {
    "type": "array",
    "items": {
        "type": "object",
        "required": ["id"],
        "properties": {
            "id": {"type": "integer", "description": "A catalog adapter."},
            "weight": {
                "type": "number",
                "minimum": limits.ADAPTER_WEIGHT.min,
                "maximum": limits.ADAPTER_WEIGHT.max,
                "default": 1.0,
            },
        },
    },
}


@extend_schema_field(ADAPTER_CHOICES)
class AdapterChoicesField(serializers.JSONField):
    """[{"id": 3, "weight": 0.8}, …] as JSON, or as a JSON string in a multipart form."""

    def to_internal_value(self, data):
        if isinstance(data, str):
            try:
                data = json.loads(data or "[]")
            except json.JSONDecodeError:
                raise serializers.ValidationError("Send a JSON list of {id, weight}.") from None
        if not isinstance(data, list) or not all(isinstance(item, dict) and "id" in item for item in data):
            raise serializers.ValidationError("Send a list of {id, weight}.")
        return data


def in_range(field_class, allowed: limits.Range, **options):
    """A serializer field bounded by one of the engine's ranges."""
    return field_class(min_value=allowed.min, max_value=allowed.max, **options)


class GenerationInputSerializer(serializers.Serializer):
    """Types and ranges; what depends on the mode and the model is the submission service's."""

    model = serializers.IntegerField(required=False, help_text="Optional for upscale: the reference's model.")
    mode = serializers.ChoiceField(choices=GenerationSession.Mode.choices, default=GenerationSession.Mode.TEXT_TO_IMAGE)
    prompt = serializers.CharField(allow_blank=True, required=False, default="", trim_whitespace=True)
    negative_prompt = serializers.CharField(allow_blank=True, required=False, default="")
    steps = in_range(serializers.IntegerField, limits.STEPS, required=False)
    guidance_scale = in_range(serializers.FloatField, limits.GUIDANCE_SCALE, required=False)
    seed = serializers.IntegerField(required=False, default=-1, min_value=-1, max_value=limits.SEED.max)
    # Any size is accepted, snapped to the VAE's multiple of 8 and scaled down to DEEPIMAGE_MAX_IMAGE_SIDE.
    width = serializers.IntegerField(required=False, min_value=limits.MIN_SIDE, max_value=limits.MAX_REQUESTED_SIDE)
    height = serializers.IntegerField(required=False, min_value=limits.MIN_SIDE, max_value=limits.MAX_REQUESTED_SIDE)
    num_images = in_range(serializers.IntegerField, limits.NUM_IMAGES, required=False, default=1)
    aspect = serializers.CharField(required=False, default="", allow_blank=True)
    sampler = serializers.CharField(required=False, default="", allow_blank=True)
    strength = in_range(serializers.FloatField, limits.STRENGTH, required=False)
    eta = in_range(serializers.FloatField, limits.ETA, required=False, default=0.0)
    clip_skip = in_range(serializers.IntegerField, limits.CLIP_SKIP, required=False, default=0)
    guidance_rescale = in_range(serializers.FloatField, limits.GUIDANCE_RESCALE, required=False, default=0.0)
    guidance_end = in_range(
        serializers.FloatField,
        limits.GUIDANCE_END,
        required=False,
        help_text="The fraction of the steps that run classifier-free guidance; the rest follow the prompt alone "
        "(0.6: the first 60 %). Default: the model's.",
    )
    resize_mode = serializers.CharField(required=False, default="just_resize")
    init_image = serializers.FileField(required=False, allow_empty_file=False)
    mask_image = serializers.FileField(required=False, allow_empty_file=False)
    source_image = serializers.IntegerField(required=False)
    adapters = AdapterChoicesField(required=False, default=list)


class GenerationJsonInputSerializer(GenerationInputSerializer):
    """A generation as JSON (the schema's): files need multipart; in JSON the base image is a `source_image`."""

    init_image = None
    mask_image = None


@extend_schema_field(
    {
        "type": "array",
        "minItems": limits.COMPARED_MODELS.min,
        "maxItems": limits.COMPARED_MODELS.max,
        "items": {
            "type": "object",
            "required": ["model"],
            "properties": {"model": {"type": "integer"}, "adapters": ADAPTER_CHOICES},
        },
    }
)
class VariantsField(serializers.JSONField):
    """[{"model": 1, "adapters": [{"id": 3, "weight": 0.8}]}, …] as JSON, or as a JSON string in a multipart form."""


class ComparisonInputSerializer(GenerationInputSerializer):
    """The shared parameters of a comparison, and one {model, adapters} per column."""

    model = None
    adapters = None
    variants = VariantsField(help_text="One column per entry: a model and its adapters.")

    def validate_variants(self, variants):
        if isinstance(variants, str):  # multipart forms send JSON as text
            try:
                variants = json.loads(variants)
            except json.JSONDecodeError:
                raise serializers.ValidationError("Send a JSON list of {model, adapters}.") from None
        adapters = AdapterChoicesField()
        if not isinstance(variants, list) or not all(isinstance(item, dict) for item in variants):
            raise serializers.ValidationError("Send a list of {model, adapters}.")
        return [item | {"adapters": adapters.to_internal_value(item.get("adapters", []))} for item in variants]


class ComparisonJsonInputSerializer(ComparisonInputSerializer):
    """A comparison as JSON (the schema's): files need multipart; in JSON the base image is a `source_image`."""

    init_image = None
    mask_image = None


class ComparisonSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    project = serializers.IntegerField(source="project_id")
    created_by = serializers.CharField(source="created_by.username", default=None, allow_null=True)
    created_at = serializers.DateTimeField()
    sessions = GenerationSerializer(many=True, source="columns")


class ImageDetailSerializer(ImageSerializer):
    """An image with the session that made it."""

    generation = GenerationSerializer(source="session", read_only=True)

    class Meta(ImageSerializer.Meta):
        fields = [*ImageSerializer.Meta.fields, "generation"]


# The serializers below describe, for the OpenAPI schema, the dicts that the options, queue
# and lineage services build; their views return those dicts as they are.


class LabelledChoiceSerializer(serializers.Serializer):
    value = serializers.CharField()
    label = serializers.CharField()


class RangeSerializer(serializers.Serializer):
    min = serializers.FloatField()
    max = serializers.FloatField()


class SideRangeSerializer(RangeSerializer):
    step = serializers.IntegerField(help_text="Sides are multiples of this.")


class FamilyOptionSerializer(LabelledChoiceSerializer):
    native_side = serializers.IntegerField()
    default_steps = serializers.IntegerField()
    default_guidance_scale = serializers.FloatField()


class LimitsSerializer(serializers.Serializer):
    num_images = RangeSerializer()
    steps = RangeSerializer()
    guidance_scale = RangeSerializer()
    side = SideRangeSerializer(help_text="The largest side is DEEPIMAGE_MAX_IMAGE_SIDE.")
    strength = RangeSerializer()
    eta = RangeSerializer()
    guidance_rescale = RangeSerializer()
    guidance_end = RangeSerializer()
    clip_skip = RangeSerializer()
    adapter_weight = RangeSerializer()
    compared_models = RangeSerializer()
    seed = RangeSerializer(help_text="-1 picks a random seed.")


class OptionsSerializer(serializers.Serializer):
    """generation.options.generation_options()."""

    modes = LabelledChoiceSerializer(many=True)
    image_modes = serializers.ListField(child=serializers.CharField(), help_text="The modes that start from an image.")
    samplers = serializers.ListField(child=serializers.CharField())
    aspects = serializers.ListField(child=serializers.CharField())
    resize_modes = LabelledChoiceSerializer(many=True)
    families = FamilyOptionSerializer(many=True)
    native_sides = serializers.DictField(child=serializers.IntegerField(), help_text="By family.")
    limits = LimitsSerializer()


class QueuedJobSerializer(serializers.Serializer):
    """generation.queue.job_summary()."""

    id = serializers.IntegerField()
    project = serializers.IntegerField()
    model = serializers.IntegerField()
    model_name = serializers.CharField()
    prompt = serializers.CharField()
    status = serializers.ChoiceField(choices=GenerationSession.Status.choices)
    queued_at = serializers.DateTimeField(allow_null=True)
    started_at = serializers.DateTimeField(allow_null=True)
    attempts = serializers.IntegerField()
    worker = serializers.CharField()
    progress_step = serializers.IntegerField()
    progress_total = serializers.IntegerField()
    position = serializers.IntegerField(allow_null=True, help_text="1 is the next job to start.")
    eta_seconds = serializers.FloatField(allow_null=True, help_text="The estimate until done.")


class QueueCountsSerializer(serializers.Serializer):
    running = serializers.IntegerField()
    queued = serializers.IntegerField()


class WorkerCountsSerializer(serializers.Serializer):
    online = serializers.IntegerField()
    busy = serializers.IntegerField()


class QueueOverviewSerializer(serializers.Serializer):
    """generation.queue.queue_overview()."""

    running = QueuedJobSerializer(many=True, help_text="Your running jobs.")
    queued = QueuedJobSerializer(many=True, help_text="Your queued jobs, next first.")
    others = QueueCountsSerializer(help_text="Everyone else's jobs, as counts.")
    workers = WorkerCountsSerializer()


class LineageNodeSerializer(serializers.Serializer):
    """generation.lineage.lineage_node()."""

    id = serializers.IntegerField()
    session = serializers.IntegerField()
    url = serializers.CharField(help_text="The image file.")
    page = serializers.CharField(help_text="The image's page in the workspace.")
    seed = serializers.IntegerField()
    width = serializers.IntegerField()
    height = serializers.IntegerField()
    mode = serializers.ChoiceField(choices=GenerationSession.Mode.choices)
    mode_label = serializers.CharField()
    model = serializers.CharField(help_text="The model's name.")
    prompt = serializers.CharField()
    created_by = serializers.CharField(allow_null=True)
    created_at = serializers.DateTimeField()
    saved = serializers.BooleanField()
    parent = serializers.IntegerField(allow_null=True)
    parent_deleted = serializers.BooleanField()
    changes = inline_serializer(
        "LineageChange",
        {"name": serializers.CharField(), "from": serializers.JSONField(), "to": serializers.JSONField()},
        many=True,
        help_text="The parameters that differ from the parent's.",
    )


class LineageDescendantSerializer(LineageNodeSerializer):
    def get_fields(self):
        return super().get_fields() | {"children": LineageDescendantSerializer(many=True)}


class LineageSerializer(serializers.Serializer):
    """generation.lineage.image_lineage()."""

    image = LineageNodeSerializer()
    ancestors = LineageNodeSerializer(many=True, help_text="Oldest first.")
    starts_at_deleted_image = serializers.BooleanField()
    descendants = LineageDescendantSerializer(many=True, help_text="A tree: each with its `children`.")
    truncated = serializers.BooleanField(help_text="True when more descendants than shown exist.")
