"""Results after they exist: Save, Delete with lineage kept consistent, Download, ZIP, lineage."""

import io
import json
import zipfile

import pytest
from PIL import Image

from generation import results, submission
from generation.models import GeneratedImage, GenerationSession

pytestmark = [pytest.mark.django_db, pytest.mark.filterwarnings("ignore::FutureWarning")]


@pytest.fixture
def generate(generated):
    """generate(**fields) -> a finished session of two images at seed 7, unless told otherwise."""
    return lambda **fields: generated(**({"num_images": 2, "seed": 7} | fields))


@pytest.fixture
def chain(generate):
    """A (text to image) → B (image + text from A) → C (image to image from B, guidance ending
    halfway), one image each down the chain; A's second image stays alone."""
    first = generate()
    a = first.images.get(index=0)
    b = generate(mode="image_text", source_image=a.id, prompt="a red barn", num_images=1).images.get()
    c = generate(mode="image_to_image", source_image=b.id, strength=0.5, guidance_end=0.5, num_images=1).images.get()
    return type("Chain", (), {"a": a, "b": b, "c": c, "first": first})


def test_lineage_lists_ancestors_oldest_first_with_what_changed(chain, api_as, team):
    response = api_as(team.vera).get(f"/api/v1/images/{chain.c.id}/lineage/")

    assert response.status_code == 200
    lineage = response.json()
    assert [node["id"] for node in lineage["ancestors"]] == [chain.a.id, chain.b.id]
    assert lineage["ancestors"][0]["changes"] == []  # the first generation has no parent
    b_changes = {change["name"]: (change["from"], change["to"]) for change in lineage["ancestors"][1]["changes"]}
    assert b_changes["mode"] == ("Text to image", "Image + text")
    assert b_changes["prompt"] == ("a barn", "a red barn")
    c_changes = {change["name"]: (change["from"], change["to"]) for change in lineage["image"]["changes"]}
    assert c_changes["mode"] == ("Image + text", "Image to image") and c_changes["strength"] == (0.75, 0.5)
    assert c_changes["guidance_end"] == (1.0, 0.5)
    assert "model" not in c_changes and lineage["starts_at_deleted_image"] is False


def test_lineage_shows_descendants_as_a_tree(chain, api_as, team):
    lineage = api_as(team.bob).get(f"/api/v1/images/{chain.a.id}/lineage/").json()

    assert lineage["ancestors"] == []
    [b] = lineage["descendants"]
    assert b["id"] == chain.b.id and [child["id"] for child in b["children"]] == [chain.c.id]
    assert b["children"][0]["children"] == []


def test_deleting_a_middle_image_marks_its_children_and_removes_its_file(
    chain, api_as, team, settings, django_capture_on_commit_callbacks
):
    path = settings.MEDIA_ROOT / chain.b.file.name
    assert path.exists()

    with django_capture_on_commit_callbacks(execute=True):
        response = api_as(team.bob).delete(f"/api/v1/images/{chain.b.id}/")

    assert response.status_code == 204
    assert not GeneratedImage.objects.filter(pk=chain.b.id).exists() and not path.exists()
    c = GeneratedImage.objects.get(pk=chain.c.id)
    assert c.parent is None and c.parent_deleted
    lineage = api_as(team.bob).get(f"/api/v1/images/{chain.c.id}/lineage/").json()
    assert lineage["ancestors"] == [] and lineage["starts_at_deleted_image"] is True
    assert api_as(team.bob).get(f"/api/v1/images/{chain.a.id}/lineage/").json()["descendants"] == []
    assert GenerationSession.objects.get(pk=c.session_id).source_image is None  # the session row stays


def test_a_deleted_image_that_was_a_queued_base_fails_that_job_clearly(team, tiny_model, chain, run):
    queued = submission.generation_submit(
        user=team.bob, project=team.project, model_id=tiny_model.id, mode="image_to_image", source_image=chain.c.id
    )
    results.image_delete(chain.c)

    finished = run(queued)
    assert finished.status == "failed" and "deleted" in finished.error_message


@pytest.mark.parametrize(
    ("who", "save", "delete"), [("alice", 200, 204), ("bob", 200, 204), ("vera", 403, 403), ("charlie", 404, 404)]
)
def test_save_and_delete_follow_the_roles(team, api_as, who, save, delete, generate):
    image = generate(num_images=1).images.get()
    client = api_as(getattr(team, who))

    assert client.patch(f"/api/v1/images/{image.id}/", {"saved": True}, format="json").status_code == save
    assert client.delete(f"/api/v1/images/{image.id}/").status_code == delete
    assert GeneratedImage.objects.filter(pk=image.id).exists() == (delete != 204)
    if save == 200 and delete != 204:
        assert GeneratedImage.objects.get(pk=image.id).saved


def test_save_needs_a_boolean(team, api_as, generate):
    image = generate(num_images=1).images.get()

    response = api_as(team.bob).patch(f"/api/v1/images/{image.id}/", {"saved": "perhaps"}, format="json")
    assert response.status_code == 400 and "saved" in response.json()


def test_save_all_puts_every_image_in_the_saved_set(team, api_as, generate):
    session = generate(num_images=3)

    assert api_as(team.vera).post(f"/api/v1/generations/{session.id}/save/").status_code == 403
    response = api_as(team.bob).post(f"/api/v1/generations/{session.id}/save/")
    assert response.status_code == 200 and response.json() == {"saved": 3}
    assert set(session.images.values_list("saved", flat=True)) == {True}


