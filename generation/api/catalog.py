"""The catalog and the choices a generation accepts."""

from django.http import FileResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import generics
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from deepimage_site.openapi import errors
from studio.permissions import project_for_reader

from .. import selectors
from ..options import generation_options
from ..submission import row_id
from .serializers import ModelEntrySerializer, OptionsSerializer


@extend_schema_view(
    get=extend_schema(
        parameters=[OpenApiParameter("project", int, description="Only what this project may use.")],
        responses={200: ModelEntrySerializer(many=True), **errors(400, 404)},
    )
)
class ModelListApi(generics.ListAPIView):
    """Enabled catalog entries, base models and adapters, that your projects may use;
    `?project=ID`: those that project may use."""

    serializer_class = ModelEntrySerializer
    pagination_class = None

    def get_queryset(self):
        project_id = self.request.query_params.get("project")
        if project_id is None:
            return selectors.catalog_for(self.request.user)
        if row_id(project_id) is None:
            raise ValidationError({"project": ["A project id, please."]})
        return selectors.catalog_for(self.request.user, project_for_reader(self.request.user, project_id))


class ModelPreviewApi(APIView):
    """A catalog entry's preview picture, for signed-in users."""

    @extend_schema(
        responses={
            (200, "image/*"): OpenApiResponse(OpenApiTypes.BINARY, description="The picture."),
            **errors(404),
        }
    )
    def get(self, request, model_id):
        entry = selectors.enabled_model_with_preview(request.user, model_id)
        return FileResponse(entry.preview.open("rb"))


class OptionsApi(APIView):
    """Every choice and limit the generation endpoint accepts, for forms and integrations."""

    @extend_schema(responses={200: OptionsSerializer, **errors()})
    def get(self, request):
        return Response(generation_options())
