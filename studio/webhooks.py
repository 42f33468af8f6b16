"""A project's webhooks: owners register endpoints (a URL, the events it wants, an active
flag), each with a secret shown once; an event becomes one WebhookDelivery row per active,
subscribed endpoint, the record of what is sent and how it went.

A delivery is a POST signed the Standard Webhooks way (`webhook-id`, `webhook-timestamp`,
`webhook-signature: v1,<base64 HMAC-SHA256>`), made by a task on the webhook queue, never on a
GPU worker. A failed attempt (no answer, or anything but a 2xx: redirects are not followed) is
tried again after each wait of RETRY_DELAYS, about a day in all, then the delivery is failed.
Short waits are delayed tasks; the periodic sweep sends whatever is due, so a lost message or
a restarted worker loses nothing. Every run claims its attempt with a conditional update, so
a duplicate message does nothing.

Targets are checked against server-side request forgery when they are registered and again
on every attempt, on the address actually connected to (DNS can change): loopback, private,
link-local, reserved, multicast and cloud metadata addresses are refused unless
DEEPIMAGE_WEBHOOK_ALLOW_PRIVATE is set.
"""

import base64
import http.client
import ipaddress
import json
import logging
import secrets
import socket
import threading
import time
import uuid
from collections.abc import Iterable
from datetime import timedelta
from functools import partial
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone
from standardwebhooks import Webhook

from .models import Project, WebhookDelivery, WebhookEndpoint

