"""The REST API: validation, permissions, and nothing written on bad input."""

import pytest

from generation.models import GenerationSession, ModelEntry

pytestmark = pytest.mark.django_db


def generations_url(project_id) -> str:
    return f"/api/v1/projects/{project_id}/generations/"


@pytest.fixture
def valid(tiny_model):
    return {"model": tiny_model.id, "prompt": "a lighthouse", "steps": 4, "width": 64, "height": 64, "num_images": 2}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"model": 999_999}, "model"),
        ({"model": "abc"}, "model"),
        ({"steps": 0}, "steps"),
        ({"steps": 151}, "steps"),
        ({"guidance_scale": -0.5}, "guidance_scale"),
        ({"guidance_scale": 30.5}, "guidance_scale"),
        ({"width": 0}, "width"),
        ({"height": -64}, "height"),
        ({"width": 100_000}, "width"),
        ({"aspect": "5:4"}, "aspect"),
        ({"sampler": "Euler b"}, "sampler"),
        ({"mode": "outpaint"}, "mode"),
        ({"mode": "image_text"}, "init_image"),
        ({"eta": 1.5}, "eta"),
        ({"clip_skip": 13}, "clip_skip"),
        ({"guidance_rescale": -0.1}, "guidance_rescale"),
        ({"guidance_end": 1.01}, "guidance_end"),
        ({"guidance_end": -0.5}, "guidance_end"),
        ({"resize_mode": "zoom"}, "resize_mode"),
        ({"adapters": [{"id": 999_999, "weight": 1}]}, "adapters"),
        ({"adapters": "not json"}, "adapters"),
        ({"source_image": 999_999, "mode": "image_to_image"}, "source_image"),
        ({"num_images": 5}, "num_images"),
        ({"num_images": 0}, "num_images"),
        ({"prompt": "   "}, "prompt"),
        ({"seed": -2}, "seed"),
        ({"seed": 2**32}, "seed"),
    ],
)
def test_bad_input_is_a_400_naming_the_field_and_writes_nothing(
    team, api_as, valid, change, field, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as enqueued:
        response = api_as(team.bob).post(generations_url(team.project.id), valid | change, format="json")

    assert response.status_code == 400, response.content
    assert field in response.json()
    assert not GenerationSession.objects.exists()
    assert enqueued == []


def test_missing_prompt_is_a_400(team, api_as, valid):
    del valid["prompt"]
    response = api_as(team.bob).post(generations_url(team.project.id), valid, format="json")

    assert response.status_code == 400
    assert "prompt" in response.json()


def test_disabled_model_cannot_be_used(team, api_as, valid, tiny_model):
    ModelEntry.objects.filter(pk=tiny_model.pk).update(enabled=False)
    response = api_as(team.bob).post(generations_url(team.project.id), valid, format="json")

    assert response.status_code == 400
    assert "model" in response.json()


def test_editor_submits_and_the_session_is_queued_once_committed(
    team, api_as, valid, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as enqueued:
        response = api_as(team.bob).post(generations_url(team.project.id), valid | {"seed": 77}, format="json")

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "queued" and body["seed"] == 77 and body["num_images"] == 2
    session = GenerationSession.objects.get(pk=body["id"])
    assert session.created_by == team.bob and session.project == team.project
    assert len(enqueued) == 1


def test_omitted_parameters_come_from_the_model_defaults_and_the_seed_is_real(team, api_as, tiny_model):
    response = api_as(team.alice).post(
        generations_url(team.project.id), {"model": tiny_model.id, "prompt": "x"}, format="json"
    )

    body = response.json()
    assert (body["steps"], body["width"], body["height"]) == (4, 64, 64)
    assert body["guidance_scale"] == tiny_model.default_guidance_scale
    assert body["guidance_end"] == tiny_model.default_guidance_end == 1.0
    assert 0 <= body["seed"] < 2**32


def test_guidance_end_comes_from_the_model_unless_given(team, api_as, tiny_model):
    tiny_model.default_guidance_end = 0.6
    tiny_model.save()
    url = generations_url(team.project.id)

    client, fields = api_as(team.alice), {"model": tiny_model.id, "prompt": "x"}
    omitted = client.post(url, fields, format="json").json()
    given = client.post(url, fields | {"guidance_end": 1}, format="json").json()

    assert (omitted["guidance_end"], given["guidance_end"]) == (0.6, 1.0)
    catalog = {entry["id"]: entry for entry in api_as(team.alice).get("/api/v1/models/").json()}
    assert catalog[tiny_model.id]["default_guidance_end"] == 0.6


def test_viewer_cannot_generate(team, api_as, valid):
    response = api_as(team.vera).post(generations_url(team.project.id), valid, format="json")

    assert response.status_code == 403
    assert not GenerationSession.objects.exists()


def test_outsider_gets_404_for_project_generations(team, api_as, valid):
    client = api_as(team.charlie)

    assert client.post(generations_url(team.project.id), valid, format="json").status_code == 404
    assert client.get(generations_url(team.project.id)).status_code == 404
    assert not GenerationSession.objects.exists()


@pytest.fixture
def finished_session(team, tiny_model):
    from django.core.files.base import ContentFile

    from generation.models import GeneratedImage

    session = GenerationSession.objects.create(
        project=team.project, created_by=team.bob, model=tiny_model, prompt="p", steps=4,
        guidance_scale=7, seed=5, width=64, height=64, num_images=1, status="succeeded",
    )  # fmt: skip
    image = GeneratedImage(session=session, index=0, seed=5, width=64, height=64)
    image.file.save("0-5.png", ContentFile(b"\x89PNG fake"))
    return session


def test_members_read_a_session_and_its_image_file(team, api_as, finished_session):
    for member in (team.alice, team.bob, team.vera):
        client = api_as(member)
        body = client.get(f"/api/v1/generations/{finished_session.id}/").json()
        assert body["status"] == "succeeded"
        [image] = body["images"]
        assert image["seed"] == 5 and image["url"].endswith(f"/api/v1/images/{image['id']}/file/")
        file_response = client.get(f"/api/v1/images/{image['id']}/file/")
        assert file_response.status_code == 200
        assert file_response["Content-Type"] == "image/png"


def test_outsider_and_anonymous_cannot_read_a_session_or_its_image(team, api_as, finished_session):
    image_id = finished_session.images.get().id
    outsider = api_as(team.charlie)

    assert outsider.get(f"/api/v1/generations/{finished_session.id}/").status_code == 404
    assert outsider.get(f"/api/v1/images/{image_id}/file/").status_code == 404
    assert api_as(None).get(f"/api/v1/images/{image_id}/file/").status_code == 401


def test_history_lists_the_projects_sessions_newest_first(team, api_as, finished_session, tiny_model):
    newer = GenerationSession.objects.create(
        project=team.project, model=tiny_model, prompt="newer", steps=4, guidance_scale=7, seed=1,
        width=64, height=64, num_images=1,
    )  # fmt: skip
    body = api_as(team.vera).get(generations_url(team.project.id)).json()

    assert [item["id"] for item in body["results"]] == [newer.id, finished_session.id]


def test_models_lists_enabled_entries_with_kind_and_origin(api_as, team, tiny_model):
    ModelEntry.objects.create(name="Hidden", source="x", enabled=False)
    ModelEntry.objects.create(
        name="Studio LoRA", source="y", kind="adapter", origin="customized", base_model=tiny_model
    )
    body = api_as(team.bob).get("/api/v1/models/").json()

    assert {entry["name"]: (entry["kind"], entry["origin_label"]) for entry in body} == {
        "Tiny SD 1.5": ("base", "Third-party Models"),
        "Studio LoRA": ("adapter", "Customized Models"),
    }


def test_adapters_cannot_be_generated_with_directly(team, api_as, tiny_model):
    adapter = ModelEntry.objects.create(name="LoRA", source="y", kind="adapter", base_model=tiny_model)
    response = api_as(team.bob).post(
        generations_url(team.project.id), {"model": adapter.id, "prompt": "x"}, format="json"
    )

    assert response.status_code == 400 and "model" in response.json()


def test_token_is_issued_for_username_and_password(team):
    from rest_framework.test import APIClient

    from tests.conftest import PASSWORD

    client = APIClient()
    token = client.post("/api/v1/auth/token/", {"username": "bob", "password": PASSWORD}).json()["token"]
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")

    assert client.get("/api/v1/projects/").json() == [{"id": team.project.id, "name": "Posters", "role": "editor"}]
    assert APIClient().post("/api/v1/auth/token/", {"username": "bob", "password": "nope"}).status_code == 400


def test_anyone_signed_in_creates_a_project_and_owns_it(team, api_as):
    response = api_as(team.charlie).post("/api/v1/projects/", {"name": "Mine"}, format="json")

    assert response.status_code == 201
    assert response.json()["role"] == "owner"
    assert api_as(team.charlie).post("/api/v1/projects/", {"name": ""}, format="json").status_code == 400


def test_anonymous_is_refused_everywhere(team):
    from rest_framework.test import APIClient

    client = APIClient()
    for url in ("/api/v1/models/", "/api/v1/projects/", generations_url(team.project.id)):
        assert client.get(url).status_code == 401


def test_a_sampler_the_models_noise_schedule_cannot_run_is_a_400_naming_it(
    team, api_as, django_capture_on_commit_callbacks
):
    """The demo model's schedule ends at zero signal: DPM++ 2M Karras would crash in
    diffusers there, so the submission is refused before anything is written; the same
    sampler without Karras spacing is accepted."""
    from django.core.management import call_command

    call_command("create_demo_model", verbosity=0)
    demo = ModelEntry.objects.get(kind=ModelEntry.Kind.BASE, name="DeepImage demo: shapes")
    body = {"model": demo.id, "prompt": "a large red circle in the centre, white background", "steps": 30}

    with django_capture_on_commit_callbacks() as enqueued:
        refused = api_as(team.bob).post(generations_url(team.project.id), body | {"sampler": "DPM++ 2M Karras"})
    assert refused.status_code == 400, refused.content
    assert "Karras spacing" in str(refused.json()["sampler"])
    assert not GenerationSession.objects.exists() and enqueued == []

    accepted = api_as(team.bob).post(generations_url(team.project.id), body | {"sampler": "DPM++ 2M"})
    assert accepted.status_code == 201, accepted.content
