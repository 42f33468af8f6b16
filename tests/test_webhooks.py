"""Webhooks: owners register endpoints; a generation that ends is POSTed to them, signed the
Standard Webhooks way, to a real HTTP receiver in this process; failures are retried on the
documented schedule and recorded; server-side request forgery is refused.

Celery tasks run inline here (`tasks_inline`), except in the last test, where a real worker
consumes the webhook queue. Time does not pass: a test moves `next_attempt_at` into the past.
"""

import base64
import hashlib
import hmac
import json
import socket
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from celery.contrib.testing.worker import start_worker
from django.conf import settings as django_settings
from django.utils import timezone
from standardwebhooks import Webhook

from deepimage_site import stack
from deepimage_site.celery import app
from generation import execution, queue, submission
from studio import webhooks
from studio.models import WebhookDelivery, WebhookEndpoint
from studio.services import project_create

pytestmark = [pytest.mark.django_db, pytest.mark.filterwarnings("ignore::FutureWarning")]

ALL_EVENTS = ["generation.succeeded", "generation.failed", "generation.cancelled"]


class Receiver:
    """An HTTP server on 127.0.0.1 (or `host`) that records every request and answers with the
    next of `answers` (then 200); `delay` seconds before the first answer simulate a hung receiver."""

    def __init__(self, host: str = "127.0.0.1"):
        self.requests: list[dict] = []
        self.answers: list[int] = []
        self.delay = 0.0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
                delay, receiver.delay = receiver.delay, 0.0
                time.sleep(delay)
                self.send_response(receiver.answers.pop(0) if receiver.answers else 200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        class Server(ThreadingHTTPServer):
            address_family = socket.AF_INET6 if ":" in host else socket.AF_INET

        self.server = Server((host, 0), Handler)
        self.url = (
            f"http://[{host}]:{self.server.server_port}" if ":" in host else f"http://{host}:{self.server.server_port}"
        )
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)

    def messages(self) -> list[dict]:
        return [json.loads(request["body"]) for request in self.requests]


@pytest.fixture
def receiver():
    started = Receiver()
    started.thread.start()
    try:
        yield started
    finally:
        started.server.shutdown()
        started.server.server_close()


@pytest.fixture
def allow_private(settings):
    settings.DEEPIMAGE_WEBHOOK_ALLOW_PRIVATE = True


@pytest.fixture
def tasks_inline():
    """Celery tasks run where they are sent, errors raised: what the webhook queue would do."""
    before = app.conf.task_always_eager, app.conf.task_eager_propagates
    app.conf.task_always_eager = app.conf.task_eager_propagates = True
    yield
    app.conf.task_always_eager, app.conf.task_eager_propagates = before


@pytest.fixture
def hook(team, receiver, allow_private):
    """hook(path="/hook", events=all, active=True) -> an endpoint of the team's project on the receiver."""

    def make(path: str = "/hook", events=ALL_EVENTS, active: bool = True) -> WebhookEndpoint:
        return webhooks.webhook_create(
            project=team.project, user=team.alice, url=receiver.url + path, events=events, active=active
        )

    return make


def verified(request: dict, secret: str) -> dict:
    """The message, after checking its signature with the library and by hand (the spec's algorithm)."""
    headers, body = request["headers"], request["body"]
    message = Webhook(secret).verify(body, headers)
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.{body.decode()}".encode()
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    assert headers["webhook-signature"] == f"v1,{expected}"
    assert abs(int(headers["webhook-timestamp"]) - time.time()) < 60
    return message


def make_due(delivery: WebhookDelivery) -> None:
    """As if the wait before the next attempt were over."""
    WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now() - timedelta(seconds=1))


# --- events of generations ----------------------------------------------------------------------


