"""Every write to projects and memberships: create, rename, delete, invite, change a role, remove."""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q

from .models import Membership, Project

Role = Membership.Role


@transaction.atomic
def project_create(*, name: str, owner) -> Project:
    """Create a project with `owner` as its first member, in the owner role."""
    project = Project(name=name.strip(), created_by=owner)
    project.full_clean()
    project.save()
    Membership.objects.create(user=owner, project=project, role=Role.OWNER)
    return project


def project_rename(project: Project, name: str) -> Project:
    project.name = name.strip()
    project.full_clean()
    project.save(update_fields=["name"])
    return project


def project_delete(project: Project) -> None:
    """Delete the project with its members, generations and images (and, after commit, their files)."""
    with transaction.atomic():
        project.delete()


def membership_set(*, project: Project, user, role: str) -> Membership:
    """Add `user` to `project` with `role`, or change the role they already have."""
    membership, _ = Membership.objects.update_or_create(project=project, user=user, defaults={"role": role})
    return membership


def member_invite(project: Project, identifier: str, role: str) -> Membership:
    """Add an existing user to the project, named by their exact username, or by an e-mail
    address that exactly one account has. E-mail matching is off while people can sign
    themselves up: an address they typed is not verified, and an invitation must not go to
    whoever registered someone else's address first."""
    check_role(role)
    identifier = identifier.strip()
    users = get_user_model().objects.filter(is_active=True)
    if "@" in identifier and settings.DEEPIMAGE_SELF_SIGNUP:
        raise ValidationError(
            {"user": "Invite by username: e-mail addresses are not verified while people sign themselves up."}
        )
    by = Q(email__iexact=identifier) if "@" in identifier else Q(username__iexact=identifier)
    matches = list(users.filter(by)[:2]) if identifier else []
    if len(matches) != 1:
        problem = "Several users have" if matches else "No user has"
        what = "e-mail" if "@" in identifier else "username"
        raise ValidationError({"user": f"{problem} the {what} “{identifier}”."})
    if project.memberships.filter(user=matches[0]).exists():
        raise ValidationError({"user": f"{matches[0].username} is already a member."})
    return Membership.objects.create(project=project, user=matches[0], role=role)


@transaction.atomic
def member_change_role(project: Project, user_id, role: str) -> Membership:
    check_role(role)
    membership = member_of(project, user_id)
    if membership.role == Role.OWNER and role != Role.OWNER:
        check_not_last_owner(project, membership)
    membership.role = role
    membership.save(update_fields=["role"])
    return membership


@transaction.atomic
def member_remove(project: Project, user_id) -> None:
    membership = member_of(project, user_id)
    if membership.role == Role.OWNER:
        check_not_last_owner(project, membership)
    membership.delete()  # its API keys are revoked by studio.signals


def member_of(project: Project, user_id) -> Membership:
    try:
        # Locked, so two owners demoting each other at once cannot leave the project ownerless.
        return project.memberships.select_for_update().select_related("user").get(user_id=user_id)
    except (Membership.DoesNotExist, ValueError, TypeError):
        raise ValidationError({"user": "That user is not a member of this project."}) from None


def check_role(role: str) -> None:
    if role not in Role.values:
        raise ValidationError({"role": f"Pick one of: {', '.join(Role.values)}."})


def check_not_last_owner(project: Project, membership: Membership) -> None:
    owners = project.memberships.select_for_update().filter(role=Role.OWNER).exclude(pk=membership.pk)
    if not owners.exists():
        raise ValidationError({"role": "A project needs an owner: make someone else owner first."})
