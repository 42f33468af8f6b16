"""Who may see and change a project. A non-member learns nothing: they get a 404."""

from django.core.exceptions import PermissionDenied
from django.http import Http404

from .models import Membership, Project


def membership_or_404(user, project_id) -> Membership:
    """The user's membership of the project, or Http404 if there is none."""
    if not user.is_authenticated:
        raise Http404("No such project.")
    try:
        return Membership.objects.select_related("project").get(user=user, project_id=project_id)
    except (Membership.DoesNotExist, ValueError):
        raise Http404("No such project.") from None


def project_for_reader(user, project_id) -> Project:
    return membership_or_404(user, project_id).project


def project_for_writer(user, project_id) -> Project:
    """The project if the user may change its results; PermissionDenied for viewers, 404 for outsiders."""
    membership = membership_or_404(user, project_id)
    if not membership.can_write:
        raise PermissionDenied("Viewers cannot change this project.")
    return membership.project


def project_for_owner(user, project_id) -> Project:
    """The project if the user owns it: only owners manage members, rename and delete."""
    membership = membership_or_404(user, project_id)
    if membership.role != Membership.Role.OWNER:
        raise PermissionDenied("Only the project's owners can manage it.")
    return membership.project
