"""The catalog and the choices a generation accepts."""

from django.http import FileResponse
from rest_framework import generics
from rest_framework.response import Response
from rest_framework.views import APIView

from .. import selectors
from ..options import generation_options
from .serializers import ModelEntrySerializer


class ModelListApi(generics.ListAPIView):
    """Enabled catalog entries: base models and adapters."""

    serializer_class = ModelEntrySerializer
    pagination_class = None

    def get_queryset(self):
        return selectors.enabled_models()


class ModelPreviewApi(APIView):
    """A catalog entry's preview picture, for signed-in users."""

    def get(self, request, model_id):
        entry = selectors.enabled_model_with_preview(model_id)
        return FileResponse(entry.preview.open("rb"))


class OptionsApi(APIView):
    """Every choice and limit the generation endpoint accepts, for forms and integrations."""

    def get(self, request):
        return Response(generation_options())
