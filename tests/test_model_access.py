"""A catalog entry restricted to chosen projects: invisible and refused everywhere else (the
models list, the picker, generations, comparisons), and refused by the worker if it was
restricted after the job was queued."""

import pytest

from generation.models import GenerationSession, ModelEntry
from studio.services import project_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def elsewhere(team):
    """A project of alice's that bob is no member of."""
    return project_create(name="Elsewhere", owner=team.alice)


@pytest.fixture
def restricted(tiny_model, elsewhere):
    """A second entry of the tiny model that only `elsewhere` may use."""
    entry = ModelEntry.objects.create(name="Secret tiny", family=tiny_model.family, source=tiny_model.source)
    entry.projects.set([elsewhere])
    return entry


def names(response) -> set[str]:
    return {entry["name"] for entry in response.json()}


def test_the_models_list_shows_an_entry_only_to_its_projects(team, api_as, restricted, elsewhere, tiny_model):
    assert names(api_as(team.bob).get("/api/v1/models/")) == {tiny_model.name}
    assert names(api_as(team.bob).get(f"/api/v1/models/?project={team.project.id}")) == {tiny_model.name}
    assert names(api_as(team.alice).get(f"/api/v1/models/?project={elsewhere.id}")) == {tiny_model.name, "Secret tiny"}
    assert names(api_as(team.alice).get(f"/api/v1/models/?project={team.project.id}")) == {tiny_model.name}
    assert api_as(team.bob).get(f"/api/v1/models/?project={elsewhere.id}").status_code == 404
    assert api_as(team.bob).get("/api/v1/models/?project=²").status_code == 400


def test_the_picker_offers_it_only_in_its_projects(team, client, restricted, elsewhere):
    client.force_login(team.alice)

    assert "Secret tiny" in client.get(f"/projects/{elsewhere.id}/").content.decode()
    assert "Secret tiny" not in client.get(f"/projects/{team.project.id}/").content.decode()


def test_generations_and_comparisons_elsewhere_are_refused(team, api_as, restricted, tiny_model):
    job = {"model": restricted.id, "prompt": "a kite", "steps": 1, "width": 64, "height": 64}
    comparison = {"prompt": "a kite", "steps": 1, "variants": [{"model": tiny_model.id}, {"model": restricted.id}]}

    refused = api_as(team.alice).post(f"/api/v1/projects/{team.project.id}/generations/", job, format="json")
    compared = api_as(team.alice).post(f"/api/v1/projects/{team.project.id}/comparisons/", comparison, format="json")

    assert refused.status_code == 400 and "model" in refused.json()
    assert compared.status_code == 400
    assert not GenerationSession.objects.exists()


def test_its_own_project_uses_it(team, api_as, restricted, elsewhere, run):
    job = {"model": restricted.id, "prompt": "a kite", "steps": 1, "width": 64, "height": 64}

    response = api_as(team.alice).post(f"/api/v1/projects/{elsewhere.id}/generations/", job, format="json")

    assert response.status_code == 201
    assert run(response.json()["id"]).status == "succeeded"


def test_the_worker_refuses_a_job_whose_model_was_restricted_after_it_was_queued(team, submit, run, elsewhere):
    session = submit()
    session.model.projects.set([elsewhere])

    finished = run(session)

    assert finished.status == "failed" and "not available to this project" in finished.error_message
