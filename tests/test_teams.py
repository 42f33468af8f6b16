"""Teams: sign-up policy, passwords, members and roles, and every permission rule."""

import pytest
from django.contrib.auth import get_user_model

from generation.models import Comparison, GeneratedImage, GenerationSession
from studio.models import Membership, Project
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.django_db, pytest.mark.filterwarnings("ignore::FutureWarning")]


@pytest.fixture
def finished(generated):
    return generated(steps=2)


COMPARE = {"prompt": "x", "steps": 2, "variants": [{"model": "{m}"}, {"model": "{m}"}]}
# (method, url template, body, expected status for owner, editor, viewer, outsider)
MATRIX = [
    ("get", "/api/v1/projects/{p}/", None, (200, 200, 200, 404)),
    ("get", "/api/v1/projects/{p}/members/", None, (200, 200, 200, 404)),
    ("get", "/api/v1/projects/{p}/generations/", None, (200, 200, 200, 404)),
    ("get", "/api/v1/generations/{s}/", None, (200, 200, 200, 404)),
    ("get", "/api/v1/generations/{s}/archive/", None, (200, 200, 200, 404)),
    ("get", "/api/v1/images/{i}/", None, (200, 200, 200, 404)),
    ("get", "/api/v1/images/{i}/file/", None, (200, 200, 200, 404)),
    ("get", "/api/v1/images/{i}/lineage/", None, (200, 200, 200, 404)),
    ("get", "/api/v1/comparisons/{c}/", None, (200, 200, 200, 404)),
    ("post", "/api/v1/projects/{p}/generations/", {"model": "{m}", "prompt": "x", "steps": 2}, (201, 201, 403, 404)),
    ("post", "/api/v1/projects/{p}/comparisons/", COMPARE, (201, 201, 403, 404)),
    ("post", "/api/v1/generations/{s}/cancel/", {}, (200, 200, 403, 404)),
    ("post", "/api/v1/generations/{s}/save/", {}, (200, 200, 403, 404)),
    ("patch", "/api/v1/images/{i}/", {"saved": True}, (200, 200, 403, 404)),
    ("patch", "/api/v1/projects/{p}/", {"name": "Renamed"}, (200, 403, 403, 404)),
    ("post", "/api/v1/projects/{p}/members/", {"user": "dora", "role": "viewer"}, (201, 403, 403, 404)),
    ("patch", "/api/v1/projects/{p}/members/{bob}/", {"role": "viewer"}, (200, 403, 403, 404)),
    ("delete", "/api/v1/projects/{p}/members/{bob}/", None, (204, 403, 403, 404)),
    ("delete", "/api/v1/images/{i}/", None, (204, 204, 403, 404)),
    ("delete", "/api/v1/projects/{p}/", None, (204, 403, 403, 404)),
]
WHO = ("alice", "bob", "vera", "charlie")


def filled(value, ids):
    """The body template with its {placeholders} filled in, ids as numbers."""
    if isinstance(value, dict):
        return {key: filled(item, ids) for key, item in value.items()}
    if isinstance(value, list):
        return [filled(item, ids) for item in value]
    if isinstance(value, str) and value.startswith("{") and value.endswith("}"):
        return ids[value[1:-1]]
    return value


@pytest.mark.parametrize(("method", "url", "body", "expected"), MATRIX, ids=[f"{m} {u}" for m, u, _, _ in MATRIX])
@pytest.mark.parametrize("who", range(4), ids=WHO)
def test_every_endpoint_checks_membership_and_role(
    team, finished, tiny_model, api_as, make_user, method, url, body, expected, who
):
    make_user("dora")
    ids = {
        "p": team.project.id,
        "s": finished.id,
        "i": finished.images.get().id,
        "c": Comparison.objects.create(project=team.project, created_by=team.bob).id,
        "m": tiny_model.id,
        "bob": team.bob.id,
    }
    data = filled(body or {}, ids)
    response = getattr(api_as(getattr(team, WHO[who])), method)(url.format(**ids), data, format="json")

    assert response.status_code == expected[who], response.content


