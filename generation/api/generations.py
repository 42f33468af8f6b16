"""Generation sessions: a project's history and submissions, one session, cancel, save all, archive."""

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
    inline_serializer,
)
from rest_framework import generics, serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from deepimage_site.openapi import errors
from studio.permissions import project_for_reader, project_for_writer

from .. import execution, results, selectors, submission
from ..models import GenerationSession
from .serializers import GenerationInputSerializer, GenerationJsonInputSerializer, GenerationSerializer

ROW_ID = {"type": "integer", "minimum": 1, "maximum": 2**63 - 1}
HISTORY_FILTERS = [  # selectors.HistoryFilterForm
    OpenApiParameter("model", ROW_ID, description="Made with this catalog entry."),
    OpenApiParameter("user", ROW_ID, description="Submitted by this user."),
    OpenApiParameter("mode", str, enum=GenerationSession.Mode.values),
    OpenApiParameter(
        "saved", str, enum=["0", "1", "true", "false", "on", "off", "yes", "no"], description="1: saved only."
    ),
    OpenApiParameter("q", {"type": "string", "maxLength": 200}, description="Words in the prompt."),
]


@extend_schema_view(
    get=extend_schema(
        summary="The project's history, newest first.",
        description="Filtered by the query parameters; paginated (`page`).",
        parameters=HISTORY_FILTERS,
        responses={200: GenerationSerializer(many=True), **errors(400, 404)},
    )
)
class GenerationListCreateApi(generics.ListAPIView):
    """GET: the project's history, newest first (filters: model, user, mode, saved, q).
    POST: submit a generation."""

    serializer_class = GenerationSerializer

    def get_queryset(self):
        project = project_for_reader(self.request.user, self.kwargs["project_id"])
        return selectors.project_history(project, selectors.HistoryFilters.from_query(self.request.query_params))

    @extend_schema(
        summary="Submit a generation.",
        description="JSON, or multipart with the image files. Omitted values come from the model's defaults.",
        request={"application/json": GenerationJsonInputSerializer, "multipart/form-data": GenerationInputSerializer},
        responses={201: GenerationSerializer, **errors(400, 403, 404, 413, 429)},
    )
    def post(self, request, project_id):
        project = project_for_writer(request.user, project_id)
        serializer = GenerationInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        session = submission.generation_submit(
            user=request.user, project=project, model_id=data.pop("model", None), **data
        )
        return Response(GenerationSerializer(session, context={"request": request}).data, status=201)


class GenerationDetailApi(APIView):
    @extend_schema(responses={200: GenerationSerializer, **errors(404)})
    def get(self, request, session_id):
        session = selectors.session_for_member(request.user, session_id)
        return Response(GenerationSerializer(session, context={"request": request}).data)


def writable_session(request, session_id):
    """A session the user may change: 404 for outsiders, 403 for viewers."""
    session = selectors.session_for_member(request.user, session_id)
    project_for_writer(request.user, session.project_id)
    return session


class GenerationCancelApi(APIView):
    """POST: stop a queued or running generation (editors and owners)."""

    @extend_schema(request=None, responses={200: GenerationSerializer, **errors(403, 404)})
    def post(self, request, session_id):
        session = execution.generation_cancel(writable_session(request, session_id))
        return Response(GenerationSerializer(session, context={"request": request}).data)


class GenerationSaveAllApi(APIView):
    """POST: put every image of the session in the project's saved set."""

    @extend_schema(
        request=None,
        responses={
            200: inline_serializer("SavedCount", {"saved": serializers.IntegerField(help_text="Images saved.")}),
            **errors(403, 404),
        },
    )
    def post(self, request, session_id):
        return Response({"saved": results.session_save_all(writable_session(request, session_id))})


class GenerationArchiveApi(APIView):
    """GET: a ZIP of the session's images with their parameters ("Download all")."""

    @extend_schema(
        responses={(200, "application/zip"): OpenApiResponse(OpenApiTypes.BINARY, description="A ZIP."), **errors(404)}
    )
    def get(self, request, session_id):
        session = selectors.session_for_member(request.user, session_id)
        response = HttpResponse(results.session_archive(session), content_type="application/zip")
        response["Content-Disposition"] = f'attachment; filename="{results.archive_name(session)}"'
        return response
