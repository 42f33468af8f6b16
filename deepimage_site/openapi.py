"""The OpenAPI description of the native API (/api/v1/schema/, Swagger UI at /api/v1/docs/):
which routes it covers, the error answers every view shares, and the authentication schemes.

Views describe themselves with drf-spectacular's `extend_schema`; they take their error
responses from `errors(...)` here, so one shape is documented once. The schema generator imports
this module (PREPROCESSING_HOOKS), which registers the extensions below.
"""

from drf_spectacular.extensions import OpenApiAuthenticationExtension, OpenApiSerializerExtension
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers

NATIVE_API = "/api/v1/"


def native_api_only(endpoints):
    """drf-spectacular preprocessing hook: the native API only. The compatible APIs (/sdapi/v1/,
    /v1/) follow AUTOMATIC1111's and OpenAI's protocols, which those projects document."""
    return [endpoint for endpoint in endpoints if endpoint[0].startswith(NATIVE_API)]


class ErrorSerializer(serializers.Serializer):
    """What every refusal but a validation error carries (generation/api/errors.py, DRF's handler)."""

    detail = serializers.CharField(help_text="What went wrong, for people.")


class ValidationErrorSerializer(serializers.Serializer):
    """A 400 (a request that did not validate, nothing written): each field the request got
    wrong, or `non_field_errors`, with its messages; `detail` for a body that could not be parsed."""


class ValidationErrorShape(OpenApiSerializerExtension):
    """Field names are the request's, so the shape is a map: documented by hand."""

    target_class = ValidationErrorSerializer

    def get_name(self, auto_schema, direction):
        return "ValidationError"

    def map_serializer(self, auto_schema, direction):
        messages = {"type": "array", "items": {"type": "string"}}
        return {
            "type": "object",
            "description": ValidationErrorSerializer.__doc__.replace("\n    ", " "),
            "properties": {"detail": {"type": "string"}, "non_field_errors": messages},
            # a list field's errors come by item index, a nested object's by its fields
            "additionalProperties": {"anyOf": [messages, {"type": "object"}]},
            "example": {"steps": ["Ensure this value is less than or equal to 150."]},
        }


ERROR_RESPONSES = {
    400: OpenApiResponse(ValidationErrorSerializer, description="The request is not valid; nothing was written."),
    401: OpenApiResponse(ErrorSerializer, description="No credentials, or credentials that are not valid."),
    403: OpenApiResponse(ErrorSerializer, description="Your role in the project does not allow this."),
    404: OpenApiResponse(ErrorSerializer, description="No such object, or not in a project you are a member of."),
    413: OpenApiResponse(ErrorSerializer, description="The request body is larger than DEEPIMAGE_MAX_UPLOAD_MB."),
    429: OpenApiResponse(
        ErrorSerializer, description="A limit was reached; `Retry-After` says how many seconds until it lifts."
    ),
}


def errors(*codes: int) -> dict:
    """The error responses of an operation: 401 always, and those named."""
    return {code: ERROR_RESPONSES[code] for code in sorted({401, *codes})}


class ProjectApiKeyScheme(OpenApiAuthenticationExtension):
    """`Authorization: Bearer <key>`: a project API key (studio/authentication.py)."""

    target_class = "studio.authentication.ApiKeyAuthentication"
    name = "projectApiKey"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A project API key: it acts as its creator, inside its one project, with its own role.",
        }