def test_every_page_of_a_project_is_a_404_for_outsiders(client, team, finished):
    comparison = Comparison.objects.create(project=team.project, created_by=team.bob)
    client.force_login(team.charlie)
    image = finished.images.get()
    for url in (
        f"/projects/{team.project.id}/",
        f"/projects/{team.project.id}/members/",
        f"/projects/{team.project.id}/images/{image.id}/",
        f"/projects/{team.project.id}/comparisons/{comparison.id}/",
    ):
        assert client.get(url).status_code == 404, url


def test_owner_invites_by_username_or_email_and_sets_the_role(team, api_as, make_user):
    make_user("dora", email="Dora@Example.com")
    make_user("eve")
    owner = api_as(team.alice)

    by_email = owner.post(
        f"/api/v1/projects/{team.project.id}/members/", {"user": "dora@example.com", "role": "viewer"}
    )
    by_name = owner.post(f"/api/v1/projects/{team.project.id}/members/", {"user": "EVE"})

    assert by_email.status_code == 201 and by_email.json()["username"] == "dora"
    assert by_name.status_code == 201 and by_name.json()["role"] == "editor"
    assert Membership.objects.get(project=team.project, user__username="dora").role == "viewer"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"user": "nobody"}, "user"),
        ({"user": "bob"}, "user"),  # already a member
        ({"user": ""}, "user"),
        ({"user": "charlie", "role": "admin"}, "role"),
    ],
)
def test_bad_invitations_are_400_by_field_and_add_nobody(team, api_as, body, field):
    before = Membership.objects.count()
    response = api_as(team.alice).post(f"/api/v1/projects/{team.project.id}/members/", body)

    assert response.status_code == 400 and field in response.json()
    assert Membership.objects.count() == before


def test_the_last_owner_cannot_leave_or_be_demoted(team, api_as):
    owner = api_as(team.alice)
    url = f"/api/v1/projects/{team.project.id}/members/{team.alice.id}/"

    assert owner.patch(url, {"role": "editor"}).status_code == 400
    assert owner.delete(url).status_code == 400
    assert (
        owner.patch(f"/api/v1/projects/{team.project.id}/members/{team.bob.id}/", {"role": "owner"}).status_code == 200
    )
    assert owner.patch(url, {"role": "editor"}).status_code == 200  # Bob owns it now
    assert Membership.objects.get(project=team.project, user=team.alice).role == "editor"


def test_changing_a_non_member_is_a_400(team, api_as):
    response = api_as(team.alice).patch(
        f"/api/v1/projects/{team.project.id}/members/{team.charlie.id}/", {"role": "viewer"}
    )
    assert response.status_code == 400 and "user" in response.json()


def test_deleting_a_project_removes_its_sessions_images_and_files(
    team, finished, api_as, settings, django_capture_on_commit_callbacks
):
    path = settings.MEDIA_ROOT / finished.images.get().file.name
    assert path.exists()

    with django_capture_on_commit_callbacks(execute=True):
        assert api_as(team.alice).delete(f"/api/v1/projects/{team.project.id}/").status_code == 204

    assert not Project.objects.filter(pk=team.project.id).exists()
    assert not GenerationSession.objects.exists() and not GeneratedImage.objects.exists()
    assert not path.exists()


def test_members_page_gives_owners_the_controls_and_others_the_list(client, team):
    client.force_login(team.alice)
    owner_page = client.get(f"/projects/{team.project.id}/members/").content.decode()
    client.force_login(team.vera)
    viewer_page = client.get(f"/projects/{team.project.id}/members/").content.decode()

    assert "Add member" in owner_page and "Delete project" in owner_page
    assert "bob" in viewer_page and "Add member" not in viewer_page and "Delete project" not in viewer_page


def test_owner_manages_members_and_the_project_from_the_page(client, team, make_user):
    make_user("dora", email="dora@example.com")
    client.force_login(team.alice)
    base = f"/projects/{team.project.id}"

    client.post(f"{base}/members/invite/", {"user": "dora@example.com", "role": "viewer"})
    client.post(f"{base}/members/{team.vera.id}/role/", {"role": "editor"})
    client.post(f"{base}/members/{team.bob.id}/remove/")
    client.post(f"{base}/rename/", {"name": "Posters 2027"})

    roles = dict(Membership.objects.filter(project=team.project).values_list("user__username", "role"))
    assert roles == {"alice": "owner", "vera": "editor", "dora": "viewer"}
    assert Project.objects.get(pk=team.project.id).name == "Posters 2027"