def test_download_all_is_a_zip_of_pngs_with_their_parameters(team, api_as, generate):
    session = generate(num_images=2, prompt="A barn, at dusk!")

    response = api_as(team.vera).get(f"/api/v1/generations/{session.id}/archive/")

    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    assert f'filename="deepimage-{session.id}-a-barn-at-dusk.zip"' in response["Content-Disposition"]
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    stem = f"deepimage-{session.id}-a-barn-at-dusk"
    assert sorted(archive.namelist()) == sorted(
        [f"{stem}-1-seed7.png", f"{stem}-1-seed7.txt", f"{stem}-2-seed8.png", f"{stem}-2-seed8.txt", "parameters.json"]
    )
    first = session.images.get(index=0)
    with first.file.open("rb") as handle:
        assert archive.read(f"{stem}-1-seed7.png") == handle.read()
    assert "Seed: 8" in archive.read(f"{stem}-2-seed8.txt").decode()
    parameters = json.loads(archive.read("parameters.json"))
    assert parameters["prompt"] == "A barn, at dusk!" and [image["seed"] for image in parameters["images"]] == [7, 8]


def test_download_all_is_for_members_only(team, api_as, generate):
    session = generate(num_images=1)
    assert api_as(team.charlie).get(f"/api/v1/generations/{session.id}/archive/").status_code == 404


def test_download_names_the_file_and_asks_to_save_it(team, api_as, generate):
    image = generate(num_images=1).images.get()

    response = api_as(team.vera).get(f"/api/v1/images/{image.id}/file/?download=1")
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment;")
    assert f"deepimage-{image.session_id}-a-barn-1-seed7.png" in response["Content-Disposition"]
    assert api_as(team.vera).get(f"/api/v1/images/{image.id}/file/")["Content-Disposition"].startswith("inline;")


def test_image_detail_carries_the_parameters_for_use_these_parameters(team, api_as, chain):
    data = api_as(team.vera).get(f"/api/v1/images/{chain.c.id}/").json()

    assert data["seed"] == chain.c.seed and data["parent"] == chain.b.id
    assert data["generation"]["mode"] == "image_to_image" and data["generation"]["source_image"] == chain.b.id
    assert data["generation"]["strength"] == 0.5


def test_image_page_shows_lineage_to_members_only(client, team, chain):
    client.force_login(team.vera)
    page = client.get(f"/projects/{team.project.id}/images/{chain.b.id}/").content.decode()

    assert "Made from" in page and f'data-image="{chain.a.id}"' in page and f'data-image="{chain.c.id}"' in page
    assert "Delete" not in page  # a viewer changes nothing
    client.force_login(team.charlie)
    assert client.get(f"/projects/{team.project.id}/images/{chain.b.id}/").status_code == 404


def test_image_page_and_png_say_where_guidance_ended(client, team, chain):
    client.force_login(team.vera)
    page = client.get(f"/projects/{team.project.id}/images/{chain.c.id}/").content.decode()
    ended_early = "<th>Guidance end</th><td>50 % of the steps</td>"

    assert ended_early in page
    with chain.c.file.open("rb") as png, Image.open(png) as image:
        assert image.text["parameters"].endswith("Guidance end: 0.5")
    assert ended_early[:22] not in client.get(f"/projects/{team.project.id}/images/{chain.b.id}/").content.decode()


def test_delete_from_the_image_page_is_for_writers(client, team, chain):
    client.force_login(team.vera)
    assert client.post(f"/projects/{team.project.id}/images/{chain.c.id}/delete/").status_code == 403
    client.force_login(team.bob)
    response = client.post(f"/projects/{team.project.id}/images/{chain.c.id}/delete/")
    assert response.status_code == 302 and not GeneratedImage.objects.filter(pk=chain.c.id).exists()


def test_an_image_of_another_project_is_not_found_under_this_one(client, team, chain):
    from studio.services import project_create

    other = project_create(name="Other", owner=team.bob)
    client.force_login(team.bob)
    assert client.get(f"/projects/{other.id}/images/{chain.a.id}/").status_code == 404


def test_with_a_bucket_members_get_a_short_lived_signed_url_and_outsiders_nothing(team, tiny_model, api_as, settings):
    session = submission.generation_submit(user=team.bob, project=team.project, model_id=tiny_model.id, prompt="a barn")
    image = GeneratedImage.objects.create(
        session=session, index=0, seed=7, width=64, height=64, file="projects/1/sessions/1/0-7.png"
    )
    settings.STORAGES = settings.STORAGES | {
        "default": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                "bucket_name": "team-images",
                "endpoint_url": "https://s3.example.com",
                "access_key": "test-key",
                "secret_key": "test-secret",
                "region_name": "us-east-1",
                "querystring_auth": True,
                "querystring_expire": 300,
                "signature_version": "s3v4",
            },
        }
    }

    response = api_as(team.vera).get(f"/api/v1/images/{image.id}/file/?download=1")

    assert response.status_code == 302
    url = response["Location"]
    assert url.startswith("https://s3.example.com/team-images/projects/1/sessions/1/0-7.png?")
    assert "X-Amz-Signature=" in url and "X-Amz-Expires=300" in url
    assert "response-content-disposition=attachment" in url
    assert api_as(team.charlie).get(f"/api/v1/images/{image.id}/file/").status_code == 404
