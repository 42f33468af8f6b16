"""The AUTOMATIC1111-compatible API, spoken to by the real `webuiapi` client against the live
stack: scripts written for A1111 work by changing only the base URL and the key."""

import base64
import io
import threading
import time

import pytest
import requests
import webuiapi
from PIL import Image

from generation import execution
from generation.a1111 import parse_infotext, prepared_mask
from generation.models import GenerationSession, ModelEntry, UserQuota

pytestmark = [pytest.mark.stack, pytest.mark.django_db(transaction=True)]
SMALL = {"width": 64, "height": 64, "steps": 4, "sampler_name": "Euler a"}


@pytest.fixture
def a1111(live_stack, api_key, tiny_model):
    """a1111(secret=None) -> a webuiapi client on the live stack, authenticated with a key of
    Bob's (or the given one) the way `set_auth` does it: HTTP Basic, the key as password."""

    def client(secret: str | None = None) -> webuiapi.WebUIApi:
        api = webuiapi.WebUIApi(baseurl=f"http://{live_stack}/sdapi/v1", sampler="Euler a", steps=4)
        api.set_auth("bob", secret or api_key())
        return api

    return client


def solid(colour: str, size=(64, 64)) -> Image.Image:
    return Image.new("RGB", size, colour)


def test_txt2img_with_a_batch_of_two_and_a_fixed_seed(a1111, team):
    result = a1111().txt2img(prompt="a red barn", negative_prompt="fog", seed=1234, batch_size=2, **SMALL)

    assert [image.size for image in result.images] == [(64, 64), (64, 64)]
    assert result.info["seed"] == 1234 and result.info["all_seeds"] == [1234, 1235]
    assert result.info["sd_model_name"] == "Tiny SD 1.5" and result.info["sd_model_hash"]
    assert "Seed: 1235" in result.info["infotexts"][1] and "Negative prompt: fog" in result.info["infotexts"][0]
    assert "Seed: 1234" in result.images[0].info["parameters"]
    assert result.parameters["prompt"] == "a red barn"
    session = GenerationSession.objects.get()
    assert (session.project, session.created_by, session.status) == (team.project, team.bob, "succeeded")
    assert session.api_key is not None and session.images.count() == 2


def test_img2img_and_inpainting_with_a_mask(a1111):
    api = a1111()
    mask = Image.new("L", (64, 64), 0)
    mask.paste(255, (16, 16, 48, 48))

    variation = api.img2img(images=[solid("red")], prompt="a blue barn", denoising_strength=0.5, seed=7, **SMALL)
    inpainted = api.img2img(images=[solid("red")], mask_image=mask, prompt="a blue barn", mask_blur=0, **SMALL)

    assert variation.images[0].size == inpainted.images[0].size == (64, 64)
    assert variation.info["denoising_strength"] == 0.5
    first, second = GenerationSession.objects.order_by("id")
    assert (first.mode, second.mode) == ("image_text", "inpaint")
    stored_mask = Image.open(second.mask_image.open("rb"))
    assert stored_mask.getpixel((32, 32)) == 255 and stored_mask.getpixel((2, 2)) == 0


def test_the_mask_is_inverted_and_blurred_as_asked():
    mask = Image.new("L", (64, 64), 0)
    mask.paste(255, (16, 16, 48, 48))
    buffer = io.BytesIO()
    mask.save(buffer, format="PNG")
    sent = "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()

    inverted = Image.open(prepared_mask({"mask": sent, "inpainting_mask_invert": 1, "mask_blur": 0}))
    blurred = Image.open(prepared_mask({"mask": sent, "mask_blur": 4}))

    assert inverted.getpixel((2, 2)) == 255 and inverted.getpixel((32, 32)) == 0
    assert 0 < blurred.getpixel((16, 32)) < 255


def test_progress_shows_the_running_job_and_interrupt_stops_it(a1111):
    api = a1111()
    answers = []
    long_run = {"prompt": "a long job", "width": 256, "height": 256, "steps": 150, "seed": 3}
    thread = threading.Thread(target=lambda: answers.append(api.txt2img(**long_run)))
    thread.start()
    try:
        deadline, progress = time.monotonic() + 60, {}
        while time.monotonic() < deadline:
            progress = api.get_progress()
            if progress["state"]["sampling_step"] >= 3 and progress["current_image"]:
                break
            time.sleep(0.2)
        assert 0 < progress["progress"] < 1 and progress["state"]["sampling_steps"] == 150
        assert progress["eta_relative"] > 0 and progress["state"]["job_count"] == 1
        assert Image.open(io.BytesIO(base64.b64decode(progress["current_image"]))).size[0] > 0
    finally:
        api.interrupt()
        thread.join(timeout=60)
    assert answers[0].images == [] and answers[0].info["interrupted"] is True
    assert GenerationSession.objects.get().status == "cancelled"
    assert api.get_progress()["state"]["job_count"] == 0


