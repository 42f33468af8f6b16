"""Generation services run in-process on the real tiny pipeline and the real channel layer."""

import io

import pytest
from django.core.files.storage import default_storage
from PIL import Image

from generation import execution
from generation.engine.metadata import read_parameters
from generation.models import GeneratedImage
from tests.listening import GroupListener

pytestmark = [pytest.mark.django_db, pytest.mark.filterwarnings("ignore::FutureWarning")]


@pytest.fixture
def lighthouse(submit):
    """lighthouse(**fields) -> a queued job of two 64² images at seed 50."""
    values = {"prompt": "a lighthouse", "width": 64, "height": 64, "num_images": 2, "seed": 50}
    return lambda **fields: submit(**(values | fields))


def test_run_stores_each_image_as_png_with_its_parameters(lighthouse):
    session = lighthouse(negative_prompt="blurry")

    execution.generation_run(session.id, worker="test")

    session.refresh_from_db()
    assert session.status == "succeeded" and session.started_at and session.finished_at
    assert session.progress_step == session.progress_total > 0
    images = list(session.images.order_by("index"))
    assert [(image.index, image.seed, image.width, image.height) for image in images] == [
        (0, 50, 64, 64),
        (1, 51, 64, 64),
    ]
    png = images[1].file.read()
    assert Image.open(io.BytesIO(png)).size == (64, 64)
    parameters = read_parameters(png)
    assert parameters["seed"] == 51 and parameters["negative_prompt"] == "blurry"
    assert parameters["model"] == "Tiny SD 1.5" and parameters["sampler"] == "PNDM"


def test_run_sends_progress_then_images_then_done(lighthouse):
    session = lighthouse(steps=3)
    listener = GroupListener(session.id)

    execution.generation_run(session.id)

    received = listener.received()
    kinds = [event["type"] for event in received]
    progress = [event for event in received if event["type"] == "progress"]
    assert [event["step"] for event in progress] == list(range(1, len(progress) + 1))
    assert progress[-1]["step"] == progress[-1]["total_steps"]
    assert kinds[len(progress) :] == ["image", "image", "done"]


def test_a_model_that_cannot_load_ends_failed_with_a_readable_error(broken_model, lighthouse, caplog):
    session = lighthouse(model=broken_model)
    listener = GroupListener(session.id)

    execution.generation_run(session.id)

    session.refresh_from_db()
    assert session.status == "failed"
    assert "Could not load the weights of “Missing folder”" in session.error_message
    assert "no-such-model" not in session.error_message  # the path is on the worker, for its log
    assert "no-such-model" in caplog.text
    assert listener.received()[-1] == {"type": "failed", "status": "failed", "error": session.error_message}
    assert not GeneratedImage.objects.exists()


def test_a_session_is_claimed_only_once(lighthouse):
    session = lighthouse()

    assert execution.generation_claim(session.id, "worker-a") is not None
    assert execution.generation_claim(session.id, "worker-b") is None
    session.refresh_from_db()
    assert session.worker == "worker-a"


def test_a_redelivered_finished_session_is_not_run_again(lighthouse):
    session = lighthouse(num_images=1)
    execution.generation_run(session.id)
    execution.generation_run(session.id)

    assert GeneratedImage.objects.filter(session=session).count() == 1


def test_storing_is_all_or_nothing(team, monkeypatch, lighthouse, caplog):
    session = lighthouse(num_images=3)
    written = []
    real_png = execution.png_bytes

    def fail_on_third(image, parameters):
        if parameters["index"] == 2:
            raise OSError("disk full")
        written.append(parameters["index"])
        return real_png(image, parameters)

    monkeypatch.setattr(execution, "png_bytes", fail_on_third)
    execution.generation_run(session.id)

    session.refresh_from_db()
    assert written == [0, 1]
    assert session.status == "failed" and "Could not store the images" in session.error_message
    assert "disk full" not in session.error_message and "disk full" in caplog.text  # the log has the cause
    assert not GeneratedImage.objects.exists()
    folder = f"projects/{team.project.id}/sessions/{session.id}"
    assert not default_storage.exists(folder) or default_storage.listdir(folder) == ([], [])
