"""A project's webhooks, for its owners only: register endpoints (the secret is in the answer
once), change or delete them, see their recent deliveries, and send a test event."""

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import generics, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from deepimage_site.openapi import errors

from .. import webhooks
from ..models import WebhookDelivery, WebhookEndpoint
from ..permissions import project_for_owner


class WebhookSerializer(serializers.ModelSerializer):
    created_by = serializers.CharField(source="created_by.username", read_only=True, default=None, allow_null=True)

    class Meta:
        model = WebhookEndpoint
        fields = ["id", "url", "events", "active", "created_by", "created_at"]


class NewWebhookSerializer(WebhookSerializer):
    secret = serializers.CharField(
        read_only=True, help_text="The signing secret (whsec_…): shown this once, keep it with your receiver."
    )

    class Meta(WebhookSerializer.Meta):
        fields = [*WebhookSerializer.Meta.fields, "secret"]


class DeliverySerializer(serializers.ModelSerializer):
    class Meta:
        model = WebhookDelivery
        fields = [
            "id",
            "event",
            "session",
            "message_id",
            "status",
            "attempts",
            "last_attempt_at",
            "next_attempt_at",
            "last_status_code",
            "last_error",
            "created_at",
        ]


class WebhookInputSerializer(serializers.Serializer):
    url = serializers.URLField(max_length=500)
    events = serializers.MultipleChoiceField(choices=WebhookEndpoint.Event.choices, allow_empty=False)
    active = serializers.BooleanField(default=True)


class WebhookChangeSerializer(WebhookInputSerializer):
    """What a PATCH takes, for the schema: any of the fields (the view validates it as partial)."""

    def get_fields(self):
        fields = super().get_fields()
        for field in fields.values():
            field.required = False
        return fields


def owned_webhook(request, project_id, webhook_id) -> WebhookEndpoint:
    """An endpoint of a project the user owns: 404 for outsiders, 403 for other members."""
    return webhooks.webhook_of(project_for_owner(request.user, project_id), webhook_id)


class WebhookListCreateApi(APIView):
    @extend_schema(responses={200: WebhookSerializer(many=True), **errors(403, 404)})
    def get(self, request, project_id):
        project = project_for_owner(request.user, project_id)
        return Response(WebhookSerializer(webhooks.webhooks_of(project), many=True).data)

    @extend_schema(request=WebhookInputSerializer, responses={201: NewWebhookSerializer, **errors(400, 403, 404)})
    def post(self, request, project_id):
        project = project_for_owner(request.user, project_id)
        serializer = WebhookInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        endpoint = webhooks.webhook_create(project=project, user=request.user, **serializer.validated_data)
        return Response(NewWebhookSerializer(endpoint).data, status=status.HTTP_201_CREATED)


class WebhookDetailApi(APIView):
    @extend_schema(responses={200: WebhookSerializer, **errors(403, 404)})
    def get(self, request, project_id, webhook_id):
        return Response(WebhookSerializer(owned_webhook(request, project_id, webhook_id)).data)

    @extend_schema(request=WebhookChangeSerializer, responses={200: WebhookSerializer, **errors(400, 403, 404)})
    def patch(self, request, project_id, webhook_id):
        endpoint = owned_webhook(request, project_id, webhook_id)
        serializer = WebhookInputSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        endpoint = webhooks.webhook_update(endpoint, **serializer.validated_data)
        return Response(WebhookSerializer(endpoint).data)

    @extend_schema(responses={204: None, **errors(403, 404)})
    def delete(self, request, project_id, webhook_id):
        webhooks.webhook_delete(owned_webhook(request, project_id, webhook_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema_view(get=extend_schema(responses={200: DeliverySerializer(many=True), **errors(403, 404)}))
class WebhookDeliveryListApi(generics.ListAPIView):
    """The endpoint's deliveries, newest first."""

    serializer_class = DeliverySerializer

    def get_queryset(self):
        endpoint = owned_webhook(self.request, self.kwargs["project_id"], self.kwargs["webhook_id"])
        return webhooks.recent_deliveries(endpoint)


class WebhookTestApi(APIView):
    """Queue a `generation.test` event with a sample session to the endpoint."""

    @extend_schema(request=None, responses={202: DeliverySerializer, **errors(403, 404)})
    def post(self, request, project_id, webhook_id):
        delivery = webhooks.webhook_send_test(owned_webhook(request, project_id, webhook_id))
        return Response(DeliverySerializer(delivery).data, status=status.HTTP_202_ACCEPTED)
