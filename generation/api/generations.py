"""Generation sessions: a project's history and submissions, one session, cancel, save all, archive."""

from django.http import HttpResponse
from rest_framework import generics
from rest_framework.response import Response
from rest_framework.views import APIView

from studio.permissions import project_for_reader, project_for_writer

from .. import execution, results, selectors, submission
from .serializers import GenerationInputSerializer, GenerationSerializer


class GenerationListCreateApi(generics.ListAPIView):
    """GET: the project's history, newest first (filters: model, user, mode, saved, q).
    POST: submit a generation."""

    serializer_class = GenerationSerializer

    def get_queryset(self):
        project = project_for_reader(self.request.user, self.kwargs["project_id"])
        return selectors.project_history(project, selectors.HistoryFilters.from_query(self.request.query_params))

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

    def post(self, request, session_id):
        session = execution.generation_cancel(writable_session(request, session_id))
        return Response(GenerationSerializer(session, context={"request": request}).data)


class GenerationSaveAllApi(APIView):
    """POST: put every image of the session in the project's saved set."""

    def post(self, request, session_id):
        return Response({"saved": results.session_save_all(writable_session(request, session_id))})


class GenerationArchiveApi(APIView):
    """GET: a ZIP of the session's images with their parameters ("Download all")."""

    def get(self, request, session_id):
        session = selectors.session_for_member(request.user, session_id)
        response = HttpResponse(results.session_archive(session), content_type="application/zip")
        response["Content-Disposition"] = f'attachment; filename="{results.archive_name(session)}"'
        return response
