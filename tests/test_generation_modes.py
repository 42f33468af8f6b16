"""Image modes, adapters and their records through the service, the API and the worker code."""

import io

import pytest
from django.core.management import call_command
from PIL import Image

from generation import submission
from generation.engine.metadata import read_parameters
from generation.models import GenerationSession, ModelEntry

pytestmark = [pytest.mark.django_db, pytest.mark.filterwarnings("ignore::FutureWarning")]


def png(size=(96, 64), colour=(200, 40, 40), mode="RGB") -> io.BytesIO:
    buffer = io.BytesIO()
    Image.new(mode, size, colour).save(buffer, format="PNG")
    buffer.seek(0)
    buffer.name = "upload.png"
    return buffer


def generations_url(project_id: int) -> str:
    return f"/api/v1/projects/{project_id}/generations/"


@pytest.fixture
def adapter(tiny_model, tiny_adapter) -> ModelEntry:
    return ModelEntry.objects.create(
        name="Ink wash",
        kind=ModelEntry.Kind.ADAPTER,
        origin=ModelEntry.Origin.CUSTOMIZED,
        family=tiny_model.family,
        source=str(tiny_adapter("lora")),
        base_model=tiny_model,
    )


def test_image_plus_text_upload_follows_the_image_and_runs(team, tiny_model, api_as, run):
    response = api_as(team.bob).post(
        generations_url(team.project.id),
        {"model": tiny_model.id, "mode": "image_text", "prompt": "in autumn", "init_image": png(), "steps": 4},
        format="multipart",
    )
    assert response.status_code == 201, response.content
    session = run(response.json()["id"])

    assert session.status == "succeeded", session.error_message
    assert (session.width, session.height) == (624, 416)  # the upload's 3:2 at SD 1.5's 512² budget
    assert session.init_image.name.startswith(f"projects/{team.project.id}/inputs/")
    assert [image.parent for image in session.images.all()] == [None]


def test_reference_a_result_records_it_as_parent_of_every_new_image(team, tiny_model, generated, run):
    first = generated()
    reference = first.images.get()
    second = submission.generation_submit(
        user=team.bob,
        project=team.project,
        model_id=tiny_model.id,
        mode="image_to_image",
        source_image=reference.id,
        num_images=2,
        steps=4,
        strength=0.5,
    )
    second = run(second)

    assert second.status == "succeeded", second.error_message
    assert second.source_image == reference and not second.init_image
    assert [image.parent_id for image in second.images.all()] == [reference.id, reference.id]
    assert read_parameters(second.images.first().file.read())["source_image"] == reference.id


def test_inpainting_with_an_uploaded_mask(team, tiny_model, run):
    session = submission.generation_submit(
        user=team.bob,
        project=team.project,
        model_id=tiny_model.id,
        mode="inpaint",
        prompt="a window",
        init_image=png((64, 64)),
        mask_image=png((64, 64), 255, "L"),
        steps=4,
    )
    session = run(session)

    assert session.status == "succeeded", session.error_message
    assert session.mask_image and session.images.count() == 1


def test_upscale_doubles_the_reference_at_low_strength(team, tiny_model, generated, run):
    first = generated(width=96, height=64)
    upscaled = submission.generation_submit(
        user=team.bob,
        project=team.project,
        mode="upscale",
        source_image=first.images.get().id,
        steps=10,
    )
    upscaled = run(upscaled)
    assert (upscaled.model, upscaled.seed, upscaled.prompt) == (tiny_model, first.seed, "a barn")

    assert upscaled.status == "succeeded", upscaled.error_message
    assert (upscaled.width, upscaled.height, upscaled.strength) == (192, 128, 0.3)
    assert upscaled.images.get().file.size > 0


@pytest.mark.parametrize(
    ("files", "field"),
    [
        ({"init_image": png()}, "mask_image"),  # inpaint without a mask
        ({"init_image": png((96, 64)), "mask_image": png((32, 32), 255, "L")}, "mask_image"),
        ({"init_image": io.BytesIO(b"plain text, not a picture")}, "init_image"),
    ],
    ids=["no-mask", "mask-of-another-size", "not-an-image"],
)
def test_bad_uploads_are_400_by_field_and_leave_no_file(team, tiny_model, api_as, files, field, stored_files):
    for upload in files.values():
        upload.name = "upload.png"
    response = api_as(team.bob).post(
        generations_url(team.project.id),
        {"model": tiny_model.id, "mode": "inpaint", "prompt": "x", **files},
        format="multipart",
    )

    assert response.status_code == 400 and field in response.json(), response.content
    assert not GenerationSession.objects.exists()
    assert stored_files() == []


