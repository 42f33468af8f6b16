"""Project API keys: create (the key is returned once, only its hash is kept), list, revoke,
and resolve a presented key to the user and project it acts for.

A key acts as its creator inside its one project, with its own role capped by the creator's
current role; a revoked or expired key, or one whose creator left the project, is refused.
"""

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import Http404
from django.utils import timezone

from .models import ApiKey, Membership, Project

KEY_PREFIX = "dik_"  # "DeepImage key": recognisable in logs and by secret scanners
VISIBLE_CHARS = 12  # "dik_" and 8 random characters: enough to tell keys apart, useless to guess
LAST_USED_RESOLUTION = timedelta(minutes=1)  # one write a minute per key, not one per request
ROLE_RANK = {Membership.Role.VIEWER: 0, Membership.Role.EDITOR: 1, Membership.Role.OWNER: 2}


@dataclass(frozen=True)
class NewKey:
    """A key just created: `secret` is the only copy of the full key there will ever be."""

    key: ApiKey
    secret: str


def key_hash(secret: str) -> str:
    # Keys carry 256 random bits: a fast hash is enough, no salt or stretching needed.
    return hashlib.sha256(secret.encode()).hexdigest()


def capped_role(key_role: str, member_role: str) -> str:
    """The lower of the key's role and its creator's role in the project."""
    return min(key_role, member_role, key=lambda role: ROLE_RANK[role])


@transaction.atomic
def api_key_create(
    *, project: Project, user, name: str, role: str = ApiKey.Role.EDITOR, expires_in_days: int | None = None
) -> NewKey:
    """Create a key for `user` in `project`. Owners and editors may; the key's role (editor or
    viewer) cannot be above the creator's. Raises PermissionDenied or ValidationError by field."""
    membership = Membership.objects.filter(project=project, user=user).first()
    if membership is None or not membership.can_write:
        raise PermissionDenied("Only the project's owners and editors can create API keys.")
    if role not in ApiKey.Role.values:
        raise ValidationError({"role": f"Pick one of: {', '.join(ApiKey.Role.values)}."})
    if capped_role(role, membership.role) != role:
        raise ValidationError({"role": f"A key cannot have a higher role than its creator ({membership.role})."})
    if expires_in_days is not None and not 1 <= expires_in_days <= 3650:
        raise ValidationError({"expires_in_days": "Give a number of days from 1 to 3650, or none."})
    secret = KEY_PREFIX + secrets.token_urlsafe(32)
    key = ApiKey(
        project=project,
        created_by=user,
        name=name.strip(),
        role=role,
        prefix=secret[:VISIBLE_CHARS],
        key_hash=key_hash(secret),
        expires_at=timezone.now() + timedelta(days=expires_in_days) if expires_in_days else None,
    )
    key.full_clean()
    key.save()
    return NewKey(key=key, secret=secret)


def api_keys_visible_to(project: Project, membership: Membership):
    """Owners see every key of the project; editors and viewers their own."""
    keys = project.api_keys.select_related("created_by").filter(revoked_at__isnull=True)
    if membership.role != Membership.Role.OWNER:
        keys = keys.filter(created_by=membership.user)
    return keys


def api_key_revoke(project: Project, membership: Membership, key_id) -> ApiKey:
    """Revoke one key at once: owners any key of the project, others their own (Http404 otherwise)."""
    try:
        key = api_keys_visible_to(project, membership).get(pk=key_id)
    except (ApiKey.DoesNotExist, ValueError, TypeError):
        raise Http404("No such API key in this project.") from None
    key.revoked_at = timezone.now()
    key.save(update_fields=["revoked_at"])
    return key


def api_keys_revoke_for_member(project_id: int, user_id: int) -> int:
    """A member who leaves a project takes their keys' power with them."""
    return ApiKey.objects.filter(project_id=project_id, created_by_id=user_id, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )


def api_key_resolve(secret: str) -> tuple[ApiKey, str] | None:
    """The live key for a presented secret and the role it acts with now, or None when the key
    is unknown, revoked, expired, or its creator is no longer a member (or is inactive)."""
    if not secret.startswith(KEY_PREFIX):
        return None
    key = ApiKey.objects.select_related("created_by", "project").filter(key_hash=key_hash(secret)).first()
    role = api_key_live_role(key)
    if role is None:
        return None
    now = timezone.now()
    if key.last_used_at is None or now - key.last_used_at > LAST_USED_RESOLUTION:
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
        key.last_used_at = now
    return key, role


def api_key_live_role(key: ApiKey | None) -> str | None:
    """The role a key acts with now, or None when it is revoked, expired, or its creator is
    inactive or no longer a member: what every use of a key (and of a link it was given) checks."""
    if key is None or key.revoked_at is not None or (key.expires_at is not None and key.expires_at <= timezone.now()):
        return None
    if not key.created_by.is_active:
        return None
    member_role = (
        Membership.objects.filter(project_id=key.project_id, user_id=key.created_by_id)
        .values_list("role", flat=True)
        .first()
    )
    return None if member_role is None else capped_role(key.role, member_role)
