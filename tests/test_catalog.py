"""The catalog for people: source checks on save, test loads on a worker, previews."""

import io
import shutil
from pathlib import Path

import huggingface_hub
import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from generation import catalog
from generation.engine import Engine, ModelSpec, WeightsError
from generation.engine.sources import source_problem
from generation.models import ModelEntry

pytestmark = [pytest.mark.django_db, pytest.mark.filterwarnings("ignore::FutureWarning")]


def entry(**values) -> ModelEntry:
    return ModelEntry(**({"name": "Candidate", "family": "sd15"} | values))


def test_a_real_diffusers_folder_passes(tiny_model_dir):
    entry(source=str(tiny_model_dir)).full_clean()


@pytest.mark.parametrize(
    ("values", "field", "words"),
    [
        ({"source": "/nowhere/model"}, "source", "No model folder"),
        ({"source": "/tmp"}, "source", "no model_index.json"),
        ({"source": "/nowhere/model.safetensors"}, "source", "No checkpoint file"),
        ({"source": "someone/not-cached-model"}, "source", "not in this machine's Hugging Face cache"),
    ],
)
def test_a_source_that_does_not_exist_is_refused_on_save(settings, values, field, words):
    settings.HF_HUB_OFFLINE = True
    with pytest.raises(ValidationError) as refused:
        entry(**values).full_clean()
    assert words in " ".join(refused.value.message_dict[field])


def test_a_single_file_needs_a_config_folder(tmp_path, tiny_model_dir):
    checkpoint = tmp_path / "model.safetensors"
    checkpoint.write_bytes(b"0")

    assert source_problem(str(checkpoint)).field == "config"
    assert source_problem(str(checkpoint), config=str(tiny_model_dir)) is None


def test_an_adapter_must_be_a_readable_lora_family_file(tmp_path, tiny_model, tiny_adapter):
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"not a safetensors file")
    adapter = entry(kind="adapter", base_model=tiny_model, origin="customized")

    adapter.source = str(junk)
    with pytest.raises(ValidationError) as refused:
        adapter.full_clean()
    assert "not a readable .safetensors file" in str(refused.value.message_dict["source"])
    adapter.source = str(tiny_adapter("loha"))
    adapter.full_clean()


def test_the_admin_form_shows_the_source_error(admin_client, db):
    response = admin_client.post(
        "/admin/generation/modelentry/add/",
        {
            "name": "Broken",
            "kind": "base",
            "origin": "third_party",
            "family": "sd15",
            "source": "/nowhere/model",
            "default_steps": 20,
            "default_guidance_scale": 7.5,
            "default_width": 512,
            "default_height": 512,
            "enabled": "on",
        },
    )
    assert response.status_code == 200 and "No model folder at /nowhere/model" in response.content.decode()
    assert not ModelEntry.objects.filter(name="Broken").exists()


def test_test_load_reports_success_with_size_and_hash(tiny_model):
    tested = catalog.catalog_test_load(tiny_model.id, worker="gpu-0")

    assert tested.test_status == "passed" and tested.tested_at is not None
    assert "Loaded" in tested.test_message and "model hash" in tested.test_message and "gpu-0" in tested.test_message


def test_test_load_reports_a_failure_readably(broken_model):
    tested = catalog.catalog_test_load(broken_model.id)

    assert tested.test_status == "failed" and "Could not load model" in tested.test_message


def test_test_load_of_an_adapter_applies_it_to_its_base(tiny_model, tiny_adapter):
    adapter = ModelEntry.objects.create(
        name="Ink", kind="adapter", origin="customized", source=str(tiny_adapter("lokr")), base_model=tiny_model
    )
    tested = catalog.catalog_test_load(adapter.id)

    assert tested.test_status == "passed" and "Applied onto Tiny SD 1.5" in tested.test_message