def test_a_truncated_upload_is_a_400(team, tiny_model, api_as, stored_files):
    whole = png((256, 256)).getvalue()
    truncated = io.BytesIO(whole[: len(whole) // 3])
    truncated.name = "cut.png"
    response = api_as(team.bob).post(
        generations_url(team.project.id),
        {"model": tiny_model.id, "mode": "image_to_image", "init_image": truncated},
        format="multipart",
    )

    assert response.status_code == 400 and "init_image" in response.json()
    assert stored_files() == []


def test_adapters_run_unmerged_and_their_hashes_are_recorded(team, tiny_model, adapter, api_as, run):
    response = api_as(team.bob).post(
        generations_url(team.project.id),
        {"model": tiny_model.id, "prompt": "a fox", "adapters": [{"id": adapter.id, "weight": 0.7}], "steps": 4},
        format="json",
    )
    assert response.status_code == 201, response.content
    session = run(response.json()["id"])

    used = session.adapters_used.get()
    assert (used.adapter, used.weight, len(used.file_hash)) == (adapter, 0.7, 10)
    assert len(session.model_hash) == 10
    with Image.open(session.images.get().file) as stored:
        text = stored.text["parameters"]
    assert "<lora:Ink wash:0.7>" in text and f'Lora hashes: "Ink wash: {used.file_hash}"' in text
    assert f"Model hash: {session.model_hash}" in text


def test_an_adapter_of_another_family_is_refused(team, tiny_model, adapter, api_as):
    xl = ModelEntry.objects.create(name="XL base", family="sdxl", source="/nowhere")
    adapter.family, adapter.base_model = "sdxl", xl
    adapter.save()
    response = api_as(team.bob).post(
        generations_url(team.project.id),
        {"model": tiny_model.id, "prompt": "a fox", "adapters": [{"id": adapter.id, "weight": 1}]},
        format="json",
    )

    assert response.status_code == 400 and "SDXL adapter" in response.json()["adapters"][0]


def test_catalog_refuses_an_adapter_whose_base_is_of_another_family(adapter):
    from django.core.exceptions import ValidationError

    adapter.family = "sdxl"
    with pytest.raises(ValidationError, match="base model is Stable Diffusion 1.5"):
        adapter.full_clean()


def test_a_reference_from_another_project_is_refused(team, tiny_model, generated):
    from studio.services import project_create

    elsewhere = project_create(name="Elsewhere", owner=team.bob)
    done = generated(project=elsewhere)
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as refused:
        submission.generation_submit(
            user=team.bob,
            project=team.project,
            model_id=tiny_model.id,
            mode="image_to_image",
            source_image=done.images.get().id,
        )
    assert "source_image" in refused.value.message_dict


def test_options_list_every_choice(team, api_as):
    options = api_as(team.vera).get("/api/v1/options/").json()

    assert "DPM++ 2M Karras" in options["samplers"] and "21:9" in options["aspects"]
    assert [mode["value"] for mode in options["modes"]][-1] == "upscale"
    assert options["native_sides"]["sdxl"] == 1024


def test_options_carry_every_limit_from_its_one_definition(team, api_as, settings):
    settings.DEEPIMAGE_MAX_IMAGE_SIDE = 1536
    limits = api_as(team.vera).get("/api/v1/options/").json()["limits"]

    assert limits["num_images"] == {"min": 1, "max": 4} and limits["steps"] == {"min": 1, "max": 150}
    assert limits["adapter_weight"] == {"min": -2, "max": 2} and limits["guidance_scale"] == {"min": 0, "max": 30}
    assert limits["side"] == {"min": 64, "max": 1536, "step": 8}


def test_the_configured_max_side_is_the_models_limit_too(team, tiny_model, submit, settings):
    settings.DEEPIMAGE_MAX_IMAGE_SIDE = 4096
    big = submit(width=3072, height=2048)
    assert (big.width, big.height) == (3072, 2048)

    settings.DEEPIMAGE_MAX_IMAGE_SIDE = 1024
    capped = submit(width=3072, height=2048)
    assert (capped.width, capped.height) == (1024, 680)


def test_verify_adapter_command_prints_a_tiny_difference(adapter, capsys):
    call_command("verify_adapter", str(adapter.id), "--steps", "4", "--size", "64")
    output = capsys.readouterr().out

    assert "max pixel difference" in output and "agree" in output
    difference = float(output.split("max pixel difference ")[1].split()[0])
    assert difference < 1 / 255