def test_a_succeeded_generation_is_delivered_signed_with_its_image_urls(
    team, submit, run, hook, receiver, tasks_inline, api_as, django_capture_on_commit_callbacks
):
    endpoint = hook()
    queued = submit(num_images=2, seed=5)

    with django_capture_on_commit_callbacks(execute=True):
        session = run(queued)

    assert session.status == "succeeded" and len(receiver.requests) == 1
    message = verified(receiver.requests[0], endpoint.secret)
    assert message["type"] == "generation.succeeded"
    data = message["data"]
    assert (data["id"], data["status"], data["prompt"], data["seed"]) == (session.id, "succeeded", "a barn", 5)
    assert data["project"] == {"id": team.project.id, "name": "Posters"}
    assert data["model"]["name"] == "Tiny SD 1.5" and data["created_by"] == "bob" and data["error"] == ""
    images = sorted(session.images.all(), key=lambda image: image.index)
    base = django_settings.DEEPIMAGE_PUBLIC_URL
    assert [image["url"] for image in data["images"]] == [f"{base}/api/v1/images/{image.id}/file/" for image in images]
    assert [image["seed"] for image in data["images"]] == [5, 6]
    assert api_as(team.alice).get(data["images"][0]["url"].removeprefix(base)).status_code == 200
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.last_status_code, delivery.session_id) == (
        "succeeded",
        1,
        200,
        session.id,
    )
    assert receiver.requests[0]["headers"]["webhook-id"] == delivery.message_id


def test_a_failed_generation_sends_generation_failed_with_its_error(
    submit, run, broken_model, hook, receiver, tasks_inline, django_capture_on_commit_callbacks
):
    endpoint = hook()
    queued = submit(model=broken_model)

    with django_capture_on_commit_callbacks(execute=True):
        session = run(queued)

    assert session.status == "failed"
    message = verified(receiver.requests[0], endpoint.secret)
    assert message["type"] == "generation.failed"
    assert message["data"]["error"] == session.error_message and message["data"]["images"] == []


def test_a_cancelled_generation_sends_generation_cancelled(
    submit, hook, receiver, tasks_inline, django_capture_on_commit_callbacks
):
    endpoint = hook()
    queued = submit()

    with django_capture_on_commit_callbacks(execute=True):
        session = execution.generation_cancel(queued)

    message = verified(receiver.requests[0], endpoint.secret)
    assert (message["type"], message["data"]["id"]) == ("generation.cancelled", session.id)
    assert message["data"]["error"] == "Cancelled by the user."


def test_a_job_past_its_attempts_sends_generation_failed(
    submit, hook, receiver, tasks_inline, settings, django_capture_on_commit_callbacks
):
    settings.DEEPIMAGE_JOB_ATTEMPTS = 1
    hook()
    session = execution.generation_claim(submit().id, "gone-worker")

    with django_capture_on_commit_callbacks(execute=True):
        assert queue.queue_release(session.id, "The worker vanished.") == "failed"

    assert [message["type"] for message in receiver.messages()] == ["generation.failed"]


def test_only_subscribed_events_reach_active_endpoints(
    submit, hook, receiver, tasks_inline, django_capture_on_commit_callbacks
):
    hook("/failures", events=["generation.failed"])
    hook("/inactive", active=False)
    hook("/all")
    queued = submit()

    with django_capture_on_commit_callbacks(execute=True):
        execution.generation_cancel(queued)

    assert [request["path"] for request in receiver.requests] == ["/all"]
    assert WebhookDelivery.objects.count() == 1


def test_a_generation_without_webhooks_records_no_delivery(submit):
    assert execution.generation_cancel(submit()).status == "cancelled"
    assert not WebhookDelivery.objects.exists()


# --- retries --------------------------------------------------------------------------------------


def test_the_retry_schedule_waits_longer_each_time_for_about_a_day():
    delays = [webhooks.retry_delay(attempts) for attempts in range(1, 9)]

    assert delays[:-1] == [
        timedelta(seconds=30),
        timedelta(minutes=2),
        timedelta(minutes=10),
        timedelta(hours=1),
        timedelta(hours=3),
        timedelta(hours=8),
        timedelta(hours=12),
    ]
    assert delays[-1] is None  # the 8th failed attempt is the last
    assert timedelta(hours=23) < sum(delays[:-1], timedelta()) < timedelta(hours=25)


