"""A project's members: the list, and an owner's invitations, role changes and removals."""

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from deepimage_site.openapi import errors

from .. import selectors, services
from ..models import Membership
from ..permissions import membership_or_404, project_for_owner
from .serializers import InviteSerializer, MemberSerializer, RoleSerializer

OWNER = {"show_email": True}  # what owners, who alone invite and change roles, are shown


class MemberListApi(APIView):
    """GET: the project's members. POST {user, role}: an owner adds an existing user."""

    @extend_schema(
        summary="The project's members (e-mail addresses for owners only).",
        responses={200: MemberSerializer(many=True), **errors(404)},
    )
    def get(self, request, project_id):
        membership = membership_or_404(request.user, project_id)
        owner = {"show_email": membership.role == Membership.Role.OWNER}
        return Response(MemberSerializer(selectors.members_of(membership.project), many=True, context=owner).data)

    @extend_schema(
        summary="Add an existing user (owners).",
        request=InviteSerializer,
        responses={201: MemberSerializer, **errors(400, 403, 404)},
    )
    def post(self, request, project_id):
        project = project_for_owner(request.user, project_id)
        serializer = InviteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        membership = services.member_invite(project, data["user"], data["role"])
        return Response(MemberSerializer(membership, context=OWNER).data, status=status.HTTP_201_CREATED)


class MemberDetailApi(APIView):
    """PATCH {role} or DELETE a member; owners only, and a project keeps at least one owner."""

    @extend_schema(
        summary="Change a member's role (owners).",
        request=RoleSerializer,
        responses={200: MemberSerializer, **errors(400, 403, 404)},
    )
    def patch(self, request, project_id, user_id):
        project = project_for_owner(request.user, project_id)
        serializer = RoleSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        membership = services.member_change_role(project, user_id, serializer.validated_data["role"])
        return Response(MemberSerializer(membership, context=OWNER).data)

    @extend_schema(
        summary="Remove a member (owners); the last owner stays.", responses={204: None, **errors(400, 403, 404)}
    )
    def delete(self, request, project_id, user_id):
        services.member_remove(project_for_owner(request.user, project_id), user_id)
        return Response(status=status.HTTP_204_NO_CONTENT)
