"""Quotas: what one person, and one project, may ask of the GPUs. Checked when a job is
submitted, inside the transaction that records it, and counted from the jobs themselves:

- a job's cost (width × height × steps × images) at most the person's `job_cost`: else 400;
- at most `queued_jobs` of the person's jobs waiting at once: else 429, retry after the
  earliest estimate of one of them finishing (it starts before that);
- at most `images_per_day` images asked for in the last 24 hours, by the person and in the
  project (failed and cancelled jobs do not count): else 429, retry when the oldest ages out.

A limit of 0 is no limit. Each person's limits come from their UserQuota row, a blank field
(or no row) from the DEEPIMAGE_QUOTA_* settings; a project's likewise."""

import math
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db.models import Min, Sum
from django.utils import timezone

from .models import GenerationSession, ProjectQuota, UserQuota

Status = GenerationSession.Status
DAY = timedelta(days=1)
COUNTED = (Status.QUEUED, Status.RUNNING, Status.SUCCEEDED)


class QuotaExceeded(Exception):
    """A limit that time lifts: answered 429 with Retry-After."""

    def __init__(self, message: str, retry_after: int):
        super().__init__(message)
        self.message, self.retry_after = message, max(1, retry_after)


@dataclass(frozen=True)
class Limits:
    queued_jobs: int
    images_per_day: int
    job_cost: int
    project_images_per_day: int


def quota_limits(user, project) -> Limits:
    mine = UserQuota.objects.filter(user=user).first()
    theirs = ProjectQuota.objects.filter(project=project).first()

    def pick(row, field: str, default: int) -> int:
        value = getattr(row, field, None) if row is not None else None
        return default if value is None else value

    return Limits(
        queued_jobs=pick(mine, "queued_jobs", settings.DEEPIMAGE_QUOTA_QUEUED_JOBS),
        images_per_day=pick(mine, "images_per_day", settings.DEEPIMAGE_QUOTA_IMAGES_PER_DAY),
        job_cost=pick(mine, "job_cost", settings.DEEPIMAGE_QUOTA_JOB_COST),
        project_images_per_day=pick(theirs, "images_per_day", settings.DEEPIMAGE_QUOTA_PROJECT_IMAGES_PER_DAY),
    )


def job_cost(session: GenerationSession) -> int:
    return session.width * session.height * session.steps * session.num_images


def quota_check(user, project, session: GenerationSession) -> None:
    """Raise ValidationError (cost) or QuotaExceeded if `session` may not be queued now. Call it
    inside the transaction that saves the session: it locks the person's row, so that two
    submissions at once are counted one after the other (PostgreSQL; SQLite serialises anyway)."""
    get_user_model().objects.select_for_update().filter(pk=user.pk).exists()
    limits = quota_limits(user, project)
    cost = job_cost(session)
    if limits.job_cost and cost > limits.job_cost:
        raise ValidationError(
            f"This job costs {cost:,} (width × height × steps × images); your limit per job is "
            f"{limits.job_cost:,}. Ask for fewer or smaller images, or fewer steps."
        )
    mine = GenerationSession.objects.filter(created_by=user)
    if limits.queued_jobs:
        waiting = mine.filter(status=Status.QUEUED)
        if waiting.count() >= limits.queued_jobs:
            raise QuotaExceeded(
                f"You have {limits.queued_jobs} jobs waiting, your limit; submit more once one has started.",
                retry_after=seconds_until_one_is_done(waiting),
            )
    since = timezone.now() - DAY
    for limit, jobs, whose in (
        (limits.images_per_day, mine, "your"),
        (limits.project_images_per_day, GenerationSession.objects.filter(project=project), "this project's"),
    ):
        if not limit:
            continue
        recent = jobs.filter(created_at__gte=since, status__in=COUNTED)
        used = recent.aggregate(images=Sum("num_images"))["images"] or 0
        if used + session.num_images > limit:
            oldest = recent.aggregate(first=Min("created_at"))["first"]
            wait = (oldest + DAY - timezone.now()).total_seconds() if oldest else DAY.total_seconds()
            raise QuotaExceeded(
                f"{used} of {whose} {limit} images for the last 24 hours are used; "
                f"this job asks for {session.num_images} more.",
                retry_after=math.ceil(wait),
            )


def seconds_until_one_is_done(waiting) -> int:
    from .queue import queue_standing  # lazy: the queue module is heavier than this one

    standing = queue_standing()
    estimates = [standing[pk][1] for pk in waiting.values_list("pk", flat=True) if standing.get(pk, (0, None))[1]]
    return math.ceil(min(estimates)) if estimates else 30