def test_a_failing_receiver_is_retried_until_it_answers(
    hook, receiver, tasks_inline, django_capture_on_commit_callbacks
):
    endpoint = hook()
    receiver.answers = [500, 503]

    with django_capture_on_commit_callbacks(execute=True):
        delivery = webhooks.webhook_send_test(endpoint)  # the 30 s retry is queued and finds it not due

    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("pending", 1, 500)
    assert delivery.last_error == "The endpoint answered 500."
    wait = delivery.next_attempt_at - delivery.last_attempt_at
    assert timedelta(seconds=29) < wait <= timedelta(seconds=31)

    make_due(delivery)
    assert webhooks.webhook_sweep() == 1
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("pending", 2, 503)
    assert timedelta(minutes=2) - timedelta(seconds=1) < delivery.next_attempt_at - delivery.last_attempt_at

    make_due(delivery)
    webhooks.webhook_sweep()
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("succeeded", 3, 200)
    assert delivery.next_attempt_at is None and delivery.last_error == ""
    assert len(receiver.requests) == 3
    assert len({request["headers"]["webhook-id"] for request in receiver.requests}) == 1  # one message, retried
    for request in receiver.requests:
        verified(request, endpoint.secret)
    assert webhooks.webhook_sweep() == 0


def test_a_receiver_that_never_answers_well_ends_failed_after_the_schedule(
    hook, receiver, tasks_inline, settings, django_capture_on_commit_callbacks
):
    settings.DEEPIMAGE_WEBHOOK_TIMEOUT_SECONDS = 0.3
    receiver.answers = [500] * 20
    receiver.delay = 1.0  # the first attempt gets no answer in time
    with django_capture_on_commit_callbacks(execute=True):
        delivery = webhooks.webhook_send_test(hook())
    delivery.refresh_from_db()
    assert (delivery.status, delivery.last_status_code, delivery.last_error) == (
        "pending",
        None,
        "No answer within 0.3 s.",
    )

    for _ in range(len(webhooks.RETRY_DELAYS)):
        make_due(delivery)
        webhooks.webhook_sweep()

    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("failed", 8, 500)
    assert delivery.next_attempt_at is None
    make_due(delivery)
    assert webhooks.webhook_sweep() == 0 and webhooks.webhook_deliver(delivery.id) is None


@pytest.fixture
def trickler():
    """trickler(start) -> (url, hung_up): a receiver on 127.0.0.1 that reads the request, sends
    `start`, then one byte every 0.3 s of something that never ends, until the client hangs up
    (`hung_up` is set) or 15 s have passed."""
    listener = socket.create_server(("127.0.0.1", 0))
    hung_up = threading.Event()
    threads = []

    def start(opening: bytes) -> tuple[str, threading.Event]:
        def answer():
            connection, _ = listener.accept()
            with connection:
                connection.recv(65536)
                try:
                    connection.sendall(opening)
                    for _ in range(50):
                        time.sleep(0.3)
                        connection.sendall(b"a")
                except OSError:
                    hung_up.set()

        threads.append(threading.Thread(target=answer, daemon=True))
        threads[-1].start()
        return f"127.0.0.1:{listener.getsockname()[1]}", hung_up

    try:
        yield start
    finally:
        listener.close()
        for thread in threads:
            thread.join(20)


