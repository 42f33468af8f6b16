"""Projects, memberships with their three roles, project API keys, and webhook endpoints
with their deliveries."""

from django.conf import settings
from django.db import models


class Project(models.Model):
    name = models.CharField(max_length=120)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self):
        return self.name


class Membership(models.Model):
    class Role(models.TextChoices):
        OWNER = "owner", "Owner"
        EDITOR = "editor", "Editor"
        VIEWER = "viewer", "Viewer"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.EDITOR)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "project"], name="one_membership_per_user_and_project")]

    def __str__(self):
        return f"{self.user} in {self.project} ({self.role})"

    @property
    def can_write(self) -> bool:
        """Owners and editors generate and change results; viewers only look."""
        return self.role in (self.Role.OWNER, self.Role.EDITOR)


class ApiKey(models.Model):
    """A project API key: acts as its creator inside one project, with a role no higher than
    theirs. Only a SHA-256 of the key is stored; the key itself is shown once."""

    class Role(models.TextChoices):
        EDITOR = "editor", "Editor"
        VIEWER = "viewer", "Viewer"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="api_keys")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16, help_text="The key's first characters, to tell keys apart.")
    key_hash = models.CharField(max_length=64, unique=True)
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.EDITOR)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    # The AUTOMATIC1111 API's "current checkpoint" (POST /sdapi/v1/options) is this key's, not global.
    default_model = models.ForeignKey(
        "generation.ModelEntry", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"{self.name} ({self.prefix}…) in {self.project}"


class WebhookEndpoint(models.Model):
    """A URL that an owner registered to receive the project's generation events, signed with
    its secret (Standard Webhooks). The secret is kept as it is, since signing needs it, and is
    shown to the owner only when the endpoint is created."""

    class Event(models.TextChoices):
        SUCCEEDED = "generation.succeeded", "Generation succeeded"
        FAILED = "generation.failed", "Generation failed"
        CANCELLED = "generation.cancelled", "Generation cancelled"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="webhooks")
    url = models.URLField(max_length=500)
    events = models.JSONField(default=list, help_text="The Event values this endpoint receives.")
    active = models.BooleanField(default=True)
    secret = models.CharField(max_length=100, editable=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self):
        return f"{self.url} ({self.project})"


class WebhookDelivery(models.Model):
    """One event for one endpoint: the message (its id and payload stay the same on every
    retry), how the attempts went, and when the next one is due."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries")
    event = models.CharField(max_length=40)
    session = models.ForeignKey(
        "generation.GenerationSession", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    message_id = models.CharField(max_length=40, unique=True, help_text="The webhook-id header.")
    payload = models.JSONField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True, help_text="While pending: when to try next.")
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="webhook_delivery_due")]

    def __str__(self):
        return f"{self.event} to {self.endpoint.url} ({self.status})"