logger = logging.getLogger(__name__)
Event = WebhookEndpoint.Event
Status = WebhookDelivery.Status
TEST_EVENT = "generation.test"
# The wait after each failed attempt: 8 attempts over about 24 h 12 min, then the delivery fails.
RETRY_DELAYS = tuple(
    timedelta(seconds=seconds) for seconds in (30, 2 * 60, 10 * 60, 60 * 60, 3 * 3600, 8 * 3600, 12 * 3600)
)
# Redis hands an unacknowledged delayed message to another consumer after an hour: longer
# waits are left to the sweep rather than held by a worker as a delayed task.
LONGEST_COUNTDOWN = timedelta(minutes=30)
METADATA_ADDRESSES = {ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254")}
NAT64 = ipaddress.ip_network("64:ff9b::/96")


class TargetRefused(Exception):
    """The target's address is one webhooks may not reach."""


# --- endpoints --------------------------------------------------------------------------------


def webhooks_of(project: Project) -> QuerySet[WebhookEndpoint]:
    return project.webhooks.select_related("created_by").order_by("created_at", "id")


def webhook_of(project: Project, webhook_id) -> WebhookEndpoint:
    """The project's endpoint `webhook_id`, or Http404."""
    return get_object_or_404(project.webhooks, pk=webhook_id)


def recent_deliveries(endpoint: WebhookEndpoint) -> QuerySet[WebhookDelivery]:
    return endpoint.deliveries.order_by("-created_at", "-id")


def webhook_create(*, project: Project, user, url: str, events: Iterable[str], active: bool = True) -> WebhookEndpoint:
    """Register an endpoint with a new secret (read it from the result: it is not shown again).
    Raises ValidationError by field: a URL that is not http(s) or whose host webhooks may not reach,
    no event or an unknown one."""
    endpoint = WebhookEndpoint(
        project=project, created_by=user, url=url.strip(), events=checked_events(events), active=active
    )
    endpoint.secret = new_secret()
    endpoint.full_clean()
    check_target(endpoint.url)
    endpoint.save()
    return endpoint


def webhook_update(
    endpoint: WebhookEndpoint, *, url: str | None = None, events: Iterable[str] | None = None, active=None
) -> WebhookEndpoint:
    """Change what is given of the URL (checked again), the events and the active flag."""
    if url is not None:
        endpoint.url = url.strip()
    if events is not None:
        endpoint.events = checked_events(events)
    if active is not None:
        endpoint.active = active
    endpoint.full_clean()
    if url is not None:
        check_target(endpoint.url)
    endpoint.save(update_fields=["url", "events", "active"])
    return endpoint


def webhook_delete(endpoint: WebhookEndpoint) -> None:
    """Delete the endpoint and its deliveries; a pending one is never sent."""
    endpoint.delete()


def new_secret() -> str:
    """A Standard Webhooks secret: `whsec_` and 32 random bytes in base64."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def checked_events(events: Iterable[str]) -> list[str]:
    chosen = sorted(set(events))
    if not chosen or any(event not in Event.values for event in chosen):
        raise ValidationError({"events": f"Pick one or more of: {', '.join(Event.values)}."})
    return chosen


# --- where a webhook may go -------------------------------------------------------------------


def check_target(url: str) -> None:
    """Raise ValidationError on `url` unless it is http(s) and, without
    DEEPIMAGE_WEBHOOK_ALLOW_PRIVATE, every address its host resolves to may be reached."""
    parts = urlsplit(url)
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise ValidationError({"url": "The port is not a number between 0 and 65535."}) from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValidationError({"url": "Use an http:// or https:// URL."})
    if settings.DEEPIMAGE_WEBHOOK_ALLOW_PRIVATE:
        return
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)}
    except (socket.gaierror, UnicodeError):
        raise ValidationError({"url": f"The host “{parts.hostname}” could not be resolved."}) from None
    for address in sorted(addresses):
        reason = forbidden_reason(address)
        if reason:
            where = address if address == parts.hostname else f"{parts.hostname} ({address})"
            raise ValidationError({"url": f"{where} is {reason}: webhooks may not go there."})


def forbidden_reason(address: str) -> str | None:
    """Why webhooks may not reach the IP `address`, or None if they may."""
    ip = ipaddress.ip_address(address.split("%")[0])  # an IPv6 zone ("%eth0") is not part of the address
    ip = embedded_ipv4(ip) or ip
    if ip in METADATA_ADDRESSES:
        return "a cloud metadata address"
    for reason, applies in (
        ("a loopback address", ip.is_loopback),
        ("a link-local address", ip.is_link_local),
        ("a multicast address", ip.is_multicast),
        ("a private address", ip.is_private),
        ("a reserved address", ip.is_reserved or ip.is_unspecified or not ip.is_global),
    ):
        if applies:
            return reason
    return None


def embedded_ipv4(ip) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one carries (mapped, 6to4, NAT64), which is what it reaches."""
    if ip.version != 6:
        return None
    if ip.ipv4_mapped or ip.sixtofour:
        return ip.ipv4_mapped or ip.sixtofour
    if ip in NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


# --- events -----------------------------------------------------------------------------------


def endpoints_for(project_id: int, event: str) -> list[WebhookEndpoint]:
    """The project's active endpoints that receive `event`."""
    return [
        endpoint
        for endpoint in WebhookEndpoint.objects.filter(project_id=project_id, active=True)
        if event in endpoint.events
    ]


def event_record(endpoints: list[WebhookEndpoint], event: str, data: dict, session_id=None) -> list[WebhookDelivery]:
    """One pending delivery of `event` with `data` per endpoint, sent once the caller's
    transaction commits (and by the sweep, should that message be lost)."""
    deliveries = [new_delivery(endpoint, event, data, session_id) for endpoint in endpoints]
    for delivery in deliveries:
        transaction.on_commit(partial(enqueue, delivery.pk))
    return deliveries


def webhook_send_test(endpoint: WebhookEndpoint) -> WebhookDelivery:
    """Queue a `generation.test` event with a sample session, whatever the endpoint's events
    and active flag, so that an owner can check their receiver."""
    with transaction.atomic():
        return event_record([endpoint], TEST_EVENT, sample_session(endpoint.project))[0]


def new_delivery(endpoint: WebhookEndpoint, event: str, data: dict, session_id=None) -> WebhookDelivery:
    now = timezone.now()
    payload = {"type": event, "timestamp": now.isoformat().replace("+00:00", "Z"), "data": data}
    return WebhookDelivery.objects.create(
        endpoint=endpoint,
        event=event,
        session_id=session_id,
        message_id=f"msg_{uuid.uuid4().hex}",
        payload=payload,
        next_attempt_at=now,
    )


def sample_session(project: Project) -> dict:
    """What a `generation.succeeded` event carries, with made-up values, for the test event."""
    return {
        "id": 0,
        "url": None,
        "project": {"id": project.id, "name": project.name},
        "status": "succeeded",
        "mode": "txt2img",
        "prompt": "A test event from DeepImage",
        "negative_prompt": "",
        "model": {"id": 0, "name": "Sample model"},
        "seed": 1,
        "steps": 20,
        "guidance_scale": 7.5,
        "sampler": "euler",
        "width": 512,
        "height": 512,
        "num_images": 1,
        "created_by": None,
        "created_at": None,
        "started_at": None,
        "finished_at": None,
        "error": "",
        "images": [],
    }


# --- delivering -------------------------------------------------------------------------------


def retry_delay(attempts: int) -> timedelta | None:
    """The wait after the `attempts`-th failed attempt; None once the schedule is spent."""
    return RETRY_DELAYS[attempts - 1] if 1 <= attempts <= len(RETRY_DELAYS) else None


def claim_time() -> timedelta:
    """How long an attempt holds its delivery: after that a sweep may try again (the worker
    that had it died), so it is well above the longest an attempt can take."""
    return timedelta(seconds=3 * settings.DEEPIMAGE_WEBHOOK_TIMEOUT_SECONDS + 60)


def enqueue(delivery_id: int, countdown: float = 0) -> None:
    """Ask the webhook queue to attempt a delivery. A broker that is down is no error: the
    row is the record, and the sweep sends it."""
    from .tasks import deliver_webhook_task  # lazy: tasks import this module

    try:
        deliver_webhook_task.apply_async((delivery_id,), countdown=countdown, retry=False)
    except Exception:  # noqa: BLE001 - the broker's own errors vary by transport
        logger.warning("Could not queue webhook delivery %s; the sweep will send it", delivery_id, exc_info=True)


def webhook_sweep(limit: int = 500) -> int:
    """Queue an attempt of every pending delivery that is due, oldest first: retries whose
    wait is over, and deliveries whose message was lost. Returns how many were queued."""
    due = (
        WebhookDelivery.objects.filter(status=Status.PENDING, next_attempt_at__lte=timezone.now())
        .order_by("next_attempt_at", "id")
        .values_list("pk", flat=True)[:limit]
    )
    due = list(due)
    for delivery_id in due:
        enqueue(delivery_id)
    return len(due)


def webhook_deliver(delivery_id: int) -> WebhookDelivery | None:
    """Make the next attempt of a pending delivery that is due and record how it went; None
    if there is nothing to do (sent, failed, not due yet, or another run has it)."""
    now = timezone.now()
    claimed = WebhookDelivery.objects.filter(pk=delivery_id, status=Status.PENDING, next_attempt_at__lte=now).update(
        attempts=F("attempts") + 1, last_attempt_at=now, next_attempt_at=now + claim_time()
    )
    if not claimed:
        return None
    delivery = WebhookDelivery.objects.select_related("endpoint").get(pk=delivery_id)
    endpoint = delivery.endpoint
    if not endpoint.active and delivery.event != TEST_EVENT:
        return record_attempt(delivery, None, "The endpoint was made inactive; nothing was sent.", retry=False)
    try:
        code = post_signed(endpoint.url, endpoint.secret, delivery.message_id, delivery.payload)
    except TargetRefused as error:
        return record_attempt(delivery, None, f"Refused: {error}", retry=False)
    except TimeoutError:
        return record_attempt(delivery, None, f"No answer within {settings.DEEPIMAGE_WEBHOOK_TIMEOUT_SECONDS:g} s.")
    except (OSError, http.client.HTTPException) as error:
        return record_attempt(delivery, None, f"{type(error).__name__}: {error}"[:500])
    error = "" if 200 <= code < 300 else f"The endpoint answered {code}."
    return record_attempt(delivery, code, error)


def record_attempt(delivery: WebhookDelivery, code: int | None, error: str, retry: bool = True) -> WebhookDelivery:
    """Write how an attempt went: succeeded on a 2xx, else pending until the next wait of the
    schedule (queued as a delayed task when it is short), or failed when none is left."""
    delay = retry_delay(delivery.attempts) if error and retry else None
    if not error:
        delivery.status, delivery.next_attempt_at = Status.SUCCEEDED, None
    elif delay is None:
        delivery.status, delivery.next_attempt_at = Status.FAILED, None
    else:
        delivery.status, delivery.next_attempt_at = Status.PENDING, timezone.now() + delay
    delivery.last_status_code, delivery.last_error = code, error
    # Only while no later attempt has started (this one's claim lapsed and a sweep went on).
    WebhookDelivery.objects.filter(pk=delivery.pk, attempts=delivery.attempts).update(
        status=delivery.status,
        next_attempt_at=delivery.next_attempt_at,
        last_status_code=code,
        last_error=error,
    )
    if delay is not None and delay <= LONGEST_COUNTDOWN:
        enqueue(delivery.pk, countdown=delay.total_seconds())
    if error:
        logger.info("Webhook delivery %s, attempt %s: %s", delivery.pk, delivery.attempts, error)
    return delivery


def post_signed(url: str, secret: str, message_id: str, payload: dict) -> int:
    """POST `payload` as JSON, signed, to `url`; the answer's status code. No redirect is
    followed. Raises TargetRefused for an address webhooks may not reach, OSError (timeouts
    included) or HTTPException for a failed exchange."""
    body = json.dumps(payload, separators=(",", ":"))
    sent_at = timezone.now()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "DeepImage-Webhooks/1",
        "webhook-id": message_id,
        "webhook-timestamp": str(int(sent_at.timestamp())),
        "webhook-signature": Webhook(secret).sign(message_id, sent_at, body),
    }
    parts = urlsplit(url)
    try:
        check_target(url)
    except ValidationError as error:
        raise TargetRefused(" ".join(error.message_dict["url"])) from None
    timeout = settings.DEEPIMAGE_WEBHOOK_TIMEOUT_SECONDS
    late = f"No answer within {timeout:g} s."
    connection = new_connection(url, timeout)
    with Deadline(timeout) as deadline:
        connection._create_connection = deadline.create_connection  # http.client's hook for opening its socket
        try:
            connection.connect()
            check_peer(connection.sock.getpeername()[0])
            path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
            connection.request("POST", path, body=body.encode(), headers=headers)
            status = connection.getresponse().status
            if deadline.expired:  # cut short mid-headers, which http.client takes for their end
                raise TimeoutError(late)
            return status
        except (OSError, http.client.HTTPException) as error:
            if deadline.expired:
                raise TimeoutError(late) from error
            raise
        finally:
            connection.close()