@pytest.mark.parametrize(
    ("scheme", "opening"),
    [
        ("http", b"HTTP/1.1 200 OK\r\nX-Slow: "),  # a header that never ends
        ("http", b"HTTP/1.1 200 "),  # a status line that never ends
        ("https", b"\x16\x03\x03\x40\x00"),  # a 16 KiB TLS record in the handshake (bounded by CPython too)
    ],
)
def test_a_receiver_that_trickles_its_answer_gets_the_timeout_in_all_not_per_byte(
    team, allow_private, tasks_inline, settings, trickler, scheme, opening
):
    settings.DEEPIMAGE_WEBHOOK_TIMEOUT_SECONDS = 1
    where, hung_up = trickler(opening)
    endpoint = webhooks.webhook_create(
        project=team.project, user=team.alice, url=f"{scheme}://{where}/slow", events=ALL_EVENTS
    )
    delivery = webhooks.webhook_send_test(endpoint)  # not committed: nothing is sent yet

    started = time.monotonic()
    delivery = webhooks.webhook_deliver(delivery.id)
    elapsed = time.monotonic() - started

    assert elapsed < 3, f"the attempt took {elapsed:.1f} s"
    assert (delivery.status, delivery.attempts, delivery.last_status_code, delivery.last_error) == (
        "pending",
        1,
        None,
        "No answer within 1 s.",
    )
    assert hung_up.wait(5)  # the connection was closed, not left to the receiver


def test_an_ipv6_receiver_is_delivered_to(team, allow_private, tasks_inline, django_capture_on_commit_callbacks):
    try:
        receiver = Receiver("::1")
    except OSError:
        pytest.skip("IPv6 loopback is not available")
    receiver.thread.start()
    try:
        endpoint = webhooks.webhook_create(
            project=team.project, user=team.alice, url=receiver.url + "/v6", events=ALL_EVENTS
        )
        with django_capture_on_commit_callbacks(execute=True):
            delivery = webhooks.webhook_send_test(endpoint)
    finally:
        receiver.server.shutdown()
        receiver.server.server_close()

    delivery.refresh_from_db()
    assert (delivery.status, delivery.last_status_code) == ("succeeded", 200)
    assert receiver.requests[0]["path"] == "/v6"
    assert receiver.requests[0]["headers"]["Host"] == f"[::1]:{receiver.server.server_port}"
    verified(receiver.requests[0], endpoint.secret)


@pytest.mark.parametrize(
    ("url", "host", "port"),
    [
        ("http://[::1]/x", "::1", 80),  # not port 1, read off the end of the address
        ("https://[2001:db8::1]/h", "2001:db8::1", 443),
        ("http://[2001:db8::1]:8080/h", "2001:db8::1", 8080),
        ("http://example.com/h", "example.com", 80),
        ("https://example.com:8443/h", "example.com", 8443),
    ],
)
def test_a_connection_goes_to_the_urls_port_or_the_schemes_default(url, host, port):
    connection = webhooks.new_connection(url, 1)

    assert (connection.host, connection.port, connection.timeout) == (host, port, 1)
    assert connection.sock is None  # nothing was opened


def test_an_unreachable_receiver_is_recorded_and_retried(team, allow_private, tasks_inline):
    endpoint = webhooks.webhook_create(
        project=team.project, user=team.alice, url=f"http://127.0.0.1:{stack.free_port()}/", events=ALL_EVENTS
    )
    delivery = webhooks.webhook_deliver(webhooks.webhook_send_test(endpoint).id)

    assert delivery.status == "pending" and delivery.attempts == 1
    assert delivery.last_error.startswith("ConnectionRefusedError")


def test_a_lost_message_is_sent_by_the_sweep_and_a_duplicate_sends_nothing(
    hook, receiver, tasks_inline, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False):  # the broker never gets the message
        delivery = webhooks.webhook_send_test(hook())
    assert receiver.requests == []

    assert webhooks.webhook_sweep() == 1
    assert webhooks.webhook_deliver(delivery.id) is None  # a second copy of the message
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, len(receiver.requests)) == ("succeeded", 1, 1)


