"""Reads of projects and their members."""

from django.db.models import F, QuerySet

from .models import Membership, Project
from .permissions import member_filter


def projects_for(user) -> QuerySet[Project]:
    """Projects the user is a member of, with their role annotated as `role`."""
    return Project.objects.filter(member_filter(user)).annotate(role=F("memberships__role")).order_by("name", "id")


def members_of(project: Project) -> QuerySet[Membership]:
    return project.memberships.select_related("user").order_by("user__username")
