"""The server-rendered pages: login required, membership checked, model picker grouped."""

import pytest

from generation.models import ModelEntry
from studio.models import Membership, Project

pytestmark = pytest.mark.django_db


def test_pages_require_login(client, team):
    for url in ("/", f"/projects/{team.project.id}/"):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_project_list_shows_my_projects_with_my_role(client, team):
    client.force_login(team.vera)
    page = client.get("/").content.decode()

    assert "Posters" in page and "viewer" in page


def test_creating_a_project_makes_me_its_owner(client, team):
    client.force_login(team.charlie)
    response = client.post("/", {"name": "  Album cover "})

    project = Project.objects.get(name="Album cover")
    assert response.status_code == 302 and response["Location"] == f"/projects/{project.id}/"
    assert Membership.objects.get(project=project).role == "owner"


def test_an_empty_project_name_is_a_form_error(client, team):
    client.force_login(team.charlie)
    response = client.post("/", {"name": "   "})

    assert response.status_code == 200 and "This field is required" in response.content.decode()
    assert not Project.objects.filter(memberships__user=team.charlie).exists()


def test_model_picker_groups_customized_and_third_party_models(client, team, tiny_model):
    ModelEntry.objects.create(name="House style", source="x", origin="customized")
    ModelEntry.objects.create(name="Switched off", source="y", enabled=False)
    client.force_login(team.bob)
    page = client.get(f"/projects/{team.project.id}/").content.decode()

    customized, third_party = page.index('label="Customized Models"'), page.index('label="Third-party Models"')
    assert customized < page.index("House style") < third_party < page.index("Tiny SD 1.5")
    assert "House style · Stable Diffusion 1.5" in page
    assert "Switched off" not in page
    assert 'id="generate"' in page


def test_viewer_workspace_has_no_generate_form(client, team, tiny_model):
    client.force_login(team.vera)
    page = client.get(f"/projects/{team.project.id}/").content.decode()

    assert 'id="generate"' not in page and "You are a viewer" in page