def new_connection(url: str, timeout: float) -> http.client.HTTPConnection:
    """An unopened connection to `url`'s host, on its port or the scheme's default one (given
    explicitly: from None, http.client would read a port off the end of an IPv6 address)."""
    parts = urlsplit(url)
    https = parts.scheme == "https"
    connection_class = http.client.HTTPSConnection if https else http.client.HTTPConnection
    return connection_class(parts.hostname, parts.port or (443 if https else 80), timeout=timeout)


class Deadline:
    """A limit of `seconds` on a whole exchange: connecting, the TLS handshake, sending and
    reading the answer. A socket's timeout bounds each operation, not their sum, so a receiver
    that trickles a byte at a time would hold the worker for ever. When the time is up, a timer
    shuts the socket down, which ends whatever the exchange is waiting on; `expired` says why.

    The timer shuts down a duplicate of the socket, held until the deadline ends: it reaches the
    same connection after TLS has wrapped (and detached) the original, and its descriptor cannot
    be closed and reused by something else while the timer may still fire."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.expired = False
        self._ends_at = time.monotonic() + seconds
        self._socket: socket.socket | None = None
        self._lock = threading.Lock()
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True

    def __enter__(self) -> "Deadline":
        self._ends_at = time.monotonic() + self.seconds
        self._timer.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._timer.cancel()
        with self._lock:
            if self._socket is not None:
                self._socket.close()
                self._socket = None

    def create_connection(self, address, timeout=None, source_address=None) -> socket.socket:
        """socket.create_connection, each address tried for no longer than the time left; the
        connected socket is watched."""
        host, port = address
        error: OSError = TimeoutError(f"No connection within {self.seconds:g} s.")
        for family, kind, proto, _, sockaddr in socket.getaddrinfo(host, port, 0, socket.SOCK_STREAM):
            left = self._ends_at - time.monotonic()
            if left <= 0:
                break
            sock = socket.socket(family, kind, proto)
            try:
                sock.settimeout(left if timeout is None else min(timeout, left))
                if source_address:
                    sock.bind(source_address)
                sock.connect(sockaddr)
            except OSError as failed:
                sock.close()
                error = failed
                continue
            with self._lock:
                self._socket = sock.dup()
                if self.expired:
                    self._shut_down()
            return sock
        raise error

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            self._shut_down()

    def _shut_down(self) -> None:
        if self._socket is not None:
            try:
                self._socket.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass  # already closed by the other side


def check_peer(address: str) -> None:
    """The address a request is about to go to, after DNS: the name may have changed since it
    was checked (DNS rebinding)."""
    reason = None if settings.DEEPIMAGE_WEBHOOK_ALLOW_PRIVATE else forbidden_reason(address)
    if reason:
        raise TargetRefused(f"the connection went to {address}, {reason}.")