def test_the_admin_action_queues_a_load_per_entry(admin_client, tiny_model, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as queued:
        response = admin_client.post(
            "/admin/generation/modelentry/",
            {"action": "test_load", "_selected_action": [tiny_model.id]},
            follow=True,
        )
    assert "Queued 1 test load" in response.content.decode()
    assert len(queued) == 1
    tiny_model.refresh_from_db()
    assert tiny_model.test_status == "pending"


def png_upload() -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", (32, 32), (10, 120, 200)).save(buffer, format="PNG")
    return SimpleUploadedFile("preview.png", buffer.getvalue(), content_type="image/png")


def test_a_preview_is_served_to_signed_in_users_and_listed(tiny_model, team, api_as, client):
    tiny_model.preview = png_upload()
    tiny_model.save()

    listed = api_as(team.vera).get("/api/v1/models/").json()
    [data] = [model for model in listed if model["id"] == tiny_model.id]
    assert data["preview_url"] == f"/api/v1/models/{tiny_model.id}/preview/"
    assert api_as(team.vera).get(data["preview_url"]).status_code == 200
    assert client.get(data["preview_url"]).status_code in (401, 403)


@pytest.mark.parametrize(
    ("family", "steps", "guidance", "side"),
    [("sd15", 25, 7.5, 512), ("sd21", 25, 7.0, 768), ("sdxl", 30, 6.0, 1024), ("sdxl-turbo", 1, 0.0, 512)],
)
def test_a_new_entry_starts_from_its_familys_defaults(family, steps, guidance, side):
    saved = ModelEntry.objects.create(name=f"New {family}", family=family, source="x")

    assert (saved.default_steps, saved.default_guidance_scale) == (steps, guidance)
    assert (saved.default_width, saved.default_height) == (side, side)
    assert saved.default_sampler == ""  # the scheduler saved with the model


def test_defaults_the_admin_sets_are_kept(db):
    saved = ModelEntry.objects.create(name="Tuned Turbo", family="sdxl-turbo", source="x", default_steps=4)

    assert (saved.default_steps, saved.default_guidance_scale) == (4, 0.0)


def test_the_admin_form_seeds_blank_defaults_from_the_family(admin_client, tiny_family_dir):
    response = admin_client.post(
        "/admin/generation/modelentry/add/",
        {
            "name": "Turbo",
            "kind": "base",
            "origin": "third_party",
            "family": "sdxl-turbo",
            "source": str(tiny_family_dir("sdxl-turbo")),
            "enabled": "on",
        },
    )

    assert response.status_code == 302, response.content.decode()[-2000:]
    turbo = ModelEntry.objects.get(name="Turbo")
    assert (turbo.default_steps, turbo.default_guidance_scale, turbo.default_width) == (1, 0.0, 512)


def fake_hub_snapshot(cache: Path, repo: str, commit: str, folder: Path | None) -> None:
    """A Hugging Face cache entry as `huggingface_hub` lays it out: refs/main names the
    commit whose snapshot holds the files (`folder`'s, or a broken model without)."""
    root = cache / f"models--{repo.replace('/', '--')}"
    snapshot = root / "snapshots" / commit
    if folder is not None:
        shutil.copytree(folder, snapshot)
    else:
        snapshot.mkdir(parents=True)
        (snapshot / "model_index.json").write_text('{"_class_name": "StableDiffusionPipeline"}')
    (root / "refs").mkdir(exist_ok=True)
    (root / "refs" / "main").write_text(commit)


def test_a_hub_id_is_pinned_to_the_commit_of_its_first_good_load(tmp_path, monkeypatch, tiny_model_dir, generated):
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path))
    good, pushed_later = "a" * 40, "b" * 40
    fake_hub_snapshot(tmp_path, "acme/tiny", good, tiny_model_dir)
    entry = ModelEntry.objects.create(name="Acme tiny", source="acme/tiny", default_steps=2, default_width=64)

    catalog.catalog_test_load(entry.id)
    entry.refresh_from_db()
    assert entry.test_status == "passed" and entry.revision == good
    assert f"pinned to hub revision {good[:12]}" in entry.test_message

    fake_hub_snapshot(tmp_path, "acme/tiny", pushed_later, None)  # the repository's main moves on, broken
    assert generated(model=entry, steps=2).status == "succeeded"  # still the pinned commit
    with pytest.raises(WeightsError):  # a fresh worker following main would have broken
        Engine().load(ModelSpec(source="acme/tiny"))
