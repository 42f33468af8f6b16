"""People in Chromium: log in, generate, watch runs arrive live (as an editor or a viewer,
after a reload, across a dropped connection), cancel, save, compare."""

import os
import re
import shutil
import socket
import threading

import pytest
from rest_framework.authtoken.models import Token

from generation.models import GenerationSession
from tests.conftest import PASSWORD
from tests.livestack import StackClient

pytestmark = [pytest.mark.browser, pytest.mark.stack, pytest.mark.django_db(transaction=True)]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--disable-background-networking",
    "--disable-component-update", "--no-first-run", "--disable-sync",
]  # fmt: skip


@pytest.fixture(scope="module")
def chromium_path():
    if not shutil.which(CHROMIUM):
        if os.environ.get("CI"):
            pytest.fail("Chromium is missing: .ci/run installs it with `apt-get install chromium`.")
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    return CHROMIUM


def log_in(playwright, url: str, username: str, chromium_path: str):
    """A fresh 1280×800 Chromium page, logged in as `username`, at `url`."""
    browser = playwright.chromium.launch(executable_path=chromium_path, args=CHROMIUM_FLAGS)
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    page.goto(url)
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    return browser, page


def form_ready(page) -> None:
    """Wait until the workspace's form has its catalog and options: Generate is enabled then."""
    from playwright.sync_api import expect

    expect(page.locator("#generate")).to_be_enabled()


def wait_for_results(page, count: int, width: int, timeout: int):
    """Wait until the run is done and its `count` result images have loaded at `width` pixels."""
    from playwright.sync_api import expect

    expect(page.locator("#progress-label")).to_have_text("Done", timeout=timeout)
    images = page.locator("#results figure img")
    expect(images).to_have_count(count)
    page.wait_for_function(
        "width => [...document.querySelectorAll('#results img')].every(i => i.complete && i.naturalWidth === width)",
        arg=width,
    )
    return images


def api_client(live_stack: str, user) -> StackClient:
    """The live stack's API as `user` (create it before Playwright starts: it touches the ORM)."""
    return StackClient(live_stack, Token.objects.get_or_create(user=user)[0].key)


def start(client: StackClient, project_id: int, **fields) -> dict:
    status, body = client.request("POST", f"/api/v1/projects/{project_id}/generations/", fields)
    assert status == 201, body
    return body


def cancel(client: StackClient, session_id: int) -> None:
    status, body = client.request("POST", f"/api/v1/generations/{session_id}/cancel/")
    assert status in (200, 202), body


@pytest.fixture
def job_ahead(team, tiny_model, live_stack):
    """job_ahead() -> a job of Bob's that runs for many seconds by construction (150 steps
    at 512² on the tiny model): the runs a test queues behind it wait until the test cancels
    it. Cancelled at the end of the test whatever happened, so it never delays the next one."""
    bob = api_client(live_stack, team.bob)
    started = []

    def start_one() -> dict:
        fields = {"prompt": "a long job ahead", "steps": 150, "aspect": "1:1", "num_images": 1, "seed": 1}
        started.append(start(bob, team.project.id, model=tiny_model.id, **fields))
        return started[-1]

    yield start_one
    for session in started:
        bob.request("POST", f"/api/v1/generations/{session['id']}/cancel/")


def history_item(page, session_id: int):
    return page.locator(f".history-item[data-session='{session_id}']")


def wait_for_step(page, session_id: int) -> None:
    """Until the item's own progress bar shows at least step 1 of its run."""
    bar = history_item(page, session_id).locator("[role=progressbar]")
    page.wait_for_function("bar => Number(bar.dataset.step) >= 1", arg=bar.element_handle(), timeout=60_000)


