from django.http import FileResponse
from rest_framework import generics, status
from rest_framework.response import Response
from rest_framework.views import APIView

from studio import selectors as studio_selectors
from studio import services as studio_services
from studio.permissions import project_for_reader, project_for_writer

from .. import selectors, services
from .serializers import (
    GenerationInputSerializer,
    GenerationSerializer,
    ModelEntrySerializer,
    ProjectSerializer,
)


class ModelListApi(generics.ListAPIView):
    serializer_class = ModelEntrySerializer
    pagination_class = None

    def get_queryset(self):
        return selectors.enabled_models()


class OptionsApi(APIView):
    """The choices the generation endpoint accepts, for forms and integrations."""

    def get(self, request):
        return Response(selectors.generation_options())


class ProjectListCreateApi(APIView):
    def get(self, request):
        projects = studio_selectors.projects_for(request.user)
        return Response(ProjectSerializer(projects, many=True).data)

    def post(self, request):
        serializer = ProjectSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        project = studio_services.project_create(name=serializer.validated_data["name"], owner=request.user)
        project.role = "owner"
        return Response(ProjectSerializer(project).data, status=status.HTTP_201_CREATED)


class GenerationListCreateApi(generics.ListAPIView):
    """GET: the project's history, newest first. POST: submit a generation."""

    serializer_class = GenerationSerializer

    def get_queryset(self):
        project = project_for_reader(self.request.user, self.kwargs["project_id"])
        return selectors.project_history(project)

    def post(self, request, project_id):
        project = project_for_writer(request.user, project_id)
        serializer = GenerationInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        session = services.generation_submit(user=request.user, project=project, model_id=data.pop("model"), **data)
        return Response(GenerationSerializer(session, context={"request": request}).data, status=201)


class GenerationDetailApi(APIView):
    def get(self, request, session_id):
        session = selectors.session_for_member(request.user, session_id)
        return Response(GenerationSerializer(session, context={"request": request}).data)


class GenerationCancelApi(APIView):
    """POST: stop a queued or running generation (editors and owners)."""

    def post(self, request, session_id):
        session = selectors.session_for_member(request.user, session_id)
        project_for_writer(request.user, session.project_id)
        session = services.generation_cancel(session)
        return Response(GenerationSerializer(session, context={"request": request}).data)


class ImageFileApi(APIView):
    """The PNG itself, for project members only (generated files are never public)."""

    def get(self, request, image_id):
        image = selectors.image_for_member(request.user, image_id)
        return FileResponse(image.file.open("rb"), content_type="image/png", filename=image.file.name.rsplit("/")[-1])