def test_an_endpoint_made_inactive_gets_no_pending_delivery(hook, receiver, submit, django_capture_on_commit_callbacks):
    endpoint = hook()
    with django_capture_on_commit_callbacks(execute=False):
        execution.generation_cancel(submit())
    webhooks.webhook_update(endpoint, active=False)

    delivery = webhooks.webhook_deliver(WebhookDelivery.objects.get().id)

    assert delivery.status == "failed" and "inactive" in delivery.last_error and receiver.requests == []


def test_deliveries_go_to_their_own_queue_not_the_gpu_one(monkeypatch, tmp_path):
    routes = app.amqp.router
    gpu_queue = django_settings.CELERY_TASK_DEFAULT_QUEUE
    for task in ("studio.tasks.deliver_webhook_task", "studio.tasks.sweep_webhooks_task"):
        assert routes.route({}, task)["queue"].name == django_settings.DEEPIMAGE_WEBHOOK_QUEUE != gpu_queue
    schedule = django_settings.CELERY_BEAT_SCHEDULE["sweep-webhooks"]
    assert schedule == {"task": "studio.tasks.sweep_webhooks_task", "schedule": 60}
    started = []
    monkeypatch.setattr(stack.subprocess, "Popen", lambda command, **options: started.append(command))
    stack.start_control({"DEEPIMAGE_QUEUE": "q"}, tmp_path / "beat")
    assert started[0][started[0].index("-Q") + 1] == "q-control,q-webhooks"


# --- where webhooks may go ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8000/hook",
        "http://localhost/hook",
        "http://[::1]/hook",
        "http://10.1.2.3/hook",
        "http://192.168.0.10/hook",
        "http://172.16.5.4/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://[fd00:ec2::254]/",
        "http://[::ffff:127.0.0.1]/hook",
        "http://0.0.0.0/hook",
        "http://224.0.0.1/hook",
        "http://100.64.0.1/hook",
        "ftp://93.184.215.14/hook",
    ],
)
def test_private_and_metadata_targets_are_refused(team, api_as, url):
    response = api_as(team.alice).post(webhooks_url(team), {"url": url, "events": ALL_EVENTS}, format="json")

    assert response.status_code == 400 and "url" in response.json()
    assert not WebhookEndpoint.objects.exists()


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("64:ff9b::a9fe:a9fe", "a cloud metadata address"),  # NAT64 of 169.254.169.254
        ("2002:7f00:1::", "a loopback address"),  # 6to4 of 127.0.0.1
        ("fe80::1%eth0", "a link-local address"),
        ("93.184.215.14", None),
        ("2606:4700:4700::1111", None),
    ],
)
def test_addresses_are_judged_by_what_they_reach(address, reason):
    assert webhooks.forbidden_reason(address) == reason


def test_private_targets_are_accepted_when_allowed_and_public_ones_always(team, api_as, settings):
    client = api_as(team.alice)
    public = client.post(webhooks_url(team), {"url": "https://93.184.215.14/hook", "events": ALL_EVENTS}, format="json")
    settings.DEEPIMAGE_WEBHOOK_ALLOW_PRIVATE = True
    private = client.post(webhooks_url(team), {"url": "http://127.0.0.1:9/h", "events": ALL_EVENTS}, format="json")

    assert (public.status_code, private.status_code) == (201, 201)


def test_the_address_is_checked_again_when_delivering(hook, receiver, settings, tasks_inline):
    endpoint = hook()
    settings.DEEPIMAGE_WEBHOOK_ALLOW_PRIVATE = False

    delivery = webhooks.webhook_deliver(webhooks.webhook_send_test(endpoint).id)

    assert (delivery.status, delivery.attempts) == ("failed", 1)
    assert delivery.last_error.startswith("Refused: 127.0.0.1 is a loopback address")
    assert receiver.requests == []