class CuttableProxy:
    """127.0.0.1:<port> forwarding to the live stack; cut() drops every open connection at
    once, as a server or a network that goes away does (the browser sees no close frame)."""

    def __init__(self, target: str):
        host, port = target.rsplit(":", 1)
        self.target = (host, int(port))
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.address = f"127.0.0.1:{self.listener.getsockname()[1]}"
        self.open: list[socket.socket] = []
        self.websockets = 0  # connections that began with a websocket handshake
        self.lock = threading.Lock()
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
                upstream = socket.create_connection(self.target)
            except OSError:
                return
            with self.lock:
                self.open += [client, upstream]
            threading.Thread(target=self.pipe, args=(client, upstream, True), daemon=True).start()
            threading.Thread(target=self.pipe, args=(upstream, client, False), daemon=True).start()

    def pipe(self, source: socket.socket, sink: socket.socket, from_browser: bool) -> None:
        first = True
        try:
            while data := source.recv(65536):
                if first and from_browser and data.startswith(b"GET /ws/"):
                    with self.lock:
                        self.websockets += 1
                first = False
                sink.sendall(data)
        except OSError:
            pass
        for end in (source, sink):
            try:
                end.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def cut(self) -> None:
        with self.lock:
            dropped, self.open = self.open, []
        for end in dropped:
            try:
                end.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            end.close()

    def close(self) -> None:
        try:
            self.listener.shutdown(socket.SHUT_RDWR)  # wakes the accepting thread on Linux
        except OSError:
            pass
        self.listener.close()
        self.cut()


def test_member_logs_in_generates_and_sees_four_images(team, tiny_model, live_stack, chromium_path, output_dir):
    from playwright.sync_api import expect, sync_playwright

    from generation.models import ModelEntry

    ModelEntry.objects.create(name="Ink", kind="adapter", source="unused", base_model=tiny_model)
    # No ORM calls while Playwright runs (its event loop makes Django refuse sync queries).
    with sync_playwright() as playwright:
        browser, page = log_in(playwright, f"http://{live_stack}/", "bob", chromium_path)
        page.click("text=Posters")

        expect(page.locator("#steps")).to_have_value("4")  # the model's defaults fill the form
        weight = page.locator("#adapters .adapter", has_text="Ink").locator("input[type=range]")
        expect(weight).to_have_attribute("min", "-2")  # the limits of GET /api/v1/options/
        expect(weight).to_have_attribute("max", "2")
        page.fill("#prompt", "a lighthouse at dusk")
        page.fill("#steps", "8")
        page.fill("#seed", "99")
        page.click("#generate")

        wait_for_results(page, count=4, width=64, timeout=60_000)
        expect(page.locator("#results figcaption").first).to_have_text("seed 99 · 64×64")
        expect(page.locator(".history-item .status").first).to_have_text("Succeeded")
        page.screenshot(path=str(output_dir / "workspace-1280.png"), full_page=True)
        page.set_viewport_size({"width": 390, "height": 844})
        page.screenshot(path=str(output_dir / "workspace-phone.png"), full_page=True)
        browser.close()

    session = GenerationSession.objects.get()
    assert (session.status, session.seed, session.steps, session.created_by) == ("succeeded", 99, 8, team.bob)
    assert session.images.count() == 4


def test_a_new_users_first_run_of_the_demo_model_draws_what_they_typed(team, live_stack, chromium_path, output_dir):
    """As after `make run`: the committed demo model is the only one in the catalog; Bob
    types a prompt, keeps the model's defaults (20 Euler steps, guidance 5 on the first 60 %
    of them, 128², 4 images)
    and gets the shape, colour, place and background he typed, read back from the
    images the browser received."""
    import io
    from urllib.parse import urljoin

    from django.core.management import call_command
    from PIL import Image
    from playwright.sync_api import expect, sync_playwright

    from tools.demo_shapes import read_picture

    call_command("create_demo_model", verbosity=0)
    with sync_playwright() as playwright:
        browser, page = log_in(playwright, f"http://{live_stack}/", "bob", chromium_path)
        page.click("text=Posters")
        form_ready(page)
        expect(page.locator("#model option:checked")).to_have_text(re.compile("DeepImage demo: shapes"))
        expect(page.locator("#guidance_scale")).to_have_value("5")
        expect(page.locator("#guidance_end")).to_have_value("0.6")
        page.fill("#prompt", "a large red circle on the left, blue background")
        page.fill("#seed", "7")
        page.click("#generate")

        images = wait_for_results(page, count=4, width=128, timeout=120_000)
        page.screenshot(path=str(output_dir / "workspace-demo-model-1280.png"), full_page=True)
        sources = [images.nth(k).get_attribute("src") for k in range(4)]
        pictures = [Image.open(io.BytesIO(page.request.get(urljoin(page.url, src)).body())) for src in sources]
        browser.close()

    readings = [read_picture(picture) for picture in pictures]
    assert [(r.colour, r.position, r.background) for r in readings] == [("red", "left", "blue")] * 4
    assert sum(r.shape == "circle" for r in readings) >= 3


