"""The OpenAPI schema: complete, valid, browsable with our own assets, and true to the live
server, which schemathesis fuzzes with a project of its own."""

import io
import json
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest
from django.core.files.base import ContentFile
from django.core.management import call_command
from drf_spectacular.validation import validate_schema
from PIL import Image
from rest_framework.authtoken.models import Token

from deepimage_site.urls import api_urls
from generation import execution, submission
from generation.models import GenerationSession, UserQuota
from studio.api_keys import api_key_create
from studio.models import Membership, WebhookEndpoint
from studio.services import membership_set, project_create

pytestmark = [pytest.mark.stack, pytest.mark.django_db(transaction=True)]

FUZZ_SECONDS = 150  # the hard bound of the schemathesis run
# The checks every response must pass: no 5xx, and status, content type, headers and body as documented.
CHECKS = "not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,"
CHECKS += "response_schema_conformance"
# Signing in is throttled per address (a fuzzed password would lock 127.0.0.1 out for the other
# tests), revoking the token would end the run's authentication, and a webhook sends requests
# to whatever URL it was given: only to addresses this machine chose, never to fuzzed ones.
NOT_FUZZED = (
    "auth_token_create",
    "auth_token_destroy",
    "projects_webhooks_create",
    "projects_webhooks_partial_update",
    "projects_webhooks_test_create",
)


def get(live_stack: str, path: str, **headers) -> tuple[int, str, bytes]:
    request = urllib.request.Request(f"http://{live_stack}{path}", headers=headers)
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.status, response.headers.get_content_type(), response.read()


def test_every_native_route_and_method_is_in_the_schema():
    schema = json.loads(call_command_output("spectacular", "--format", "openapi-json"))

    for pattern in api_urls[0]:
        path = "/api/v1/" + re.sub(r"<\w+:(\w+)>", r"{\1}", str(pattern.pattern))
        methods = {m for m in ("get", "post", "patch", "delete") if hasattr(pattern.callback.view_class, m)}
        assert path in schema["paths"], path
        assert set(schema["paths"][path]) == methods, path


def test_the_schema_generates_without_warnings(tmp_path):
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yaml"))


def call_command_output(*args) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_the_live_schema_is_valid_openapi_and_the_docs_use_our_own_assets(live_stack):
    status, kind, body = get(live_stack, "/api/v1/schema/?format=json")
    schema = json.loads(body)
    validate_schema(schema)  # raises on anything the OpenAPI 3.0 JSON schema refuses
    assert status == 200 and schema["openapi"].startswith("3.")
    assert {"tokenAuth", "cookieAuth", "projectApiKey"} <= set(schema["components"]["securitySchemes"])

    status, kind, page = get(live_stack, "/api/v1/docs/")
    html = page.decode()
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)

    assert status == 200 and kind == "text/html"
    assert not re.search(r"https?://", html), "the docs page must not load anything from elsewhere"
    assert any(asset.endswith("swagger-ui-bundle.js") for asset in assets)
    for asset in assets:  # served by whitenoise with DEBUG off, as in production
        assert asset.startswith("/static/") and get(live_stack, asset)[0] == 200, asset


# What schemathesis found, kept as plain regressions.


def test_an_api_address_that_no_route_matches_is_a_json_404(api_as, make_user):
    response = api_as(make_user("dora")).get("/api/v1/projects/1000000000000000000/")  # 19 digits: no route

    assert response.status_code == 404 and response.json() == {"detail": "Not found."}


def test_a_field_error_is_always_a_list_of_messages(api_as, make_user):
    response = api_as(make_user("dora")).get("/api/v1/models/?project=abc")

    assert response.status_code == 400 and response.json() == {"project": ["A project id, please."]}


def test_a_multipart_body_without_parts_reaches_django_through_daphne(live_stack, make_user):
    token = Token.objects.create(user=make_user("dora")).key
    request = urllib.request.Request(
        f"http://{live_stack}/api/v1/projects/",
        data=b"--XX--\r\n",
        headers={"Authorization": f"Token {token}", "Content-Type": "multipart/form-data; boundary=XX"},
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=30)

    assert refused.value.code == 400 and json.loads(refused.value.read()) == {"name": ["This field is required."]}


def png(size=(64, 64)) -> ContentFile:
    buffer = io.BytesIO()
    Image.new("RGB", size, "teal").save(buffer, "PNG")
    return ContentFile(buffer.getvalue(), name="preview.png")