@pytest.fixture
def second_model(tiny_model):
    return ModelEntry.objects.create(
        name="Tiny Two", family=tiny_model.family, source=tiny_model.source, default_steps=4, default_width=64,
        default_height=64,
    )  # fmt: skip


def test_models_switch_by_override_settings_and_by_util_set_model_per_key(a1111, second_model):
    api, other = a1111(), a1111()

    by_override = api.txt2img(prompt="a barn", override_settings={"sd_model_checkpoint": "Tiny Two"}, **SMALL)
    assert by_override.info["sd_model_name"] == "Tiny Two"
    assert "Tiny Two" in [model["model_name"] for model in api.get_sd_models()]
    title = next(name for name in api.util_get_model_names() if name.startswith("Tiny Two"))
    api.util_set_model(title)  # webuiapi lowercases it, finds the closest title and POSTs options
    assert api.util_get_current_model().startswith("Tiny Two")
    assert api.txt2img(prompt="a barn", **SMALL).info["sd_model_name"] == "Tiny Two"
    assert other.util_get_current_model().startswith("Tiny SD 1.5")  # this key's choice, not a global one


def test_a_lora_tag_in_the_prompt_applies_the_catalog_adapter(a1111, tiny_model, tiny_adapter):
    adapter = ModelEntry.objects.create(
        name="tiny-style", kind="adapter", origin="customized", family=tiny_model.family,
        source=str(tiny_adapter("lora")), base_model=tiny_model,
    )  # fmt: skip
    api = a1111()

    result = api.txt2img(prompt="a barn <lora:tiny-style:0.8>", seed=5, **SMALL)

    session = GenerationSession.objects.get()
    assert session.prompt == "a barn"
    assert [(used.adapter_id, used.weight) for used in session.adapters_used.all()] == [(adapter.id, 0.8)]
    assert result.info["prompt"] == "a barn <lora:tiny-style:0.8>"
    assert "<lora:tiny-style:0.8>" in result.info["infotexts"][0]
    assert [lora["name"] for lora in api.get_loras()] == ["tiny-style"]


@pytest.mark.parametrize(
    ("body", "status", "detail"),
    [
        ({"prompt": "x", "batch_size": 3, "n_iter": 2}, 422, "at most 4 images"),
        ({"prompt": "x", "override_settings": {"sd_model_checkpoint": "No such model"}}, 404, "Model not found"),
        ({"prompt": "x", "enable_hr": True}, 422, "enable_hr"),
        ({"prompt": "x <lora:missing:1>"}, 422, "Unknown adapter"),
        ({"prompt": "x", "sampler_name": "Magic"}, 404, "Sampler not found"),
        ({"prompt": "x", "width": 65}, 422, "width"),
        ({"prompt": "x", "steps": "many"}, 422, "steps"),
        ({"prompt": ""}, 422, "prompt"),
        ({"prompt": "x", "eta": 5}, 422, "eta"),
        ({"prompt": "x", "override_settings": {"CLIP_stop_at_last_layers": "two"}}, 422, "CLIP_stop_at_last_layers"),
    ],
)
def test_refused_requests_answer_in_a1111_shape_and_queue_nothing(
    live_stack, api_key, tiny_model, body, status, detail
):
    response = requests.post(f"http://{live_stack}/sdapi/v1/txt2img", json=body, auth=("x", api_key()), timeout=30)

    assert response.status_code == status, response.text
    assert set(response.json()) == {"error", "detail", "body", "errors"}
    assert detail in response.json()["detail"]
    assert not GenerationSession.objects.exists()


