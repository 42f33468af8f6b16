"""Limits an admin sets per person and per project; a blank field takes the setting's default."""

from django.conf import settings
from django.db import models

from studio.models import Project

UNLIMITED_HELP = "Blank: the deployment's default ({}). 0: no limit."


class UserQuota(models.Model):
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="quota")
    queued_jobs = models.PositiveIntegerField(
        null=True, blank=True, help_text=UNLIMITED_HELP.format("DEEPIMAGE_QUOTA_QUEUED_JOBS")
    )
    images_per_day = models.PositiveIntegerField(
        null=True, blank=True, help_text=UNLIMITED_HELP.format("DEEPIMAGE_QUOTA_IMAGES_PER_DAY")
    )
    job_cost = models.PositiveBigIntegerField(
        null=True,
        blank=True,
        help_text="Width × height × steps × images of one job. " + UNLIMITED_HELP.format("DEEPIMAGE_QUOTA_JOB_COST"),
    )

    class Meta:
        verbose_name = "person's limits"
        verbose_name_plural = "people's limits"

    def __str__(self) -> str:
        return f"Limits of {self.user}"


class ProjectQuota(models.Model):
    project = models.OneToOneField(Project, on_delete=models.CASCADE, related_name="quota")
    images_per_day = models.PositiveIntegerField(
        null=True, blank=True, help_text=UNLIMITED_HELP.format("DEEPIMAGE_QUOTA_PROJECT_IMAGES_PER_DAY")
    )

    class Meta:
        verbose_name = "project's limits"
        verbose_name_plural = "projects' limits"

    def __str__(self) -> str:
        return f"Limits of {self.project}"