@pytest.fixture
def fuzzed_project(make_user, tiny_model, submit, run):
    """A project of its own for the fuzzer: an owner with a token and tight limits, an editor, a
    member and a project to delete, finished generations with lineage, a queued comparison, an
    API key to revoke and a webhook. Returns the ids schemathesis should mostly use."""
    owner, editor, leaver = (make_user(name) for name in ("fuzz-owner", "fuzz-editor", "fuzz-leaver"))
    project = project_create(name="Fuzzed", owner=owner)
    doomed = project_create(name="Fuzzed and deleted", owner=owner)
    membership_set(project=project, user=editor, role=Membership.Role.EDITOR)
    membership_set(project=project, user=leaver, role=Membership.Role.VIEWER)
    # Small jobs only, and few at a time: what the fuzzer gets queued stays quick for the live worker.
    UserQuota.objects.create(user=owner, queued_jobs=3, job_cost=4 * 128 * 128 * 8)
    tiny_model.preview.save("preview.png", png())

    first = run(submit(user=owner, project=project, num_images=2, width=64, height=64))
    image, doomed_image = first.images.order_by("index")
    child = run(submit(user=owner, project=project, mode="image_to_image", source_image=image.id, width=64, height=64))
    comparison = submission.comparison_submit(
        user=owner, project=project, variants=[{"model": tiny_model.id}, {"model": tiny_model.id}], prompt="a barn"
    )
    key = api_key_create(project=project, user=owner, name="to revoke").key
    # Inactive and on a closed loopback port: nothing is ever sent to it.
    hook = WebhookEndpoint.objects.create(
        project=project, url="http://127.0.0.1:9/", events=["generation.failed"], active=False, created_by=owner
    )
    return {
        "Token": Token.objects.get_or_create(user=owner)[0].key,
        "Bearer": api_key_create(project=project, user=owner, name="the fuzzer's").secret,
        "owner": owner,
        "project": project.id,
        "doomed_project": doomed.id,
        "editor": editor.id,
        "leaver": leaver.id,
        "model": tiny_model.id,
        "sessions": [first.id, child.id],
        "images": [image.id, child.images.get().id],
        "doomed_image": doomed_image.id,
        "comparison": comparison.id,
        "key": key.id,
        "webhook": hook.id,
    }


def schemathesis_config(ids: dict) -> str:
    """schemathesis.toml: real ids most of the time (random ones the rest, for the 404s), a
    real model in every submission, and deletions aimed at objects made to be deleted."""
    real_ids = {
        "path.project_id": [ids["project"]],
        "path.session_id": ids["sessions"],
        "path.image_id": ids["images"],
        "path.comparison_id": [ids["comparison"]],
        "path.model_id": [ids["model"]],
        "path.user_id": [ids["editor"]],
        "path.webhook_id": [ids["webhook"]],
    }
    fixed = {
        "projects_generations_create": {"body.model": ids["model"], "body.prompt": "a lighthouse"},
        "projects_comparisons_create": {"body.variants": [{"model": ids["model"]}] * 2, "body.prompt": "a barn"},
        "projects_destroy": {"path.project_id": ids["doomed_project"]},
        "projects_members_destroy": {"path.user_id": ids["leaver"]},
        "images_destroy": {"path.image_id": ids["doomed_image"]},
        "projects_api_keys_destroy": {"path.key_id": ids["key"]},
    }
    lines = ["[dictionaries]"]
    lines += [f"{name.replace('.', '_')} = {{ values = {toml(values)} }}" for name, values in real_ids.items()]
    lines += ["", "[parameters]"]
    lines += [f'"{name}" = {{ dictionary = "{name.replace(".", "_")}", probability = 0.8 }}' for name in real_ids]
    for operation, parameters in fixed.items():
        lines += ["", "[[operations]]", f'include-operation-id = "{operation}"', f"parameters = {toml(parameters)}"]
        if operation.endswith("_create"):  # the fixed model is used in the fuzzing phase only: more of it
            lines.append("generation = { max-examples = 25 }")
    return "\n".join(lines) + "\n"


def toml(value) -> str:
    """An inline TOML value of numbers, strings, lists and tables."""
    if isinstance(value, dict):
        return "{ " + ", ".join(f'"{key}" = {toml(item)}' for key, item in value.items()) + " }"
    if isinstance(value, list):
        return "[" + ", ".join(toml(item) for item in value) + "]"
    return json.dumps(value)  # a string or a number


@pytest.mark.parametrize("scheme", ["Bearer", "Token"], ids=["project API key", "owner's token"])
def test_schemathesis_finds_no_server_error_and_no_response_outside_the_schema(
    live_stack, fuzzed_project, tmp_path, output_dir, scheme
):
    """With the project API key (the owner's, capped at editor: owner-only operations are
    documented 403s) and with the owner's own token (which reaches those operations too)."""
    config = tmp_path / "schemathesis.toml"
    config.write_text(schemathesis_config(fuzzed_project))
    command = [
        *(sys.executable, "-m", "schemathesis.cli", "--config-file", str(config), "run"),
        f"http://{live_stack}/api/v1/schema/?format=json",
        *("--header", f"Authorization: {scheme} {fuzzed_project[scheme]}"),
        *("--checks", CHECKS),
        # One worker: with two, Hypothesis' lambda descriptions (ast.parse in threads) sometimes crash on Python 3.11.
        *("--max-examples", "5", "--seed", "1", "--workers", "1", "--request-timeout", "20"),
        *(arg for operation in NOT_FUZZED for arg in ("--exclude-operation-id", operation)),
        *("--report", "json", "--report-json-path", str(output_dir / f"schemathesis-{scheme}.json")),
        "--no-color",
    ]
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=FUZZ_SECONDS)
    finally:
        stop_fuzzed_jobs(fuzzed_project["owner"])
    (output_dir / f"schemathesis-{scheme}.log").write_text(result.stdout + result.stderr)

    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]


def stop_fuzzed_jobs(owner, timeout: float = 30):
    """Cancel what the fuzzer queued and wait for the live worker to let go of it, so that
    the database can be flushed under nobody's feet."""
    active = GenerationSession.objects.filter(
        created_by=owner, status__in=(GenerationSession.Status.QUEUED, GenerationSession.Status.RUNNING)
    )
    for session in active.all():  # a copy: `active` itself must not cache its rows
        execution.generation_cancel(session)
    deadline = time.monotonic() + timeout
    while active.exists() and time.monotonic() < deadline:
        time.sleep(0.2)