def test_a_viewer_follows_a_run_live_from_queued_to_its_images(
    team, tiny_model, live_stack, job_ahead, chromium_path, output_dir
):
    """Vera (viewer) watches Bob's run, started through the API, without reloading."""
    from playwright.sync_api import expect, sync_playwright

    bob = api_client(live_stack, team.bob)
    with sync_playwright() as playwright:
        blocker = job_ahead()
        watched = start(bob, team.project.id, model=tiny_model.id, prompt="a fox", steps=6, num_images=2, seed=7)
        browser, page = log_in(playwright, f"http://{live_stack}/projects/{team.project.id}/", "vera", chromium_path)
        expect(page.locator("text=You are a viewer")).to_be_visible()
        expect(page.locator("#generate")).to_have_count(0)

        # The running job ahead shows its own progress; the watched run, on show, waits.
        wait_for_step(page, blocker["id"])
        expect(history_item(page, watched["id"]).locator(".status")).to_have_text("Queued")
        expect(page.locator("#progress-label")).to_have_text(re.compile(r"^Next in line"))
        expect(history_item(page, watched["id"]).locator("[data-field=progress]")).to_have_text(
            re.compile(r"^Next in line")
        )
        expect(page.locator("#cancel")).to_be_hidden()  # viewers cannot cancel
        cancel(bob, blocker["id"])

        expect(page.locator("#progress-label")).to_have_text("Done", timeout=60_000)
        expect(page.locator("#results figure[data-image]")).to_have_count(2)
        assert int(page.locator("#results").get_attribute("data-previews-shown")) >= 1
        expect(history_item(page, watched["id"]).locator(".status")).to_have_text("Succeeded")
        expect(history_item(page, watched["id"]).locator(".thumbs img")).to_have_count(2)
        expect(history_item(page, blocker["id"]).locator(".status")).to_have_text("Cancelled")
        expect(page.locator("#results figure .download")).to_have_count(2)
        expect(page.locator("#results figure .save, #results figure .delete")).to_have_count(0)
        shoot(page, output_dir, "workspace-viewer")
        browser.close()


