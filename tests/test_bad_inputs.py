"""Hostile and mistaken inputs: each gets its 4xx, and nothing is written (no row, no file,
no job). Uploads that are not PNG, JPEG or WebP, headers that declare huge images, inputs the
mode does not use, numbers no column can hold, filters that are not valid, other projects'
ids, and bodies over the upload limit (refused by the ASGI guard before Django reads them)."""

import io
import struct
import zlib

import pytest
from channels.testing import HttpCommunicator
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from generation.models import GeneratedImage, GenerationSession

pytestmark = pytest.mark.django_db


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def declared_png(width: int, height: int, bit_depth: int = 8, colour_type: int = 0) -> bytes:
    """A PNG whose header declares width × height but that holds no pixels at all."""
    header = struct.pack(">IIBBBBB", width, height, bit_depth, colour_type, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", header) + png_chunk(b"IEND", b"")


def picture(format_: str = "PNG", size=(64, 64), mode: str = "RGB") -> bytes:
    """A valid file of a patterned picture (so that it does not compress to a few bytes)."""
    pattern = bytes((index * 37) % 251 for index in range(size[0] * size[1] * 3))
    image = Image.frombytes("RGB", size, pattern).convert(mode)
    buffer = io.BytesIO()
    image.save(buffer, format=format_)
    return buffer.getvalue()


EPS = b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 64 64\nnewpath 0 0 moveto 64 64 lineto stroke\n%%EOF\n"


def upload(data: bytes, name: str = "input.png") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type="application/octet-stream")


@pytest.fixture
def nothing_written(stored_files, django_capture_on_commit_callbacks):
    """with nothing_written(): … -> asserts that no session, image, file or job came of it."""
    from contextlib import contextmanager

    @contextmanager
    def check():
        before = (GenerationSession.objects.count(), GeneratedImage.objects.count(), stored_files())
        with django_capture_on_commit_callbacks() as callbacks:
            yield
        assert (GenerationSession.objects.count(), GeneratedImage.objects.count(), stored_files()) == before
        assert callbacks == []

    return check


def with_mask(mask: bytes) -> dict:
    return {"init_image": picture(), "mask_image": mask}


def base(image: bytes) -> dict:
    return {"init_image": image}


UPLOADS = [
    # (what, mode, files, the field named)
    ("a mask declaring 20000×20000", "inpaint", with_mask(declared_png(20000, 20000)), "mask_image"),
    ("a 16-bit mask of 13000×13000", "inpaint", with_mask(declared_png(13000, 13000, 16)), "mask_image"),
    ("an image declaring 5000×5000 (25 MP)", "image_to_image", base(declared_png(5000, 5000)), "init_image"),
    ("an EPS file", "image_to_image", base(EPS), "init_image"),
    ("a TIFF", "image_to_image", base(picture("TIFF")), "init_image"),
    ("a BMP", "image_to_image", base(picture("BMP")), "init_image"),
    ("a GIF", "image_to_image", base(picture("GIF", mode="L")), "init_image"),
    ("half a PNG", "image_to_image", base(picture()[:300]), "init_image"),
    ("a PNG not zlib inside", "image_to_image", base(picture()[:41] + b"\0\0" + picture()[43:]), "init_image"),
    ("random bytes", "image_to_image", base(bytes(range(256)) * 8), "init_image"),
    ("an EPS mask", "inpaint", with_mask(EPS), "mask_image"),
    ("an image in text-to-image", "text_to_image", base(picture()), "init_image"),
    ("a mask in image-to-image", "image_to_image", with_mask(picture()), "mask_image"),
    ("a mask of another size", "inpaint", with_mask(picture(size=(32, 32))), "mask_image"),
]  # fmt: skip


@pytest.mark.parametrize(("what", "mode", "files", "field"), UPLOADS, ids=[case[0] for case in UPLOADS])
def test_a_bad_upload_is_a_400_on_its_field(team, tiny_model, api_as, nothing_written, what, mode, files, field):
    payload = {"model": tiny_model.id, "prompt": "a barn", "mode": mode, "steps": 4}
    payload |= {name: upload(data) for name, data in files.items()}

    with nothing_written():
        response = api_as(team.bob).post(f"/api/v1/projects/{team.project.id}/generations/", payload)

    assert response.status_code == 400, response.content
    assert field in response.json(), response.json()
    assert "Traceback" not in response.content.decode() and "/" not in response.json()[field][0]


