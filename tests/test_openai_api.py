"""The OpenAI-compatible Images API: the official `openai` client against the live stack (a
real Daphne and Celery worker), and the translations it rests on without HTTP."""

import base64
import io
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from unittest import mock

import openai
import pytest
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.utils import timezone
from PIL import Image

from generation import execution, openai_images
from generation.models import GenerationSession, ModelEntry, ProjectQuota
from studio.models import ApiKey
from studio.services import project_create, project_delete

Mode = GenerationSession.Mode


def on_the_stack(test):
    """A test through the live stack, whose processes must see the test's rows."""
    return pytest.mark.stack(pytest.mark.django_db(transaction=True)(test))


def png_bytes(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def picture(size=(64, 64)) -> bytes:
    """A left-to-right grey ramp: something an edit can visibly change."""
    ramp = Image.linear_gradient("L").resize(size).convert("RGB")
    return png_bytes(ramp)


def left_half_transparent_mask(size=(64, 64)) -> bytes:
    """OpenAI's convention: fully transparent pixels (the left half) are the ones to change."""
    mask = Image.new("RGBA", size, (0, 0, 0, 255))
    mask.paste((0, 0, 0, 0), (0, 0, size[0] // 2, size[1]))
    return png_bytes(mask)


def fetch(url: str) -> tuple[int, str, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status, response.headers.get_content_type(), response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get_content_type(), error.read()


@pytest.fixture
def client_for(live_stack):
    """client_for(secret) -> the official client on /v1, without its automatic retries."""
    return lambda secret: openai.OpenAI(base_url=f"http://{live_stack}/v1", api_key=secret, max_retries=0)


@pytest.fixture
def bob_client(team, tiny_model, api_key, client_for):
    return client_for(api_key(user=team.bob))


# Through the real client and the live stack.


@on_the_stack
def test_generate_two_images_as_base64(team, tiny_model, bob_client):
    answer = bob_client.images.generate(prompt="a lighthouse", n=2, size="64x96", quality="low")

    pictures = [Image.open(io.BytesIO(base64.b64decode(item.b64_json))) for item in answer.data]
    assert [(image.format, image.size) for image in pictures] == [("PNG", (64, 96))] * 2
    assert answer.size == "64x96" and answer.output_format == "png" and answer.quality == "low"
    session = GenerationSession.objects.get()
    assert session.status == GenerationSession.Status.SUCCEEDED and session.mode == Mode.TEXT_TO_IMAGE
    assert session.api_key == ApiKey.objects.get() and session.created_by == team.bob
    assert session.project == team.project and session.model == tiny_model
    assert (session.num_images, session.steps) == (2, 2)  # low: half the model's 4 default steps


@on_the_stack
def test_generate_as_a_signed_url_that_expires_and_dies_with_its_key(tiny_model, bob_client):
    answer = bob_client.images.generate(prompt="a barn", size="64x64", response_format="url")

    url = answer.data[0].url
    status, content_type, body = fetch(url)  # no key: the signature is the permission
    assert (status, content_type) == (200, "image/png")
    assert Image.open(io.BytesIO(body)).size == (64, 64)
    assert fetch(url[:-3] + ("AAA" if not url.endswith("AAA") else "BBB"))[0] == 403
    image = GenerationSession.objects.get().images.get()
    with mock.patch("django.core.signing.time.time", return_value=time.time() - 2 * 3600):
        old_token = openai_images.file_token(image, openai_images.Delivery())
    assert fetch(url.rsplit("/", 1)[0] + "/" + old_token)[0] == 403
    ApiKey.objects.update(revoked_at=timezone.now())
    assert fetch(url)[0] == 404


@on_the_stack
def test_edit_with_a_transparent_mask_inpaints_the_transparent_area(tiny_model, bob_client):
    answer = bob_client.images.edit(
        image=("ramp.png", picture(), "image/png"),
        mask=("mask.png", left_half_transparent_mask(), "image/png"),
        prompt="a red door",
        size="64x64",
        quality="high",
    )

    result = Image.open(io.BytesIO(base64.b64decode(answer.data[0].b64_json))).convert("RGB")
    original = Image.open(io.BytesIO(picture())).convert("RGB")
    assert result.size == (64, 64)
    assert result.crop((0, 0, 32, 64)).tobytes() != original.crop((0, 0, 32, 64)).tobytes()
    session = GenerationSession.objects.get()
    assert session.mode == Mode.INPAINT and session.prompt == "a red door" and session.api_key_id
    with session.mask_image.open("rb") as stored:
        mask = Image.open(stored).convert("L")
        assert (mask.getpixel((5, 5)), mask.getpixel((60, 5))) == (255, 0)  # white repaints, black keeps


@on_the_stack
@pytest.mark.filterwarnings("ignore:deprecated:DeprecationWarning")  # OpenAI retired variations; we have not
def test_a_variation_is_image_to_image_without_a_prompt(tiny_model, bob_client):
    answer = bob_client.images.create_variation(image=("ramp.png", picture((64, 80)), "image/png"), size="64x80")

    assert Image.open(io.BytesIO(base64.b64decode(answer.data[0].b64_json))).size == (64, 80)
    session = GenerationSession.objects.get()
    assert (session.mode, session.prompt, session.guidance_scale) == (Mode.IMAGE_TO_IMAGE, "", 1.0)
    assert session.init_image and session.api_key_id


@on_the_stack
def test_models_lists_the_projects_base_models(team, tiny_model, bob_client):
    elsewhere = ModelEntry.objects.create(name="Another team's", source="/nowhere")
    elsewhere.projects.add(project_create(name="Other", owner=team.charlie))

    listed = [model.id for model in bob_client.models.list()]

    assert listed == [tiny_model.name]
    assert bob_client.models.retrieve(tiny_model.name).owned_by == "deepimage"
    with pytest.raises(openai.NotFoundError):
        bob_client.models.retrieve(elsewhere.name)


@on_the_stack
def test_bad_requests_are_bad_request_errors_naming_the_parameter(tiny_model, bob_client):
    for arguments, param in (({"size": "huge"}, "size"), ({"size": "65x64"}, "size"), ({"n": 5}, "n")):
        with pytest.raises(openai.BadRequestError) as refused:
            bob_client.images.generate(prompt="x", **arguments)
        assert refused.value.param == param and refused.value.type == "invalid_request_error"
    ramp = ("ramp.png", picture(), "image/png")
    for image, mask, message in (
        (ramp, ("mask.png", picture(), "image/png"), "alpha channel"),
        ([ramp, ramp], ("mask.png", left_half_transparent_mask((32, 32)), "image/png"), "32×32"),  # sent as image[]
    ):
        with pytest.raises(openai.BadRequestError) as refused:
            bob_client.images.edit(image=image, mask=mask, prompt="x")
        assert refused.value.param == "mask" and message in refused.value.message
    assert not GenerationSession.objects.exists()


@on_the_stack
def test_a_revoked_key_is_an_authentication_error_and_a_viewer_key_may_not_generate(
    team, tiny_model, api_key, client_for
):
    secret = api_key(user=team.bob)
    ApiKey.objects.filter(prefix=secret[:12]).update(revoked_at=timezone.now())
    viewer = client_for(api_key(user=team.bob, role="viewer"))

    with pytest.raises(openai.AuthenticationError):
        client_for(secret).images.generate(prompt="x")
    with pytest.raises(openai.PermissionDeniedError):
        viewer.images.generate(prompt="x")
    assert [model.id for model in viewer.models.list()] == [tiny_model.name]


@on_the_stack
def test_over_the_projects_quota_is_a_rate_limit_error(team, tiny_model, bob_client):
    ProjectQuota.objects.create(project=team.project, images_per_day=1)

    with pytest.raises(openai.RateLimitError) as refused:
        bob_client.images.generate(prompt="x", n=2)

    assert int(refused.value.response.headers["Retry-After"]) > 0
    assert not GenerationSession.objects.exists()


@on_the_stack
def test_a_failed_generation_is_a_server_error_the_client_does_not_retry(broken_model, bob_client):
    with pytest.raises(openai.InternalServerError) as failed:
        bob_client.images.generate(prompt="x", model=broken_model.name, size="64x64")

    assert failed.value.type == "server_error" and failed.value.code == "generation_failed"
    assert "Missing folder" in failed.value.message
    assert failed.value.response.headers["x-should-retry"] == "false"
    assert GenerationSession.objects.get().status == GenerationSession.Status.FAILED


@contextmanager
def a_long_generation_waited_for(client):
    """Yields (the call's future, its session) while the client waits for a job of seconds."""
    with ThreadPoolExecutor(1) as pool:
        call = pool.submit(client.images.generate, prompt="x", size="1024x1024", quality="max")
        deadline = time.monotonic() + 30
        while not GenerationSession.objects.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        yield call, GenerationSession.objects.get()


@on_the_stack
def test_a_cancelled_generation_is_a_conflict_the_client_does_not_retry(tiny_model, bob_client):
    with a_long_generation_waited_for(bob_client) as (call, session):
        execution.generation_cancel(session)

        with pytest.raises(openai.ConflictError) as cancelled:
            call.result(timeout=60)

    assert cancelled.value.code == "generation_cancelled"
    assert cancelled.value.response.headers["x-should-retry"] == "false"
    assert GenerationSession.objects.get().status == GenerationSession.Status.CANCELLED


@on_the_stack
def test_a_generation_deleted_with_its_project_while_waited_for_is_not_found(team, tiny_model, bob_client):
    with a_long_generation_waited_for(bob_client) as (call, _):
        project_delete(team.project)

        with pytest.raises(openai.NotFoundError, match="deleted before it ended"):
            call.result(timeout=60)

    assert not GenerationSession.objects.exists()


# The translations, without HTTP.


@pytest.mark.parametrize(
    ("quality", "steps"), [("low", 10), ("medium", 20), ("auto", 20), ("standard", 20), ("high", 30), ("hd", 30)]
)
def test_quality_scales_the_models_default_steps(quality, steps):
    assert openai_images.steps_for_quality(ModelEntry(default_steps=20), quality, Mode.TEXT_TO_IMAGE) == steps


def test_quality_keeps_image_modes_above_one_denoising_step():
    model = ModelEntry(default_steps=1)
    assert openai_images.steps_for_quality(model, "low", Mode.TEXT_TO_IMAGE) == 1
    assert openai_images.steps_for_quality(model, "low", Mode.INPAINT) == 2
    with pytest.raises(ValidationError, match="quality"):
        openai_images.steps_for_quality(model, "ultra", Mode.TEXT_TO_IMAGE)


@pytest.mark.parametrize(
    ("size", "parsed"), [(None, None), ("auto", None), ("512x512", (512, 512)), ("64x1024", (64, 1024))]
)
def test_sizes_parse(size, parsed):
    assert openai_images.parse_size(size) == parsed


@pytest.mark.parametrize("size", ["512", "512x", "512X512", "60x64", "64x4096", "0x64", 512])
def test_bad_sizes_are_refused_on_size(size):
    with pytest.raises(ValidationError) as refused:
        openai_images.parse_size(size)
    assert list(refused.value.message_dict) == ["size"]


def test_a_transparent_mask_becomes_white_where_it_is_transparent():
    mask = Image.new("RGBA", (8, 8), (10, 20, 30, 255))
    mask.putpixel((1, 1), (0, 0, 0, 0))
    mask.putpixel((2, 2), (255, 255, 255, 1))  # nearly transparent is not transparent

    converted = Image.open(openai_images.repaint_mask_from_openai(ContentFile(png_bytes(mask))))

    assert converted.mode == "L"
    assert [converted.getpixel(point) for point in ((1, 1), (2, 2), (5, 5))] == [255, 0, 0]


def test_a_mask_without_alpha_is_refused():
    with pytest.raises(ValidationError, match="alpha channel") as refused:
        openai_images.repaint_mask_from_openai(ContentFile(picture()))
    assert list(refused.value.message_dict) == ["mask"]


@pytest.mark.parametrize(("output_format", "pillow_format"), [("jpeg", "JPEG"), ("webp", "WEBP")])
def test_outputs_convert_from_the_stored_png(output_format, pillow_format):
    converted = openai_images.encode_output(picture(), output_format, compression=50)

    assert Image.open(io.BytesIO(converted)).format == pillow_format
    assert openai_images.encode_output(picture(), "png") == picture()


@pytest.mark.django_db
def test_openai_model_names_mean_the_keys_default_model(team, tiny_model, api_key):
    key = ApiKey.objects.get(prefix=api_key()[:12])

    for name in (None, "dall-e-3", "gpt-image-1", tiny_model.name):
        assert openai_images.generation_call(key, {"prompt": "x", "model": name}).fields["model_id"] == tiny_model.id
    with pytest.raises(ValidationError, match="Unknown model"):
        openai_images.generation_call(key, {"prompt": "x", "model": "sdxl-nonexistent"})


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"stream": True}, "stream"),
        ({"background": "transparent"}, "background"),
        ({"output_format": "gif"}, "output_format"),
        ({"response_format": "html"}, "response_format"),
        ({"output_compression": 101}, "output_compression"),
        ({"n": "two"}, "n"),
        ({"prompt": ""}, "prompt"),
        ({"quality": ["high"]}, "quality"),
        ({"output_format": {"png": 1}}, "output_format"),
        ({"response_format": ["url"]}, "response_format"),
    ],
)
def test_what_cannot_be_honoured_is_refused(team, tiny_model, api_key, body, param):
    key = ApiKey.objects.get(prefix=api_key()[:12])

    with pytest.raises(ValidationError) as refused:
        openai_images.generation_call(key, {"prompt": "x"} | body)

    assert list(refused.value.message_dict) == [param]


@pytest.mark.django_db
def test_submission_errors_name_openais_fields(team, tiny_model, api_key):
    key = ApiKey.objects.get(prefix=api_key()[:12])
    mask = ContentFile(left_half_transparent_mask((32, 32)))
    call = openai_images.edit_call(key, {"prompt": "x"}, [ContentFile(picture(), name="in.png")], mask)

    with pytest.raises(ValidationError) as refused:
        openai_images.openai_submit(key, team.bob, call)

    assert list(refused.value.message_dict) == ["mask"]
    assert not GenerationSession.objects.exists()