def test_page_errors_are_shown_as_messages(client, team):
    client.force_login(team.alice)
    response = client.post(
        f"/projects/{team.project.id}/members/invite/", {"user": "nobody", "role": "editor"}, follow=True
    )

    assert "No user has the username “nobody”" in response.content.decode()


def test_deleting_from_the_page_needs_the_name_typed(client, team):
    client.force_login(team.alice)
    client.post(f"/projects/{team.project.id}/delete/", {"confirm_name": "posters"})
    assert Project.objects.filter(pk=team.project.id).exists()

    response = client.post(f"/projects/{team.project.id}/delete/", {"confirm_name": "Posters"})
    assert response.status_code == 302 and not Project.objects.filter(pk=team.project.id).exists()


@pytest.mark.parametrize(("who", "status"), [("bob", 403), ("vera", 403), ("charlie", 404)])
def test_only_owners_post_to_the_members_page(client, team, who, status):
    client.force_login(getattr(team, who))
    response = client.post(f"/projects/{team.project.id}/members/invite/", {"user": "charlie", "role": "owner"})

    assert response.status_code == status
    assert not Membership.objects.filter(project=team.project, user=team.charlie).exists()


def test_sign_up_is_closed_unless_the_admin_opens_it(client, settings, db):
    settings.DEEPIMAGE_SELF_SIGNUP = False
    assert client.get("/accounts/signup/").status_code == 404
    assert "Accounts are created by your administrator" in client.get("/accounts/login/").content.decode()

    settings.DEEPIMAGE_SELF_SIGNUP = True
    response = client.post(
        "/accounts/signup/",
        {"username": "newcomer", "email": "new@example.com", "password1": PASSWORD, "password2": PASSWORD},
    )
    assert response.status_code == 302
    assert get_user_model().objects.get(username="newcomer").email == "new@example.com"
    assert client.get("/").status_code == 200  # signed in


def test_sign_up_errors_are_shown_by_field(client, settings, db):
    settings.DEEPIMAGE_SELF_SIGNUP = True
    response = client.post("/accounts/signup/", {"username": "x", "email": "not-an-email", "password1": "a"})

    assert response.status_code == 200 and "Enter a valid email address" in response.content.decode()
    assert not get_user_model().objects.filter(username="x").exists()


def test_password_change(client, team):
    client.post("/accounts/login/", {"username": "bob", "password": PASSWORD})
    response = client.post(
        "/accounts/password/",
        {"old_password": PASSWORD, "new_password1": "a-new-long-passphrase", "new_password2": "a-new-long-passphrase"},
    )

    assert response.status_code == 302
    team.bob.refresh_from_db()
    assert team.bob.check_password("a-new-long-passphrase")


def test_only_owners_see_members_e_mail_addresses(team, api_as, client):
    team.bob.email = "bob@example.com"
    team.bob.save()

    as_owner = api_as(team.alice).get(f"/api/v1/projects/{team.project.id}/members/").json()
    as_editor = api_as(team.bob).get(f"/api/v1/projects/{team.project.id}/members/").json()
    client.force_login(team.vera)
    page = client.get(f"/projects/{team.project.id}/members/").content.decode()

    assert "bob@example.com" in [member.get("email") for member in as_owner]
    assert all("email" not in member for member in as_editor)
    assert "bob" in page and "bob@example.com" not in page


