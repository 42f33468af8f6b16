import json

from rest_framework import serializers
from rest_framework.reverse import reverse

from studio.models import Membership

from ..models import GeneratedImage, GenerationSession, ModelEntry, SessionAdapter


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
            "default_width",
            "default_height",
            "default_sampler",
            "preview_url",
        ]

    def get_preview_url(self, entry):
        return reverse("api:model-preview", args=[entry.id]) if entry.preview else None


class ImageSerializer(serializers.ModelSerializer):
    url = serializers.SerializerMethodField()

    class Meta:
        model = GeneratedImage
        fields = ["id", "session", "index", "seed", "width", "height", "url", "parent", "parent_deleted", "saved"]

    def get_url(self, image):
        return reverse("api:image-file", args=[image.id], request=self.context.get("request"))


class ImageUpdateSerializer(serializers.Serializer):
    saved = serializers.BooleanField()


class SessionAdapterSerializer(serializers.ModelSerializer):
    name = serializers.CharField(source="adapter.name")

    class Meta:
        model = SessionAdapter
        fields = ["adapter", "name", "weight", "file_hash"]


class GenerationSerializer(serializers.ModelSerializer):
    images = ImageSerializer(many=True, read_only=True)
    adapters = SessionAdapterSerializer(source="adapters_used", many=True, read_only=True)
    model_name = serializers.CharField(source="model.name")
    created_by = serializers.CharField(source="created_by.username", default=None)

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
            "started_at",
            "finished_at",
            "images",
        ]


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


class GenerationInputSerializer(serializers.Serializer):
    """Types only; the ranges live on the model and the engine, checked by the service."""

    model = serializers.IntegerField(required=False, help_text="Optional for upscale: the reference's model.")
    mode = serializers.ChoiceField(choices=GenerationSession.Mode.choices, default=GenerationSession.Mode.TEXT_TO_IMAGE)
    prompt = serializers.CharField(allow_blank=True, required=False, default="", trim_whitespace=True)
    negative_prompt = serializers.CharField(allow_blank=True, required=False, default="")
    steps = serializers.IntegerField(required=False)
    guidance_scale = serializers.FloatField(required=False)
    seed = serializers.IntegerField(required=False, default=-1, min_value=-1)
    # Any size in range is accepted and snapped to the VAE's multiple of 8, then capped.
    width = serializers.IntegerField(required=False, min_value=64, max_value=8192)
    height = serializers.IntegerField(required=False, min_value=64, max_value=8192)
    num_images = serializers.IntegerField(required=False, default=1)
    aspect = serializers.CharField(required=False, default="", allow_blank=True)
    sampler = serializers.CharField(required=False, default="", allow_blank=True)
    strength = serializers.FloatField(required=False)
    eta = serializers.FloatField(required=False, default=0.0)
    clip_skip = serializers.IntegerField(required=False, default=0)
    guidance_rescale = serializers.FloatField(required=False, default=0.0)
    resize_mode = serializers.CharField(required=False, default="just_resize")
    init_image = serializers.FileField(required=False, allow_empty_file=False)
    mask_image = serializers.FileField(required=False, allow_empty_file=False)
    source_image = serializers.IntegerField(required=False)
    adapters = AdapterChoicesField(required=False, default=list)


class ComparisonInputSerializer(GenerationInputSerializer):
    """The shared parameters of a comparison, and one {model, adapters} per column."""

    model = None
    adapters = None
    variants = serializers.JSONField(help_text='[{"model": 1, "adapters": [{"id": 3, "weight": 0.8}]}, …]')

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


class ComparisonSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    project = serializers.IntegerField(source="project_id")
    created_by = serializers.CharField(source="created_by.username", default=None)
    created_at = serializers.DateTimeField()
    sessions = GenerationSerializer(many=True, source="columns")


class ProjectSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(max_length=120)
    role = serializers.CharField(read_only=True)


class MemberSerializer(serializers.ModelSerializer):
    user = serializers.IntegerField(source="user_id", read_only=True)
    username = serializers.CharField(source="user.username", read_only=True)
    email = serializers.CharField(source="user.email", read_only=True)

    class Meta:
        model = Membership
        fields = ["user", "username", "email", "role", "created_at"]


class InviteSerializer(serializers.Serializer):
    user = serializers.CharField(help_text="A username or an e-mail address of an existing user.")
    role = serializers.ChoiceField(choices=Membership.Role.choices, default=Membership.Role.EDITOR)


class RoleSerializer(serializers.Serializer):
    role = serializers.ChoiceField(choices=Membership.Role.choices)
