"""Quotas: the cost of one job, jobs waiting at once, images per day for a person and for a
project; the settings' defaults, a person's or a project's own limits from the admin, and
comparisons counted column by column. Over a limit, nothing is written."""

import pytest

from generation.models import GenerationSession, ProjectQuota, UserQuota

pytestmark = pytest.mark.django_db


@pytest.fixture
def post(team, tiny_model, api_as):
    """post(user, **fields) -> the API's answer to a small job of `user`'s."""

    def submit(user=None, **fields):
        payload = {"model": tiny_model.id, "prompt": "a kite", "steps": 1, "width": 64, "height": 64} | fields
        return api_as(user or team.bob).post(f"/api/v1/projects/{team.project.id}/generations/", payload, format="json")

    return submit


def test_a_job_over_the_cost_cap_is_a_400_naming_the_limit(post, settings):
    settings.DEEPIMAGE_QUOTA_JOB_COST = 64 * 64 * 10 * 2

    fits, too_dear = post(steps=10, num_images=2), post(steps=10, num_images=3)

    assert fits.status_code == 201
    assert too_dear.status_code == 400 and "81,920" in too_dear.json()["non_field_errors"][0]
    assert GenerationSession.objects.count() == 1


def test_the_default_cost_cap_is_four_1024_images_at_50_steps(post):
    response = post(width=1024, height=1024, steps=51, num_images=4)

    assert response.status_code == 400 and "209,715,200" in response.json()["non_field_errors"][0]


def test_too_many_waiting_jobs_is_a_429_with_retry_after(post, settings):
    settings.DEEPIMAGE_QUOTA_QUEUED_JOBS = 2
    assert [post().status_code for _ in range(2)] == [201, 201]

    refused = post()

    assert refused.status_code == 429 and int(refused["Retry-After"]) >= 1
    assert "2 jobs waiting" in refused.json()["detail"]
    assert GenerationSession.objects.count() == 2


def test_a_person_s_own_limits_override_the_default_and_zero_lifts_it(team, post, settings):
    settings.DEEPIMAGE_QUOTA_QUEUED_JOBS = 1
    UserQuota.objects.create(user=team.alice, queued_jobs=0)
    UserQuota.objects.create(user=team.bob, queued_jobs=None)  # blank: the default

    assert [post(team.alice).status_code for _ in range(3)] == [201, 201, 201]
    assert [post(team.bob).status_code for _ in range(2)] == [201, 429]


def test_images_per_day_count_what_was_asked_but_not_failed_jobs(team, post, settings):
    settings.DEEPIMAGE_QUOTA_IMAGES_PER_DAY = 5
    assert post(num_images=4).status_code == 201
    failed = post(num_images=1)
    GenerationSession.objects.filter(pk=failed.json()["id"]).update(status="failed")

    refused = post(num_images=2)

    assert refused.status_code == 429 and "4 of your 5 images" in refused.json()["detail"]
    assert 23 * 3600 < int(refused["Retry-After"]) <= 24 * 3600  # when the first ages out
    assert post(num_images=1).status_code == 201


def test_a_project_s_images_per_day_count_everyone_in_it(team, post):
    ProjectQuota.objects.create(project=team.project, images_per_day=3)
    assert post(team.alice, num_images=2).status_code == 201

    refused = post(team.bob, num_images=2)

    assert refused.status_code == 429 and "this project's 3 images" in refused.json()["detail"]


def test_a_comparison_counts_each_column_and_writes_nothing_when_over(team, tiny_model, api_as, settings):
    settings.DEEPIMAGE_QUOTA_QUEUED_JOBS = 2
    payload = {
        "prompt": "a kite",
        "steps": 1,
        "width": 64,
        "height": 64,
        "variants": [{"model": tiny_model.id}] * 3,
    }

    response = api_as(team.bob).post(f"/api/v1/projects/{team.project.id}/comparisons/", payload, format="json")

    assert response.status_code == 429
    assert not GenerationSession.objects.exists()
