"""Project API keys: shown once and stored as a hash, acting as their creator inside one
project with a capped role, refused at once when revoked, expired or orphaned."""

import hashlib
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone
from rest_framework.authtoken.models import Token

from generation.models import Comparison, GenerationSession
from studio.models import ApiKey, Membership
from studio.services import member_change_role, member_remove, membership_set, project_create

pytestmark = [pytest.mark.django_db, pytest.mark.filterwarnings("ignore::FutureWarning")]


def test_a_new_key_is_shown_once_and_only_its_hash_is_stored(team, api_as):
    created = api_as(team.bob).post(f"/api/v1/projects/{team.project.id}/api-keys/", {"name": "CI"}, format="json")

    assert created.status_code == 201
    secret = created.json()["key"]
    row = ApiKey.objects.get()
    assert secret.startswith("dik_") and len(secret) > 40
    assert row.key_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in str(ApiKey.objects.values().get())
    assert created.json()["prefix"] == secret[:12] == row.prefix
    listed = api_as(team.bob).get(f"/api/v1/projects/{team.project.id}/api-keys/").json()
    assert [key["prefix"] for key in listed] == [row.prefix]
    assert "key" not in listed[0]


def test_a_key_acts_as_its_creator_in_its_project(team, api_key, api_with_key, tiny_model):
    client = api_with_key(api_key(user=team.bob))

    created = client.post(
        f"/api/v1/projects/{team.project.id}/generations/",
        {"model": tiny_model.id, "prompt": "a barn", "steps": 2},
        format="json",
    )

    assert created.status_code == 201, created.content
    assert GenerationSession.objects.get().created_by == team.bob
    assert ApiKey.objects.get().last_used_at is not None


def test_a_key_role_is_capped_by_its_creator(team, api_key, api_with_key, tiny_model):
    body = {"model": tiny_model.id, "prompt": "a barn", "steps": 2}
    url = f"/api/v1/projects/{team.project.id}/generations/"
    viewer_key = api_with_key(api_key(user=team.bob, role="viewer"))
    editor_key = api_with_key(api_key(user=team.bob, role="editor"))

    assert viewer_key.post(url, body, format="json").status_code == 403
    assert viewer_key.get(url).status_code == 200
    assert editor_key.post(url, body, format="json").status_code == 201
    member_change_role(team.project, team.bob.id, Membership.Role.VIEWER)
    assert editor_key.post(url, body, format="json").status_code == 403


def test_nobody_creates_a_key_above_their_role(team, api_as):
    url = f"/api/v1/projects/{team.project.id}/api-keys/"

    assert api_as(team.vera).post(url, {"name": "mine", "role": "viewer"}, format="json").status_code == 403
    assert api_as(team.charlie).post(url, {"name": "mine"}, format="json").status_code == 404
    assert api_as(team.bob).post(url, {"name": "mine", "role": "owner"}, format="json").status_code == 400
    assert not ApiKey.objects.exists()


def test_revoked_and_expired_keys_are_refused_at_once(team, api_key, api_as, api_with_key):
    url = f"/api/v1/projects/{team.project.id}/"
    revoked, expired = api_key(), api_key(expires_in_days=1)
    assert api_with_key(revoked).get(url).status_code == 200
    key_id = ApiKey.objects.get(key_hash=hashlib.sha256(revoked.encode()).hexdigest()).id

    assert api_as(team.alice).delete(f"{url}api-keys/{key_id}/").status_code == 204
    ApiKey.objects.filter(expires_at__isnull=False).update(expires_at=timezone.now() - timedelta(seconds=1))

    for secret in (revoked, expired, "dik_not-a-key", "no prefix at all"):
        response = api_with_key(secret).get(url)
        assert response.status_code == 401
        assert response["WWW-Authenticate"].startswith("Bearer")


def test_owners_revoke_any_key_and_others_only_their_own(team, api_key, api_as):
    bobs = api_key(user=team.bob)  # noqa: F841 - the key exists
    bob_key = ApiKey.objects.get(created_by=team.bob)
    alices = api_key(user=team.alice)  # noqa: F841
    alice_key = ApiKey.objects.get(created_by=team.alice)
    url = f"/api/v1/projects/{team.project.id}/api-keys/"

    assert {key["id"] for key in api_as(team.alice).get(url).json()} == {bob_key.id, alice_key.id}
    assert [key["id"] for key in api_as(team.bob).get(url).json()] == [bob_key.id]
    assert api_as(team.bob).delete(f"{url}{alice_key.id}/").status_code == 404
    assert api_as(team.alice).delete(f"{url}{bob_key.id}/").status_code == 204
    assert ApiKey.objects.get(pk=bob_key.id).revoked_at is not None