def test_a_name_that_resolves_elsewhere_when_connecting_is_refused(hook, receiver, settings, monkeypatch):
    """DNS rebinding: the name looked public when checked, the connection went to loopback."""
    endpoint = hook()
    settings.DEEPIMAGE_WEBHOOK_ALLOW_PRIVATE = False
    monkeypatch.setattr(webhooks, "check_target", lambda url: None)

    delivery = webhooks.webhook_deliver(webhooks.webhook_send_test(endpoint).id)

    assert delivery.status == "failed" and "connection went to 127.0.0.1, a loopback address" in delivery.last_error
    assert receiver.requests == []


# --- the API ----------------------------------------------------------------------------------------


def webhooks_url(team, suffix: str = "") -> str:
    return f"/api/v1/projects/{team.project.id}/webhooks/{suffix}"


def test_an_owner_registers_an_endpoint_and_sees_its_secret_once(team, api_as, allow_private):
    client = api_as(team.alice)

    created = client.post(
        webhooks_url(team), {"url": "http://127.0.0.1:9/hook", "events": ["generation.failed"]}, format="json"
    )

    assert created.status_code == 201
    body = created.json()
    assert body["secret"].startswith("whsec_") and len(base64.b64decode(body["secret"][6:])) == 32
    assert (body["events"], body["active"], body["created_by"]) == (["generation.failed"], True, "alice")
    listed = client.get(webhooks_url(team)).json()
    detail = client.get(webhooks_url(team, f"{body['id']}/")).json()
    assert [item["id"] for item in listed] == [body["id"]]
    assert "secret" not in listed[0] and "secret" not in detail
    assert body["secret"] not in json.dumps([listed, detail])


def test_an_owner_changes_and_deletes_an_endpoint(team, api_as, hook, tasks_inline):
    endpoint = hook()
    webhooks.webhook_send_test(endpoint)
    client = api_as(team.alice)

    one = webhooks_url(team, f"{endpoint.id}/")
    changed = client.patch(one, {"events": ["generation.failed"], "active": False}, format="json")
    moved = client.patch(one, {"url": "http://127.0.0.1:1/"}, format="json")
    bad_event = client.patch(one, {"events": ["image.saved"]}, format="json")

    assert changed.status_code == 200 and (changed.json()["events"], changed.json()["active"]) == (
        ["generation.failed"],
        False,
    )
    assert moved.status_code == 200 and moved.json()["url"] == "http://127.0.0.1:1/"  # private ones allowed here
    assert bad_event.status_code == 400 and "events" in bad_event.json()
    assert client.delete(one).status_code == 204
    assert not WebhookEndpoint.objects.exists() and not WebhookDelivery.objects.exists()


def test_the_test_event_and_the_deliveries_through_the_api(
    team, api_as, hook, receiver, tasks_inline, django_capture_on_commit_callbacks
):
    endpoint = hook(events=["generation.failed"])  # a test event goes whatever the events
    client = api_as(team.alice)

    with django_capture_on_commit_callbacks(execute=True):
        queued = client.post(webhooks_url(team, f"{endpoint.id}/test/"))
    deliveries = client.get(webhooks_url(team, f"{endpoint.id}/deliveries/")).json()

    assert queued.status_code == 202 and queued.json()["status"] == "pending"
    message = verified(receiver.requests[0], endpoint.secret)
    assert message["type"] == "generation.test" and message["data"]["project"]["id"] == team.project.id
    assert deliveries["count"] == 1
    first = deliveries["results"][0]
    assert (first["event"], first["status"], first["attempts"], first["last_status_code"]) == (
        "generation.test",
        "succeeded",
        1,
        200,
    )