def test_after_a_reload_each_run_has_its_own_progress_and_ends_on_its_own(
    team, tiny_model, live_stack, job_ahead, chromium_path, output_dir
):
    from playwright.sync_api import expect, sync_playwright

    bob = api_client(live_stack, team.bob)
    with sync_playwright() as playwright:
        browser, page = log_in(playwright, f"http://{live_stack}/projects/{team.project.id}/", "bob", chromium_path)
        form_ready(page)
        blocker = job_ahead()
        page.select_option("#num_images", "1")
        for prompt, steps in (("first", "4"), ("second", "6")):
            page.fill("#prompt", prompt)
            page.fill("#steps", steps)
            page.click("#generate")
            expect(page.locator(".history-item .prompt").first).to_have_text(prompt)

        page.reload()
        first, second = (page.locator(".history-item", has_text=prompt) for prompt in ("first", "second"))
        wait_for_step(page, blocker["id"])
        expect(first.locator(".status")).to_have_text("Queued")
        expect(second.locator(".status")).to_have_text("Queued")
        expect(page.locator("#progress-label")).to_have_text(re.compile(r"^2nd in line"))  # the newest run is on show
        shoot(page, output_dir, "workspace-reloaded")
        cancel(bob, blocker["id"])

        expect(first.locator(".status")).to_have_text("Succeeded", timeout=60_000)
        expect(second.locator(".status")).to_have_text("Succeeded", timeout=60_000)
        expect(page.locator("#progress-label")).to_have_text("Done")
        expect(history_item(page, blocker["id"]).locator(".status")).to_have_text("Cancelled")
        # Each bar counted its own run's steps (checked against the database below), and is put away at its end.
        expect(page.locator(".item-progress:visible")).to_have_count(0)
        totals = [
            int(history_item(page, session).locator("[role=progressbar]").get_attribute("data-total"))
            for session in (blocker["id"], *(int(item.get_attribute("data-session")) for item in (first, second)))
        ]
        expect(first.locator(".thumbs img")).to_have_count(1)
        expect(second.locator(".thumbs img")).to_have_count(1)
        expect(page.locator("#results figure[data-image]")).to_have_count(1)
        browser.close()

    sessions = GenerationSession.objects.order_by("id")
    assert [session.status for session in sessions] == ["cancelled", "succeeded", "succeeded"]
    assert totals == [session.progress_total for session in sessions]
    assert totals[1] < totals[2] < totals[0]  # 4 steps, 6 steps, 150 steps


def test_a_dropped_websocket_reconnects_and_the_run_ends_in_the_page(
    team, tiny_model, live_stack, job_ahead, chromium_path
):
    from playwright.sync_api import expect, sync_playwright

    bob = api_client(live_stack, team.bob)
    proxy = CuttableProxy(live_stack)
    try:
        with sync_playwright() as playwright:
            blocker = job_ahead()
            browser, page = log_in(
                playwright, f"http://{proxy.address}/projects/{team.project.id}/", "bob", chromium_path
            )
            form_ready(page)
            page.fill("#prompt", "after the outage")
            page.select_option("#num_images", "1")
            page.fill("#steps", "4")
            page.click("#generate")
            expect(page.locator(".history-item")).to_have_count(2)

            wait_for_step(page, blocker["id"])  # mid-run: the job ahead is stepping, ours waits
            bar = history_item(page, blocker["id"]).locator("[role=progressbar]")
            step_at_cut = int(bar.get_attribute("data-step"))
            sockets_before = proxy.websockets
            proxy.cut()
            expect(page.locator("#run-status")).to_have_attribute(
                "data-reconnects", re.compile("^[1-9]"), timeout=10_000
            )
            # Live events flow again on the new connection
            page.wait_for_function(
                "([bar, step]) => Number(bar.dataset.step) > step",
                arg=[bar.element_handle(), step_at_cut],
                timeout=30_000,
            )
            cancel(bob, blocker["id"])

            expect(page.locator("#progress-label")).to_have_text("Done", timeout=60_000)
            expect(page.locator("#results figure[data-image]")).to_have_count(1)
            expect(page.locator(".history-item .status").first).to_have_text("Succeeded")
            expect(history_item(page, blocker["id"]).locator(".status")).to_have_text("Cancelled")
            browser.close()
    finally:
        proxy.close()
    assert sockets_before == 2 and proxy.websockets >= 4  # both runs' sockets came back


