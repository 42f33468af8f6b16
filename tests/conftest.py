"""Shared fixtures: tiny real pipelines, the team of test users, and the live stack."""

import os
import shutil
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings
from django.db import connection
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from deepimage_site import stack
from generation import execution, submission
from generation.engine import GenerationRequest, ModelSpec
from generation.engine.tiny import build_tiny_pipeline, save_tiny_adapter, save_tiny_model, save_tiny_sd15_model
from generation.models import GenerationSession, ModelEntry
from studio.api_keys import api_key_create
from studio.models import Membership
from studio.services import membership_set, project_create

OUTPUT_DIR = Path(__file__).resolve().parent.parent / "test-output"
PASSWORD = "correct-horse-battery"
LIVE_QUEUE = f"{settings.CELERY_TASK_DEFAULT_QUEUE}-live"  # the live stack's worker's queue


@pytest.fixture(scope="session")
def output_dir() -> Path:
    OUTPUT_DIR.mkdir(exist_ok=True)
    return OUTPUT_DIR


@pytest.fixture(scope="session", autouse=True)
def redis_server():
    """The machine's Redis when REDIS_URL is set; otherwise the embedded one, started here."""
    if not settings.REDIS_IS_EMBEDDED:
        yield settings.REDIS_URL
        return
    process = stack.start_embedded_redis(settings.EMBEDDED_REDIS_SOCKET)
    try:
        yield settings.REDIS_URL
    finally:
        stack.stop(process)


@pytest.fixture(autouse=True)
def fresh_channel_layer():
    """Each in-process websocket test runs in a new event loop, and a Redis channel layer's
    locks belong to the loop that made them: give every test its own layer."""
    from channels.layers import channel_layers

    channel_layers.backends.clear()


@pytest.fixture(scope="session", autouse=True)
def remove_data_dir():
    yield
    if str(settings.DATA_DIR).startswith(("/tmp/deepimage-test-", os.path.realpath("/tmp") + "/deepimage-test-")):
        shutil.rmtree(settings.DATA_DIR, ignore_errors=True)


@pytest.fixture(scope="session")
def tiny_model_dir() -> Path:
    """A real diffusers folder: the tiny SD-1.5-shaped pipeline with seeded random weights."""
    return save_tiny_sd15_model(settings.DATA_DIR / "models" / "tiny-sd15")


@pytest.fixture(scope="session")
def tiny_family_dir():
    """tiny_family_dir("sdxl") -> a saved tiny pipeline of that family, built once per run."""
    built: dict[tuple[str, bool], Path] = {}

    def folder(family: str, inpainting: bool = False) -> Path:
        if (family, inpainting) not in built:
            name = f"tiny-{family}{'-inpainting' if inpainting else ''}"
            built[family, inpainting] = save_tiny_model(settings.DATA_DIR / "models" / name, family, 0, inpainting)
        return built[family, inpainting]

    return folder


@pytest.fixture(scope="session")
def tiny_adapter():
    """tiny_adapter("loha") -> a tiny adapter file for the SD 1.5 fixture (or `family`'s)."""
    made: dict[tuple[str, str], Path] = {}

    def adapter(kind: str = "lora", family: str = "sd15") -> Path:
        if (kind, family) not in made:
            path = settings.DATA_DIR / "adapters" / f"{family}-{kind}.safetensors"
            made[kind, family] = save_tiny_adapter(path, build_tiny_pipeline(family), kind)
        return made[kind, family]

    return adapter


@pytest.fixture
def engine_job(tiny_model_dir):
    """engine_job(**fields) -> an engine GenerationRequest: the tiny SD 1.5 pipeline, 4 steps at 64²;
    `folder` and `family` name another tiny pipeline."""

    def make(folder=None, family: str = "sd15", **fields) -> GenerationRequest:
        values = {
            "model": ModelSpec(source=str(folder or tiny_model_dir), family=family),
            "prompt": "a lighthouse at dusk",
            "seed": 11,
            "steps": 4,
            "width": 64,
            "height": 64,
        }
        return GenerationRequest(**(values | fields))

    return make


@pytest.fixture(autouse=True)
def own_media_folder(request, settings, tmp_path):
    """Database ids restart after each test's rollback; files must not outlive their rows, so
    each test stores into its own folder. Stack tests keep the data folder's media, which
    their worker process writes to."""
    if "live_stack" not in request.fixturenames:
        settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def stored_files(own_media_folder):
    """stored_files() -> every file under the media folder, relative to it, sorted."""

    def listing() -> list[str]:
        root = own_media_folder
        return (
            sorted(str(path.relative_to(root)) for path in root.rglob("*") if path.is_file()) if root.exists() else []
        )

    return listing