JSON_INPUTS = [
    ("an adapter weight of 400 digits", {"adapters": [{"id": 1, "weight": int("9" * 400)}]}, "adapters"),
    ("an adapter id of 400 digits", {"adapters": [{"id": int("9" * 400), "weight": 1}]}, "adapters"),
    ("a model id of 400 digits", {"model": int("9" * 400)}, "model"),
    ("a model id as a float", {"model": 1.5}, "model"),
    ("a model id that is true", {"model": True}, "model"),
    ("steps of 400 digits", {"steps": int("9" * 400)}, "steps"),
    ("a seed of 400 digits", {"seed": int("9" * 400)}, "seed"),
    ("guidance of NaN", {"guidance_scale": "NaN"}, "guidance_scale"),
    ("guidance of infinity", {"guidance_scale": "Infinity"}, "guidance_scale"),
    ("a prompt of 10,001 characters", {"prompt": "x" * 10_001}, "prompt"),
    ("a negative prompt of 10,001 characters", {"negative_prompt": "x" * 10_001}, "negative_prompt"),
    ("a source image in text-to-image", {"source_image": 1}, "source_image"),
    ("a source image of 400 digits", {"mode": "image_to_image", "source_image": int("9" * 400)}, "source_image"),
    ("adapters as an object", {"adapters": {"id": 1}}, "adapters"),
]


@pytest.mark.parametrize(("what", "change", "field"), JSON_INPUTS, ids=[case[0] for case in JSON_INPUTS])
def test_a_bad_value_is_a_400_on_its_field(team, tiny_model, api_as, nothing_written, what, change, field):
    payload = {"model": tiny_model.id, "prompt": "a barn", "steps": 4, "width": 64, "height": 64} | change

    with nothing_written():
        response = api_as(team.bob).post(f"/api/v1/projects/{team.project.id}/generations/", payload, format="json")

    assert response.status_code == 400, response.content
    assert field in response.json(), response.json()


def test_a_source_image_of_another_project_is_refused(team, tiny_model, api_as, nothing_written, generated):
    from studio.services import project_create

    theirs = generated().images.first()  # in the team's project
    other = project_create(name="Elsewhere", owner=team.alice)

    with nothing_written():
        response = api_as(team.alice).post(
            f"/api/v1/projects/{other.id}/generations/",
            {"model": tiny_model.id, "mode": "image_to_image", "source_image": theirs.id},
            format="json",
        )

    assert response.status_code == 400 and "source_image" in response.json()


HISTORY_QUERIES = ["model=²", f"user={'9' * 5000}", "user=-3", "mode=outpaint", f"q={'x' * 201}", "saved=maybe"]


@pytest.mark.parametrize("query", HISTORY_QUERIES)
def test_a_bad_history_filter_is_a_400_on_the_api_and_the_page(team, api_as, client, query):
    client.force_login(team.bob)

    from_api = api_as(team.bob).get(f"/api/v1/projects/{team.project.id}/generations/?{query}")
    from_page = client.get(f"/projects/{team.project.id}/?{query}")

    parameter = query.split("=")[0]
    assert from_api.status_code == 400 and parameter in from_api.json()
    assert from_page.status_code == 400 and parameter in from_page.content.decode()


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/generations/99999999999999999999999/",
        "/api/v1/images/99999999999999999999999/",
        "/api/v1/projects/99999999999999999999999/generations/",
        "/projects/99999999999999999999999/",
    ],
)
def test_an_id_no_database_can_hold_is_a_404(team, api_as, client, path):
    client.force_login(team.bob)
    answer = (client if path.startswith("/projects/") else api_as(team.bob)).get(path)

    assert answer.status_code == 404


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("put", "/api/v1/projects/{project}/generations/", 405),
        ("delete", "/api/v1/queue/", 405),
        ("post", "/api/v1/models/", 405),
    ],
)
def test_wrong_methods_are_405(team, api_as, nothing_written, method, path, status):
    with nothing_written():
        response = getattr(api_as(team.bob), method)(path.format(project=team.project.id))

    assert response.status_code == status


def test_a_body_of_the_wrong_content_type_is_a_415(team, api_as, nothing_written):
    with nothing_written():
        response = api_as(team.bob).post(
            f"/api/v1/projects/{team.project.id}/generations/", "prompt=x", content_type="text/plain"
        )

    assert response.status_code == 415


def test_malformed_json_is_a_400(team, api_as, nothing_written):
    with nothing_written():
        response = api_as(team.bob).post(
            f"/api/v1/projects/{team.project.id}/generations/", "{not json", content_type="application/json"
        )

    assert response.status_code == 400


