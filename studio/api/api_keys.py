"""A project's API keys: owners and editors create them (the key is in the answer once),
owners list and revoke every key, editors and viewers see and revoke their own."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from deepimage_site.openapi import errors

from .. import api_keys
from ..models import ApiKey
from ..permissions import membership_or_404, refuse_api_key


def membership_without_key(request, project_id):
    """Keys are managed by people, signed in: a key cannot mint or revoke keys (and another
    project stays a 404 to it, as everywhere)."""
    membership = membership_or_404(request.user, project_id)
    refuse_api_key(request.user, "manage API keys (sign in to do that)")
    return membership


class ApiKeySerializer(serializers.ModelSerializer):
    created_by = serializers.CharField(source="created_by.username", read_only=True)

    class Meta:
        model = ApiKey
        fields = ["id", "name", "prefix", "role", "created_by", "created_at", "last_used_at", "expires_at"]


class NewApiKeySerializer(ApiKeySerializer):
    key = serializers.CharField(read_only=True, help_text="The full key: shown this once, only its hash is kept.")

    class Meta(ApiKeySerializer.Meta):
        fields = [*ApiKeySerializer.Meta.fields, "key"]


class ApiKeyListCreateApi(APIView):
    class InputSerializer(serializers.Serializer):
        name = serializers.CharField(max_length=100)
        role = serializers.ChoiceField(choices=ApiKey.Role.choices, default=ApiKey.Role.EDITOR)
        expires_in_days = serializers.IntegerField(required=False, allow_null=True, min_value=1, max_value=3650)

    @extend_schema(
        summary="The project's keys: owners see all, others their own.",
        responses={200: ApiKeySerializer(many=True), **errors(403, 404)},
    )
    def get(self, request, project_id):
        membership = membership_without_key(request, project_id)
        keys = api_keys.api_keys_visible_to(membership.project, membership)
        return Response(ApiKeySerializer(keys, many=True).data)

    @extend_schema(
        summary="Create a key (owners and editors): the full key is in this answer only.",
        request=InputSerializer,
        responses={201: NewApiKeySerializer, **errors(400, 403, 404)},
    )
    def post(self, request, project_id):
        membership = membership_without_key(request, project_id)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        new = api_keys.api_key_create(project=membership.project, user=request.user, **serializer.validated_data)
        new.key.key = new.secret
        return Response(NewApiKeySerializer(new.key).data, status=status.HTTP_201_CREATED)


class ApiKeyDetailApi(APIView):
    @extend_schema(summary="Revoke a key.", responses={204: None, **errors(400, 403, 404)})
    def delete(self, request, project_id, key_id):
        membership = membership_without_key(request, project_id)
        api_keys.api_key_revoke(membership.project, membership, key_id)
        return Response(status=status.HTTP_204_NO_CONTENT)