@pytest.fixture
def submit(team, tiny_model):
    """submit(**fields) -> a queued session of bob's in the team's project: the tiny model,
    "a barn", 4 steps, unless `model`, `user`, `project` or the fields say otherwise."""

    def make(model=None, user=None, project=None, **fields) -> GenerationSession:
        return submission.generation_submit(
            user=user or team.bob,
            project=project or team.project,
            model_id=(model or tiny_model).id,
            **({"prompt": "a barn", "steps": 4} | fields),
        )

    return make


@pytest.fixture
def run():
    """run(session or id) -> the session after a worker ran it in this process."""

    def run_session(session) -> GenerationSession:
        session_id = getattr(session, "id", session)
        execution.generation_run(session_id, worker="test")
        return GenerationSession.objects.get(pk=session_id)

    return run_session


@pytest.fixture
def generated(submit, run):
    """generated(**fields) -> a finished session, submitted as `submit` does and run."""
    return lambda **fields: run(submit(**fields))


@pytest.fixture
def tiny_model(db, tiny_model_dir) -> ModelEntry:
    return ModelEntry.objects.create(
        name="Tiny SD 1.5",
        family=ModelEntry.Family.SD15,
        source=str(tiny_model_dir),
        description="Random weights, for tests.",
        default_steps=4,
        default_width=64,
        default_height=64,
    )


@pytest.fixture
def broken_model(db) -> ModelEntry:
    return ModelEntry.objects.create(name="Missing folder", source=str(settings.DATA_DIR / "no-such-model"))


@pytest.fixture
def make_user(django_user_model):
    def make(username: str, **extra):
        return django_user_model.objects.create_user(username=username, password=PASSWORD, **extra)

    return make


@pytest.fixture
def team(db, make_user):
    """Alice owns the project, Bob edits, Vera views, and Charlie is not a member."""
    alice, bob, vera, charlie = (make_user(name) for name in ("alice", "bob", "vera", "charlie"))
    project = project_create(name="Posters", owner=alice)
    membership_set(project=project, user=bob, role=Membership.Role.EDITOR)
    membership_set(project=project, user=vera, role=Membership.Role.VIEWER)
    return type("Team", (), {"project": project, "alice": alice, "bob": bob, "vera": vera, "charlie": charlie})


@pytest.fixture
def api_as():
    """An API client authenticated with the user's real API token."""

    def client_for(user) -> APIClient:
        client = APIClient()
        if user is not None:
            client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=user)[0].key}")
        return client

    return client_for


def test_database_url() -> str:
    """The URL of the database the tests run on, for the stack's child processes."""
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    credentials = quote(db["USER"] or "") + (":" + quote(db["PASSWORD"]) if db["PASSWORD"] else "")
    return f"postgres://{credentials}@{db['HOST'] or 'localhost'}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.fixture(scope="session")
def live_stack(django_db_setup, django_db_blocker, redis_server, output_dir):
    """A real Celery worker process and a real Daphne server on the test database.

    Tests that use it need `transactional_db`, so that the processes see their rows.
    """
    with django_db_blocker.unblock():
        database_url = test_database_url()
    # A queue of its own: the wake-ups of in-process tests (which run their jobs themselves)
    # never reach this worker; those of this stack's Daphne do.
    env = dict(os.environ, DATABASE_URL=database_url, REDIS_URL=redis_server, DEBUG="false", DEEPIMAGE_QUEUE=LIVE_QUEUE)
    port = stack.free_port()
    logs = [open(output_dir / name, "w") for name in ("worker.log", "daphne.log")]  # noqa: SIM115
    processes = []
    try:
        processes.append(stack.start_worker(env, name="test-worker@%h", stdout=logs[0], stderr=logs[0]))
        processes.append(stack.start_daphne(env, "127.0.0.1", port, stdout=logs[1], stderr=logs[1]))
        yield f"127.0.0.1:{port}"
    finally:
        for process in reversed(processes):
            stack.stop(process)
        for log in logs:
            log.close()


@pytest.fixture
def api_key(team):
    """api_key(user=bob, project=the team's, role="editor", **more) -> the secret of a new project API key."""

    def make(user=None, project=None, role="editor", **more) -> str:
        new = api_key_create(project=project or team.project, user=user or team.bob, name="test key", role=role, **more)
        return new.secret

    return make


@pytest.fixture
def api_with_key():
    """An API client that sends `Authorization: Bearer <key>`."""

    def client_for(secret: str) -> APIClient:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
        return client

    return client_for