def test_another_projects_generations_are_404_everywhere(team, api_as, generated, nothing_written):
    session = generated()
    image = session.images.first()
    outsider = api_as(team.charlie)  # no member of the team's project

    with nothing_written():
        answers = [
            outsider.get(f"/api/v1/generations/{session.id}/").status_code,
            outsider.post(f"/api/v1/generations/{session.id}/cancel/").status_code,
            outsider.post(f"/api/v1/generations/{session.id}/save/").status_code,
            outsider.get(f"/api/v1/generations/{session.id}/archive/").status_code,
            outsider.get(f"/api/v1/images/{image.id}/").status_code,
            outsider.get(f"/api/v1/images/{image.id}/file/").status_code,
            outsider.delete(f"/api/v1/images/{image.id}/").status_code,
            outsider.post(f"/api/v1/projects/{team.project.id}/generations/", {"prompt": "x"}).status_code,
        ]

    assert answers == [404] * 8


def asgi_post(application, body: bytes, headers: list) -> tuple[int, bytes]:
    from asgiref.sync import async_to_sync

    async def post():
        communicator = HttpCommunicator(application, "POST", "/api/v1/projects/1/generations/", body, headers)
        response = await communicator.get_response(timeout=10)
        return response["status"], response["body"]

    return async_to_sync(post)()


def test_a_body_declared_over_the_upload_limit_is_a_413_before_django_reads_it():
    from deepimage_site.asgi import application

    declared = str(20 * 1024 * 1024 + 1).encode()
    status, body = asgi_post(application, b"", [(b"content-length", declared), (b"host", b"127.0.0.1")])

    assert status == 413 and b"DEEPIMAGE_MAX_UPLOAD_MB" in body


def test_a_streamed_body_is_cut_off_at_the_limit():
    from deepimage_site.asgi import django_asgi_app
    from deepimage_site.body_limit import BodyLimit

    status, body = asgi_post(BodyLimit(django_asgi_app, 1000), b"x" * 1001, [(b"host", b"127.0.0.1")])

    assert status == 413 and b"larger than" in body


def test_an_unhandled_error_shows_a_reference_and_no_detail_which_the_log_has(team, client, monkeypatch, caplog):
    from generation import selectors

    def broken(*args, **kwargs):
        raise RuntimeError("redis://:hunter2@10.0.0.5:6379/0 went away")

    monkeypatch.setattr(selectors, "project_history", broken)
    client.raise_request_exception = False
    client.force_login(team.bob)

    api = client.get(f"/api/v1/projects/{team.project.id}/generations/")
    page = client.get(f"/projects/{team.project.id}/")

    assert (api.status_code, page.status_code) == (500, 500)
    reference = api.json()["reference"]
    assert "hunter2" not in api.content.decode() and "hunter2" not in page.content.decode()
    assert "Reference:" in page.content.decode()
    logged = [record for record in caplog.records if reference in record.getMessage()]
    assert logged and "hunter2" in str(logged[0].exc_info[1])


def test_a_crash_in_the_engine_tells_the_user_a_readable_message_and_logs_the_rest(
    team, submit, run, monkeypatch, caplog
):
    from generation import execution

    def crash(*args, **kwargs):
        raise RuntimeError("CUDA error at /opt/secret/path/kernel.cu:42")

    monkeypatch.setattr(execution.worker_engine(), "generate", crash)

    session = run(submit())

    assert session.status == "failed" and "its log has the details" in session.error_message
    assert "/opt/secret" not in session.error_message
    assert "/opt/secret" in caplog.text


def test_pngs_and_archives_name_the_model_and_its_hash_never_a_server_path(team, generated, api_as, tiny_model):
    import zipfile

    session = generated(num_images=1)
    with session.images.first().file.open("rb") as handle:
        png = handle.read()
    archive = api_as(team.bob).get(f"/api/v1/generations/{session.id}/archive/")
    content = b"".join(archive.streaming_content) if archive.streaming else archive.content

    assert tiny_model.name.encode() in png and tiny_model.source.encode() not in png
    with zipfile.ZipFile(io.BytesIO(content)) as bundle:
        for name in bundle.namelist():
            assert tiny_model.source.encode() not in bundle.read(name), name


def test_a_failing_file_delete_is_logged_and_the_other_deletes_still_happen(
    team, generated, api_as, stored_files, monkeypatch, caplog, django_capture_on_commit_callbacks
):
    session = generated(num_images=2)
    first, second = session.images.order_by("index")
    storage = first.file.storage
    real_delete = storage.delete

    def flaky_delete(name):
        if name == first.file.name:
            raise OSError("the bucket said no")
        real_delete(name)

    monkeypatch.setattr(storage, "delete", flaky_delete)

    with django_capture_on_commit_callbacks(execute=True):
        response = api_as(team.alice).delete(f"/api/v1/projects/{team.project.id}/")

    assert response.status_code == 204
    assert second.file.name not in stored_files() and first.file.name in stored_files()
    assert "the bucket said no" in caplog.text