def test_keys_are_checked_before_anything_else(live_stack, api_key, team, tiny_model):
    url = f"http://{live_stack}/sdapi/v1/txt2img"

    unauthenticated = requests.post(url, json={"prompt": "x"}, timeout=30)
    wrong = requests.post(url, json={"prompt": "x"}, auth=("x", "dik_wrong"), timeout=30)
    viewer = requests.post(url, json={"prompt": "x"}, auth=("x", api_key(role="viewer")), timeout=30)
    bearer = requests.get(f"http://{live_stack}/sdapi/v1/sd-models", headers={"Authorization": f"Bearer {api_key()}"})

    assert unauthenticated.status_code == wrong.status_code == 401
    assert unauthenticated.headers["WWW-Authenticate"].startswith("Basic")
    assert viewer.status_code == 403
    assert bearer.status_code == 200
    assert not GenerationSession.objects.exists()


def test_listings_and_png_info(a1111):
    api = a1111()
    made = api.txt2img(prompt="a barn", negative_prompt="fog", seed=9, **SMALL).image

    assert "Euler a" in api.util_get_sampler_names()
    assert {"automatic", "karras"} <= set(api.util_get_scheduler_names())
    assert api.get_upscalers() == [] and api.get_sd_vae() == []
    assert api.get_embeddings() == {"loaded": {}, "skipped": {}}
    assert api.get_scripts() == {"txt2img": [], "img2img": []}
    assert api.refresh_checkpoints() == {}
    info = api.png_info(made)
    assert info.info.startswith("a barn\nNegative prompt: fog")
    assert info.json["parameters"]["Seed"] == "9" and info.json["parameters"]["Prompt"] == "a barn"


def test_infotext_parsing_follows_a1111():
    text = 'a cat, (sharp:1.2)\nNegative prompt: blur\nSteps: 20, Sampler: Euler a, Lora hashes: "x: 1, y: 2", Seed: 5'

    parsed = parse_infotext(text)

    assert parsed["Prompt"] == "a cat, (sharp:1.2)" and parsed["Negative prompt"] == "blur"
    assert (parsed["Steps"], parsed["Sampler"], parsed["Seed"]) == ("20", "Euler a", "5")
    assert parsed["Lora hashes"] == "x: 1, y: 2"


def test_a_hundred_waiting_calls_do_not_starve_the_server(a1111, live_stack, api_key, team):
    UserQuota.objects.create(user=team.bob, queued_jobs=0)  # no limit: a hundred jobs may wait
    secret = api_key()
    api = a1111(secret)
    answers, threads = [], []
    # The live worker's one slot is held by a job far longer than the test (interrupted at the
    # end), so the hundred calls after it stay queued and waiting, however fast this CPU is.
    long_run = {"prompt": "a long job", "width": 1024, "height": 1024, "steps": 150, "seed": 3}
    threads.append(threading.Thread(target=lambda: answers.append(api.txt2img(**long_run))))
    threads[0].start()
    deadline = time.monotonic() + 60
    while not GenerationSession.objects.filter(status="running").exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    call = {"prompt": "waiting", **SMALL}
    url = f"http://{live_stack}/sdapi/v1/txt2img"

    def post():
        try:
            answers.append(requests.post(url, json=call, auth=("bob", secret), timeout=180))
        except requests.RequestException as error:  # kept, so that a failed call shows in the assertion
            answers.append(error)

    for _ in range(100):
        threads.append(threading.Thread(target=post))
        threads[-1].start()
    try:
        assert GenerationSession.objects.get(prompt="a long job").status == "running"
        deadline = time.monotonic() + 120
        while GenerationSession.objects.filter(status="queued").count() < 100 and time.monotonic() < deadline:
            if answers:  # a waiting call answers only once its job ends: none may have answered yet
                break
            time.sleep(0.2)
        assert answers == []
        assert GenerationSession.objects.filter(status="queued").count() == 100

        started = time.monotonic()
        listing = requests.get(f"http://{live_stack}/sdapi/v1/sd-models", auth=("bob", secret), timeout=10)
        native = requests.get(f"http://{live_stack}/api/v1/projects/", headers={"Authorization": f"Bearer {secret}"})
        assert listing.status_code == native.status_code == 200
        print(f"with 100 calls waiting: two requests answered in {time.monotonic() - started:.2f} s")
    finally:
        for session in GenerationSession.objects.filter(status="queued"):
            execution.generation_cancel(session)
        api.interrupt()
        for thread in threads:
            thread.join(timeout=120)
    assert len(answers) == 101
    assert all(getattr(answer, "status_code", 200) == 200 for answer in answers)
    assert GenerationSession.objects.filter(status="cancelled").count() == 101
