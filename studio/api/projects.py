"""Projects: the ones you are in, creating one, and an owner's rename and delete."""

from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from .. import selectors, services
from ..models import Membership
from ..permissions import membership_or_404, project_for_owner
from .serializers import ProjectSerializer


class ProjectListCreateApi(APIView):
    def get(self, request):
        projects = selectors.projects_for(request.user)
        return Response(ProjectSerializer(projects, many=True).data)

    def post(self, request):
        serializer = ProjectSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        project = services.project_create(name=serializer.validated_data["name"], owner=request.user)
        project.role = Membership.Role.OWNER
        return Response(ProjectSerializer(project).data, status=status.HTTP_201_CREATED)


class ProjectDetailApi(APIView):
    """GET for members; PATCH (rename) and DELETE for owners."""

    def get(self, request, project_id):
        membership = membership_or_404(request.user, project_id)
        membership.project.role = membership.role
        return Response(ProjectSerializer(membership.project).data)

    def patch(self, request, project_id):
        project = project_for_owner(request.user, project_id)
        serializer = ProjectSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        project = services.project_rename(project, serializer.validated_data["name"])
        project.role = Membership.Role.OWNER
        return Response(ProjectSerializer(project).data)

    def delete(self, request, project_id):
        services.project_delete(project_for_owner(request.user, project_id))
        return Response(status=status.HTTP_204_NO_CONTENT)