def test_a_token_can_be_revoked_and_a_password_change_revokes_it(team, api_as, client):
    from rest_framework.authtoken.models import Token

    bob = api_as(team.bob)
    assert bob.delete("/api/v1/auth/token/").status_code == 204
    assert bob.get("/api/v1/projects/").status_code == 401  # that token is gone

    token = Token.objects.create(user=team.bob)
    client.force_login(team.bob)
    changed = client.post(
        "/accounts/password/",
        {"old_password": PASSWORD, "new_password1": "a-new-horse-battery", "new_password2": "a-new-horse-battery"},
    )

    assert changed.status_code == 302
    assert not Token.objects.filter(key=token.key).exists()
    team.bob.refresh_from_db()
    team.bob.last_login = None
    team.bob.save()  # a save that leaves the password alone keeps a token
    kept = Token.objects.create(user=team.bob)
    team.bob.save()
    assert Token.objects.filter(key=kept.key).exists()


def test_an_invitation_cannot_be_captured_by_a_look_alike_account(team, api_as, make_user, client, settings):
    owner = api_as(team.alice)
    url = f"/api/v1/projects/{team.project.id}/members/"
    make_user("ceo", email="ceo@corp.com")
    make_user("mallory", email="ceo@corp.com")  # the same address typed on two accounts

    assert owner.post(url, {"user": "ceo@corp.com"}, format="json").status_code == 400  # not unique: nobody

    settings.DEEPIMAGE_SELF_SIGNUP = True
    signup = client.post(
        "/accounts/signup/",
        {"username": "boss@corp.com", "email": "x@example.com", "password1": PASSWORD, "password2": PASSWORD},
    )
    refused = owner.post(url, {"user": "x@example.com"}, format="json")

    assert signup.status_code == 200 and "may not contain" in signup.content.decode()
    assert refused.status_code == 400 and "Invite by username" in refused.json()["user"][0]
    assert owner.post(url, {"user": "ceo"}, format="json").status_code == 201


def test_sign_ins_are_throttled_per_username_and_per_address_and_a_success_resets(team, client, api_as, settings):
    from axes.models import AccessAttempt

    settings.AXES_FAILURE_LIMIT = 3
    for _ in range(2):
        assert client.post("/accounts/login/", {"username": "bob", "password": "wrong"}).status_code == 200
    assert client.post("/accounts/login/", {"username": "bob", "password": PASSWORD}).status_code == 302  # resets
    for _ in range(3):
        client.post("/accounts/login/", {"username": "bob", "password": "wrong"})

    page = client.post("/accounts/login/", {"username": "bob", "password": PASSWORD})
    token = api_as(None).post("/api/v1/auth/token/", {"username": "bob", "password": PASSWORD}, format="json")
    elsewhere = api_as(None).post(
        "/api/v1/auth/token/", {"username": "alice", "password": PASSWORD}, format="json", REMOTE_ADDR="10.9.9.9"
    )

    assert page.status_code == 429 and int(page["Retry-After"]) == 15 * 60
    assert token.status_code == 429 and "try again in 15 minutes" in token.json()["detail"]
    assert elsewhere.status_code == 200  # another account from another address is not held up
    AccessAttempt.objects.all().delete()  # the cool-off, as an admin would lift it
    assert client.post("/accounts/login/", {"username": "bob", "password": PASSWORD}).status_code == 302


def test_failed_token_requests_count_as_failed_sign_ins(team, api_as, settings):
    settings.AXES_FAILURE_LIMIT = 2
    anonymous = api_as(None)
    answers = [
        anonymous.post("/api/v1/auth/token/", {"username": "vera", "password": "nope"}, format="json").status_code
        for _ in range(3)
    ]

    assert answers == [400, 429, 429]  # the failure that reaches the limit is already refused


def test_sign_ups_are_throttled_per_address(client, settings):
    settings.DEEPIMAGE_SELF_SIGNUP = True
    settings.DEEPIMAGE_SIGNUPS_PER_HOUR = 2

    def sign_up(name: str, address: str):
        form = {"username": name, "email": f"{name}@example.com", "password1": PASSWORD, "password2": PASSWORD}
        client.logout()
        return client.post("/accounts/signup/", form, REMOTE_ADDR=address)

    answers = [sign_up(name, "10.1.2.3").status_code for name in ("ann", "ben", "cat")]
    other = sign_up("dan", "10.1.2.4")

    assert answers == [302, 302, 429]
    assert other.status_code == 302
    assert not get_user_model().objects.filter(username="cat").exists()