def test_preset_ratio_previews_reference_into_image_text_then_inpaint_a_painted_mask(
    team, tiny_model, live_stack, chromium_path, output_dir
):
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as playwright:
        browser, page = log_in(playwright, f"http://{live_stack}/projects/{team.project.id}/", "bob", chromium_path)
        form_ready(page)
        page.fill("#prompt", "a harbour at night")
        page.select_option("#aspect", "16:9")
        page.select_option("#num_images", "1")
        page.fill("#steps", "8")
        page.select_option("#sampler", "Euler a")
        page.click("#generate")
        expect(page.locator("#progress-label")).to_have_text("Done", timeout=60_000)
        expect(page.locator("#results figure[data-image]")).to_have_count(1)
        assert int(page.locator("#results").get_attribute("data-previews-shown")) >= 1
        expect(page.locator("#results figcaption").first).to_contain_text("680×384")

        page.click("#results .reference")
        expect(page.locator("input[value=image_text]")).to_be_checked()
        expect(page.locator("#drop-label")).to_contain_text("Reference")
        page.fill("#prompt", "the same harbour in snow")
        page.click("#generate")
        expect(page.locator(".history-item")).to_have_count(2)
        expect(page.locator("#progress-label")).to_have_text("Done", timeout=60_000)
        page.screenshot(path=str(output_dir / "workspace-image-text.png"), full_page=True)

        page.click("#results .reference")
        page.check("input[value=inpaint]", force=True)
        canvas = page.locator("#mask-canvas")
        expect(canvas).to_be_visible()
        box = canvas.bounding_box()
        page.mouse.move(box["x"] + box["width"] * 0.3, box["y"] + box["height"] * 0.5)
        page.mouse.down()
        page.mouse.move(box["x"] + box["width"] * 0.7, box["y"] + box["height"] * 0.5, steps=8)
        page.mouse.up()
        page.fill("#prompt", "a lit window")
        page.screenshot(path=str(output_dir / "workspace-inpaint-mask.png"), full_page=True)
        page.click("#generate")
        expect(page.locator("#form-errors")).to_be_empty()
        expect(page.locator(".history-item")).to_have_count(3)
        expect(page.locator("#progress-label")).to_have_text("Done", timeout=60_000)

        # The middle image's page: its ancestor, and the inpainting made from it
        page.locator(".history-item").nth(1).locator(".thumbs a").first.click()
        expect(page.locator(".ancestors .lineage-node")).to_have_count(2)  # the first image, then this one
        expect(page.locator(".descendants .lineage-node")).to_have_count(1)
        expect(page.locator(".descendants .changes")).to_contain_text("Inpainting")
        shoot(page, output_dir, "image-lineage")
        browser.close()

    first, referenced, inpainted = GenerationSession.objects.order_by("id")
    assert (first.aspect, first.width, first.height, first.sampler) == ("16:9", 680, 384, "Euler a")
    assert referenced.mode == "image_text" and referenced.source_image == first.images.get()
    assert referenced.images.get().parent == first.images.get()
    assert inpainted.mode == "inpaint" and inpainted.source_image == referenced.images.get()
    from PIL import Image

    with Image.open(inpainted.mask_image) as mask:
        assert mask.size == (680, 384)
        assert mask.getpixel((340, 192)) == 255 and mask.getpixel((5, 5)) == 0


def test_cancel_stops_a_running_job_at_the_next_step(team, tiny_model, live_stack, chromium_path):
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as playwright:
        browser, page = log_in(playwright, f"http://{live_stack}/projects/{team.project.id}/", "bob", chromium_path)
        form_ready(page)  # else the catalog's defaults could replace the steps typed below
        page.fill("#prompt", "a very long job")
        page.select_option("#aspect", "1:1")  # 512² for SD 1.5: 150 steps take many seconds
        page.select_option("#num_images", "1")
        page.fill("#steps", "150")
        page.click("#generate")
        # Cancel once a real step is on show: the job is then running, with 149 steps to go.
        page.wait_for_function(
            "() => Number(document.querySelector('#run-status [role=progressbar]').dataset.step) >= 1"
        )
        expect(page.locator("#progress-label")).to_contain_text("Step")
        page.click("#cancel")
        expect(page.locator("#progress-label")).to_have_text("Cancelled", timeout=30_000)
        expect(page.locator(".history-item .status").first).to_have_text("Cancelled")
        expect(page.locator("#cancel")).to_be_hidden()
        browser.close()

    session = GenerationSession.objects.get()
    assert session.status == "cancelled" and session.progress_step < 150
    assert not session.images.exists()


