"""API tokens: POST username and password for your token (DRF's view); DELETE revokes it."""

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import status
from rest_framework.authtoken.models import Token
from rest_framework.authtoken.serializers import AuthTokenSerializer
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from deepimage_site.openapi import ERROR_RESPONSES, errors

from ..permissions import refuse_api_key


@extend_schema_view(
    post=extend_schema(
        summary="Your token for your username and password (the same one until it is revoked).",
        auth=[],
        responses={200: AuthTokenSerializer, 400: ERROR_RESPONSES[400], 429: ERROR_RESPONSES[429]},
    ),
    delete=extend_schema(responses={204: None, **errors(403)}),
)
class TokenApi(ObtainAuthToken):
    def get_serializer_context(self):
        # authenticate() gets Django's request: django-axes marks a refused sign-in on it,
        # and its middleware answers 429 for that request.
        return {"request": self.request._request, "format": self.format_kwarg, "view": self}

    def get_permissions(self):
        return [IsAuthenticated()] if self.request.method == "DELETE" else []

    def delete(self, request):
        """Revoke the caller's token; the next POST makes a new one. Not with an API key: the
        token is its creator's, outside any project."""
        refuse_api_key(request.user, "revoke its creator's token")
        Token.objects.filter(user=request.user).delete()
        return Response(status=status.HTTP_204_NO_CONTENT)
