from django.db import transaction

from .models import Membership, Project


@transaction.atomic
def project_create(*, name: str, owner) -> Project:
    """Create a project with `owner` as its first member, in the owner role."""
    project = Project(name=name.strip(), created_by=owner)
    project.full_clean()
    project.save()
    Membership.objects.create(user=owner, project=project, role=Membership.Role.OWNER)
    return project


def membership_set(*, project: Project, user, role: str) -> Membership:
    """Add `user` to `project` with `role`, or change the role they already have."""
    membership, _ = Membership.objects.update_or_create(project=project, user=user, defaults={"role": role})
    return membership