def shoot(page, output_dir, name: str) -> None:
    """A full-page screenshot at 1280×800 and at phone width, back to 1280 after."""
    page.screenshot(path=str(output_dir / f"{name}-1280.png"), full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=str(output_dir / f"{name}-phone.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 800})


def test_a_team_day_save_download_delete_lineage_compare_and_members(
    team, tiny_model, tiny_family_dir, live_stack, chromium_path, output_dir
):
    import io
    import zipfile

    from playwright.sync_api import expect, sync_playwright

    from generation.models import Comparison, GeneratedImage, ModelEntry

    second = ModelEntry.objects.create(
        name="Tiny SD 2.1", family="sd21", source=str(tiny_family_dir("sd21")), description="Also random weights.",
        default_steps=4, default_width=64, default_height=64,
    )  # fmt: skip
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path, args=CHROMIUM_FLAGS)
        page = browser.new_page(viewport={"width": 1280, "height": 800}, accept_downloads=True)
        page.on("dialog", lambda dialog: dialog.accept())

        # Log in
        page.goto(f"http://{live_stack}/")
        expect(page.locator("h1")).to_have_text("Log in")
        shoot(page, output_dir, "login")
        page.fill("input[name=username]", "alice")
        page.fill("input[name=password]", "wrong")
        page.click("button[type=submit]")
        expect(page.locator(".error")).to_contain_text("correct username and password")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        expect(page.locator("h1")).to_have_text("Your projects")
        shoot(page, output_dir, "projects")

        # Generate two, save one, download all, delete the other
        page.click("text=Posters")
        form_ready(page)
        page.fill("#prompt", "a lighthouse at dusk")
        page.select_option("#num_images", "2")
        page.fill("#seed", "5")
        page.click("#generate")
        expect(page.locator("#progress-label")).to_have_text("Done", timeout=60_000)
        expect(page.locator("#results figure[data-image]")).to_have_count(2)
        page.locator("#results figure[data-image]").nth(0).locator(".save").click()
        expect(page.locator("#results figure[data-image]").nth(0).locator(".save")).to_have_text("★ Saved")
        with page.expect_download() as download_info:
            page.click("#download-all")
        archive = zipfile.ZipFile(io.BytesIO(open(download_info.value.path(), "rb").read()))  # noqa: SIM115
        shoot(page, output_dir, "workspace-results")
        page.locator("#results figure[data-image]").nth(1).locator(".delete").click()
        expect(page.locator("#results figure[data-image]")).to_have_count(1)

        # The image page: parameters, lineage; then "Use these parameters" back in the form
        page.locator("#results figure[data-image] img").first.click()
        expect(page.locator("#lineage")).to_contain_text("A first generation")
        shoot(page, output_dir, "image-page")
        page.click(".actions a.button:has-text('Reference')")  # any image of the history can be the next base image
        expect(page.locator("input[value=image_text]")).to_be_checked()
        expect(page.locator("#drop-label")).to_contain_text("Reference")
        page.go_back()
        page.click("text=Use these parameters")
        expect(page.locator("#prompt")).to_have_value("a lighthouse at dusk")
        expect(page.locator("#seed")).to_have_value("5")

        # Compare two models
        page.click("#compare summary")
        page.click("#add-compare")
        page.locator(".compare-row .compare-model").select_option(str(second.id))
        expect(page.locator("#generate")).to_have_text("Compare 2 models")
        page.click("#add-compare")
        page.click("#add-compare")
        expect(page.locator("#generate")).to_have_text("Compare 4 models")  # the most the options allow
        expect(page.locator("#add-compare")).to_be_hidden()
        page.locator(".compare-row .remove").last.click()
        page.locator(".compare-row .remove").last.click()
        expect(page.locator("#generate")).to_have_text("Compare 2 models")
        shoot(page, output_dir, "workspace-compare-form")
        page.click("#generate")
        expect(page.locator(".column")).to_have_count(2)
        expect(page.locator(".column .status")).to_have_text(["Succeeded", "Succeeded"], timeout=90_000)
        expect(page.locator("#overlay-slider")).to_be_visible()
        page.locator("#overlay-slider").fill("20")
        assert "80%" in page.locator("#overlay-top").get_attribute("style")
        page.locator(".column .save-image").first.click()
        expect(page.locator(".column .save-image").first).to_have_text("★ Saved")
        shoot(page, output_dir, "comparison")

        # History filtered to saved images, and the members page
        page.goto(f"http://{live_stack}/projects/{team.project.id}/")
        page.check("input[name=saved]")
        page.click("#history-filters button[type=submit]")
        expect(page.locator(".history-item")).to_have_count(2)
        shoot(page, output_dir, "history-saved")
        page.click("text=Members")
        page.fill("input[name=user]", "charlie")
        page.select_option("select[name=role]:not([aria-label^='Role of'])", "viewer")
        page.click("text=Add member")
        expect(page.locator(".message")).to_contain_text("charlie joined as viewer")
        shoot(page, output_dir, "members")
        browser.close()

    names = sorted(archive.namelist())
    assert len([name for name in names if name.endswith(".png")]) == 2 and "parameters.json" in names
    assert GeneratedImage.objects.filter(saved=True).count() == 2  # one from the run, one from the comparison
    first_session = GenerationSession.objects.order_by("id").first()
    assert list(first_session.images.values_list("index", flat=True)) == [0]  # the second was deleted
    comparison = Comparison.objects.get()
    assert sorted(comparison.sessions.values_list("model__name", flat=True)) == ["Tiny SD 1.5", "Tiny SD 2.1"]
    assert len(set(comparison.sessions.values_list("seed", flat=True))) == 1
    assert team.project.memberships.get(user=team.charlie).role == "viewer"


def test_a_run_whose_done_event_is_lost_in_transit_still_ends_in_the_page(team, tiny_model, live_stack, chromium_path):
    """The channel layer can drop an event (a server process cancelling a receive); a quiet
    socket is replaced by a fresh one, whose snapshot ends the run."""
    from playwright.sync_api import expect, sync_playwright

    dropped = []

    def drop_the_first_done(socket):
        server = socket.connect_to_server()

        def forward(message):
            if '"type": "done"' in message and not dropped:
                dropped.append(message)
                return
            socket.send(message)

        server.on_message(forward)
        socket.on_message(lambda message: server.send(message))

    with sync_playwright() as playwright:
        browser, page = log_in(playwright, f"http://{live_stack}/projects/{team.project.id}/", "bob", chromium_path)
        form_ready(page)
        page.route_web_socket(re.compile(r"/ws/generations/"), drop_the_first_done)
        page.fill("#prompt", "a lost message")
        page.select_option("#num_images", "1")
        page.fill("#steps", "2")
        page.click("#generate")

        expect(page.locator("#progress-label")).to_have_text("Done", timeout=30_000)
        expect(page.locator("#results figure[data-image]")).to_have_count(1)
        browser.close()
    assert len(dropped) == 1


def test_a_limit_is_shown_where_the_person_clicked_and_nothing_is_queued(team, tiny_model, live_stack, chromium_path):
    from playwright.sync_api import expect, sync_playwright

    from generation.models import UserQuota

    UserQuota.objects.create(user=team.bob, job_cost=64 * 64)  # an admin's limit: one 64² step
    with sync_playwright() as playwright:
        browser, page = log_in(playwright, f"http://{live_stack}/projects/{team.project.id}/", "bob", chromium_path)
        form_ready(page)
        page.fill("#prompt", "too dear")
        page.click("#generate")

        expect(page.locator("#form-errors")).to_contain_text("your limit per job is 4,096")
        expect(page.locator(".history-item")).to_have_count(0)
        browser.close()
    assert not GenerationSession.objects.exists()
