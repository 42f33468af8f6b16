"""Projects: the ones you are in, creating one, and an owner's rename and delete."""

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from deepimage_site.openapi import errors

from .. import selectors, services
from ..models import Membership
from ..permissions import acting_key, membership_or_404, project_for_owner, refuse_api_key
from .serializers import ProjectSerializer


class ProjectListCreateApi(APIView):
    @extend_schema(
        summary="Your projects, with your role in each.", responses={200: ProjectSerializer(many=True), **errors()}
    )
    def get(self, request):
        projects = list(selectors.projects_for(request.user))
        if acting_key(request.user) is not None:
            for project in projects:
                project.role = request.user.api_key_role
        return Response(ProjectSerializer(projects, many=True).data)

    @extend_schema(
        summary="Create a project; you become its owner.",
        request=ProjectSerializer,
        responses={201: ProjectSerializer, **errors(400, 403)},
    )
    def post(self, request):
        refuse_api_key(request.user, "create projects")
        serializer = ProjectSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        project = services.project_create(name=serializer.validated_data["name"], owner=request.user)
        project.role = Membership.Role.OWNER
        return Response(ProjectSerializer(project).data, status=status.HTTP_201_CREATED)


class ProjectDetailApi(APIView):
    """GET for members; PATCH (rename) and DELETE for owners."""

    @extend_schema(responses={200: ProjectSerializer, **errors(404)})
    def get(self, request, project_id):
        membership = membership_or_404(request.user, project_id)
        membership.project.role = membership.role
        return Response(ProjectSerializer(membership.project).data)

    @extend_schema(
        summary="Rename (owners).",
        request=ProjectSerializer,
        responses={200: ProjectSerializer, **errors(400, 403, 404)},
    )
    def patch(self, request, project_id):
        project = project_for_owner(request.user, project_id)
        serializer = ProjectSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        project = services.project_rename(project, serializer.validated_data["name"])
        project.role = Membership.Role.OWNER
        return Response(ProjectSerializer(project).data)

    @extend_schema(
        summary="Delete the project and everything in it (owners).", responses={204: None, **errors(403, 404)}
    )
    def delete(self, request, project_id):
        services.project_delete(project_for_owner(request.user, project_id))
        return Response(status=status.HTTP_204_NO_CONTENT)