@pytest.mark.parametrize(("who", "expected"), [("bob", 403), ("vera", 403), ("charlie", 404)])
def test_only_owners_manage_webhooks(team, api_as, hook, who, expected):
    endpoint = hook()
    client = api_as(getattr(team, who))
    one = webhooks_url(team, f"{endpoint.id}/")

    answers = [
        client.get(webhooks_url(team)),
        client.post(webhooks_url(team), {"url": "https://93.184.215.14/", "events": ALL_EVENTS}, format="json"),
        client.get(one),
        client.patch(one, {"active": False}, format="json"),
        client.get(f"{one}deliveries/"),
        client.post(f"{one}test/"),
        client.delete(one),
    ]

    assert [answer.status_code for answer in answers] == [expected] * len(answers)
    assert WebhookEndpoint.objects.get().active and not WebhookDelivery.objects.exists()


def test_an_endpoint_of_another_project_is_a_404(team, api_as, hook):
    endpoint = hook()
    own = project_create(name="Alice's other", owner=team.alice)

    response = api_as(team.alice).get(f"/api/v1/projects/{own.id}/webhooks/{endpoint.id}/")

    assert response.status_code == 404


# --- the page -----------------------------------------------------------------------------------------


def test_the_owner_page_registers_shows_the_secret_once_and_lists_deliveries(
    team, client, receiver, allow_private, tasks_inline, django_capture_on_commit_callbacks
):
    client.force_login(team.alice)
    page = f"/projects/{team.project.id}/webhooks/"

    created = client.post(page, {"url": receiver.url + "/page", "events": ["generation.succeeded"], "active": "on"})
    endpoint = WebhookEndpoint.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        tested = client.post(f"{page}{endpoint.id}/test/")
    later = client.get(page)

    assert created.status_code == 200 and endpoint.secret in created.content.decode()
    assert endpoint.events == ["generation.succeeded"] and endpoint.active
    assert tested.status_code == 302 and len(receiver.requests) == 1
    assert later.status_code == 200 and endpoint.secret not in later.content.decode()
    assert "generation.test" in later.content.decode() and "Succeeded" in later.content.decode()


def test_the_owner_page_changes_and_deletes_an_endpoint(team, client, hook):
    endpoint = hook()
    client.force_login(team.alice)
    page = f"/projects/{team.project.id}/webhooks/{endpoint.id}"

    client.post(f"{page}/settings/", {"events": ["generation.cancelled"]})  # "active" unticked
    endpoint.refresh_from_db()
    assert (endpoint.events, endpoint.active) == (["generation.cancelled"], False)

    client.post(f"{page}/delete/")
    assert not WebhookEndpoint.objects.exists()


def test_the_page_refuses_a_private_target(team, client):
    client.force_login(team.alice)

    response = client.post(
        f"/projects/{team.project.id}/webhooks/", {"url": "http://169.254.169.254/", "events": ALL_EVENTS}
    )

    assert response.status_code == 400 and "metadata" in response.content.decode()
    assert not WebhookEndpoint.objects.exists()


@pytest.mark.parametrize(("who", "expected"), [("alice", 200), ("bob", 403), ("vera", 403), ("charlie", 404)])
def test_only_owners_see_the_webhooks_page(team, client, who, expected):
    client.force_login(getattr(team, who))

    assert client.get(f"/projects/{team.project.id}/webhooks/").status_code == expected


# --- the real thing: a worker on the webhook queue ------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_worker_on_the_webhook_queue_delivers_once_the_session_ends(team, tiny_model, receiver, allow_private):
    endpoint = webhooks.webhook_create(
        project=team.project, user=team.alice, url=receiver.url + "/live", events=ALL_EVENTS
    )
    session = submission.generation_submit(user=team.bob, project=team.project, model_id=tiny_model.id, prompt="a pier")

    with start_worker(app, pool="solo", perform_ping_check=False, queues=[django_settings.DEEPIMAGE_WEBHOOK_QUEUE]):
        execution.generation_cancel(session)  # committed at once: the message goes to the broker
        delivered = WebhookDelivery.objects.filter(status="succeeded")
        stack.wait_until(delivered.exists, 20, "the webhook")

    message = verified(receiver.requests[0], endpoint.secret)
    assert (message["type"], message["data"]["id"]) == ("generation.cancelled", session.id)
