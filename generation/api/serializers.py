from rest_framework import serializers
from rest_framework.reverse import reverse

from ..models import GeneratedImage, GenerationSession, ModelEntry


class ModelEntrySerializer(serializers.ModelSerializer):
    kind_label = serializers.CharField(source="get_kind_display")
    origin_label = serializers.CharField(source="get_origin_display")
    family_label = serializers.CharField(source="get_family_display")

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
        ]


class ImageSerializer(serializers.ModelSerializer):
    url = serializers.SerializerMethodField()

    class Meta:
        model = GeneratedImage
        fields = ["id", "index", "seed", "width", "height", "url", "parent"]

    def get_url(self, image):
        return reverse("api:image-file", args=[image.id], request=self.context.get("request"))


class GenerationSerializer(serializers.ModelSerializer):
    images = ImageSerializer(many=True, read_only=True)
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
            "num_images",
            "status",
            "progress_step",
            "progress_total",
            "error_message",
            "created_at",
            "started_at",
            "finished_at",
            "images",
        ]


class GenerationInputSerializer(serializers.Serializer):
    """Types only; the ranges live on the model and are checked by the service."""

    model = serializers.IntegerField()
    prompt = serializers.CharField(allow_blank=True, trim_whitespace=True)
    negative_prompt = serializers.CharField(allow_blank=True, required=False, default="")
    steps = serializers.IntegerField(required=False)
    guidance_scale = serializers.FloatField(required=False)
    seed = serializers.IntegerField(required=False, default=-1, min_value=-1)
    width = serializers.IntegerField(required=False)
    height = serializers.IntegerField(required=False)
    num_images = serializers.IntegerField(required=False, default=1)


class ProjectSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(max_length=120)
    role = serializers.CharField(read_only=True)