@pytest.mark.parametrize("how", ["members page or API", "admin"])
def test_removing_the_creator_revokes_their_keys(team, api_key, api_with_key, how):
    secret = api_key(user=team.bob)

    if how == "admin":  # the admin's inline deletes the row itself
        Membership.objects.get(project=team.project, user=team.bob).delete()
    else:
        member_remove(team.project, team.bob.id)
    membership_set(project=team.project, user=team.bob, role=Membership.Role.EDITOR)  # back, but the key stays dead

    assert api_with_key(secret).get(f"/api/v1/projects/{team.project.id}/").status_code == 401


def test_a_key_of_one_project_is_refused_on_every_other(team, api_key, api_with_key, generated, tiny_model):
    other = project_create(name="Other", owner=team.bob)
    elsewhere = generated(project=other, steps=2)
    image = elsewhere.images.first()
    comparison = Comparison.objects.create(project=other, created_by=team.bob)
    client = api_with_key(api_key(user=team.bob))
    body = {"model": tiny_model.id, "prompt": "x", "steps": 2}

    for method, url, data in [
        ("get", f"/api/v1/projects/{other.id}/", None),
        ("get", f"/api/v1/projects/{other.id}/generations/", None),
        ("post", f"/api/v1/projects/{other.id}/generations/", body),
        ("post", f"/api/v1/projects/{other.id}/comparisons/", {"prompt": "x", "variants": [{"model": tiny_model.id}]}),
        ("get", f"/api/v1/projects/{other.id}/members/", None),
        ("get", f"/api/v1/projects/{other.id}/api-keys/", None),
        ("get", f"/api/v1/projects/{other.id}/webhooks/", None),
        ("post", f"/api/v1/projects/{other.id}/webhooks/", {"url": "https://example.com/hook"}),
        ("get", f"/api/v1/models/?project={other.id}", None),
        ("get", f"/api/v1/generations/{elsewhere.id}/", None),
        ("post", f"/api/v1/generations/{elsewhere.id}/cancel/", {}),
        ("get", f"/api/v1/images/{image.id}/", None),
        ("get", f"/api/v1/images/{image.id}/file/", None),
        ("delete", f"/api/v1/images/{image.id}/", None),
        ("get", f"/api/v1/comparisons/{comparison.id}/", None),
    ]:
        response = getattr(client, method)(url, data, format="json")
        assert response.status_code == 404, (method, url, response.status_code)
    assert [project["id"] for project in client.get("/api/v1/projects/").json()] == [team.project.id]
    assert GenerationSession.objects.count() == 1


def test_a_key_cannot_make_projects_or_keys_or_revoke_its_creators_token(team, api_key, api_with_key):
    client = api_with_key(api_key(user=team.bob))
    token = Token.objects.create(user=team.bob)

    assert client.post("/api/v1/projects/", {"name": "Mine"}, format="json").status_code == 403
    assert client.post(f"/api/v1/projects/{team.project.id}/api-keys/", {"name": "x"}, format="json").status_code == 403
    assert client.delete("/api/v1/auth/token/").status_code == 403
    assert ApiKey.objects.count() == 1
    assert Token.objects.filter(key=token.key).exists()


def test_a_key_sees_its_creators_jobs_in_its_own_project_only_in_the_queue(team, api_key, api_with_key, submit):
    other = project_create(name="Other", owner=team.bob)
    here, elsewhere = submit(), submit(project=other, prompt="a secret plan")

    queue = api_with_key(api_key(user=team.bob)).get("/api/v1/queue/").json()

    assert [job["id"] for job in queue["queued"]] == [here.id]
    assert elsewhere.prompt not in str(queue)


def test_the_command_prints_a_working_key_once(team, api_with_key):
    out, err = StringIO(), StringIO()

    call_command(
        "create_api_key",
        "--user",
        "bob",
        "--project",
        team.project.name,
        "--role",
        "viewer",
        "--expires",
        "30",
        stdout=out,
        stderr=err,
    )

    secret = out.getvalue().strip()
    key = ApiKey.objects.get()
    assert key.role == "viewer" and key.expires_at > timezone.now() + timedelta(days=29)
    assert api_with_key(secret).get(f"/api/v1/projects/{team.project.id}/").json()["role"] == "viewer"
    assert secret not in err.getvalue() and key.prefix in err.getvalue()


def test_the_keys_page_shows_a_new_key_once_and_revokes(client, team):
    client.force_login(team.bob)
    url = f"/projects/{team.project.id}/api-keys/"

    created = client.post(url, {"name": "Krita plug-in", "role": "editor"})
    secret = created.context["new_key"].secret
    assert secret in created.content.decode()
    page = client.get(url).content.decode()
    assert secret not in page and secret[:12] in page and "Krita plug-in" in page

    key = ApiKey.objects.get()
    client.post(f"{url}{key.id}/revoke/")
    assert ApiKey.objects.get().revoked_at is not None
    assert client.post(url, {"name": ""}).status_code == 400
    assert ApiKey.objects.count() == 1
