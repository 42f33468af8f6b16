"""Who may see and change a project. A non-member learns nothing: they get a 404.

A request made with a project API key acts as the key's creator, but only inside the key's
project and with the key's (capped) role: `request.user.api_key` and `.api_key_role`, set by
studio.authentication, narrow every check and every query below.
"""

from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import Http404

from .models import ApiKey, Membership, Project


def acting_key(user) -> ApiKey | None:
    """The API key this request was made with, if any."""
    return getattr(user, "api_key", None)


def refuse_api_key(user, what: str) -> None:
    """Account-level acts are for people signed in, never for a key, whatever its role: a key
    acts inside its one project. `what` completes "An API key cannot …"."""
    if acting_key(user) is not None:
        raise PermissionDenied(f"An API key acts inside its own project: it cannot {what}.")


def key_can_write(user) -> bool:
    """Whether a request made with an API key may change its project (the key's capped role)."""
    return Membership(role=user.api_key_role).can_write


def key_scope(user, path: str = "") -> Q:
    """A filter for rows (reached through `path`, e.g. "session__project") of the key's project
    when the request was made with an API key; no narrowing otherwise."""
    key = acting_key(user)
    return Q() if key is None else Q(**{f"{path}__id" if path else "id": key.project_id})


def member_filter(user, path: str = "") -> Q:
    """A filter for rows (reached through `path`, e.g. "session__project") of the projects the
    user is a member of; with an API key, of the key's project only."""
    prefix = f"{path}__" if path else ""
    return Q(**{f"{prefix}memberships__user": user}) & key_scope(user, path)


def membership_or_404(user, project_id) -> Membership:
    """The user's membership of the project, or Http404 if there is none. With an API key:
    404 for any other project, and the membership's role is the key's."""
    if not user.is_authenticated:
        raise Http404("No such project.")
    key = acting_key(user)
    try:
        if key is not None and int(project_id) != key.project_id:
            raise Membership.DoesNotExist
        membership = Membership.objects.select_related("project").get(user=user, project_id=project_id)
    except (Membership.DoesNotExist, ValueError, TypeError):
        raise Http404("No such project.") from None
    if key is not None:
        membership.role = user.api_key_role  # never saved: this request's view of the role
    return membership


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
