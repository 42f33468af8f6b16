"""Comparisons: one prompt and seed on 2–4 models, and reading one back."""

from drf_spectacular.utils import extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from deepimage_site.openapi import errors
from studio.permissions import project_for_writer

from .. import selectors, submission
from .serializers import ComparisonInputSerializer, ComparisonJsonInputSerializer, ComparisonSerializer


class ComparisonCreateApi(APIView):
    """POST: one prompt and seed on 2–4 models or model + adapter combinations."""

    @extend_schema(
        request={"application/json": ComparisonJsonInputSerializer, "multipart/form-data": ComparisonInputSerializer},
        responses={201: ComparisonSerializer, **errors(400, 403, 404, 413, 429)},
    )
    def post(self, request, project_id):
        project = project_for_writer(request.user, project_id)
        serializer = ComparisonInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        comparison = submission.comparison_submit(user=request.user, project=project, **serializer.validated_data)
        return Response(comparison_data(comparison, request), status=201)


class ComparisonDetailApi(APIView):
    @extend_schema(responses={200: ComparisonSerializer, **errors(404)})
    def get(self, request, comparison_id):
        comparison = selectors.comparison_for_member(request.user, comparison_id)
        return Response(comparison_data(comparison, request))


def comparison_data(comparison, request) -> dict:
    comparison.columns = selectors.comparison_sessions(comparison)
    return ComparisonSerializer(comparison, context={"request": request}).data
