"""The site's error answers: plain pages (JSON under /api/) with no detail of the server. An
unhandled error gets a reference id that the page shows and the log records with the traceback."""

import logging
import secrets

from django.core.exceptions import BadRequest
from django.http import HttpResponse, JsonResponse
from django.template.loader import render_to_string

logger = logging.getLogger("deepimage.errors")


class ErrorReferenceMiddleware:
    """Log every unhandled exception once, with the reference its 500 page will show."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        request.error_reference = secrets.token_hex(6)
        logger.error("Error %s on %s %s", request.error_reference, request.method, request.path, exc_info=exception)


def wants_json(request) -> bool:
    return request.path.startswith("/api/")


def bad_request(request, exception):
    """400: our own BadRequest messages are written for people; anything else stays generic."""
    message = str(exception) if type(exception) is BadRequest and str(exception) else "The request was not valid."
    if wants_json(request):
        return JsonResponse({"detail": message}, status=400)
    return page("Bad request", message, status=400)


def not_found(request, exception):
    """404 for a URL no route matches (a route's own 404s come from its view)."""
    if wants_json(request):
        return JsonResponse({"detail": "Not found."}, status=404)
    return page("Not found", "There is nothing at this address.", status=404)


def server_error(request):
    reference = getattr(request, "error_reference", "")
    message = "Something went wrong on our side. If it keeps happening, tell an admin this reference."
    if wants_json(request):
        return JsonResponse({"detail": message, "reference": reference}, status=500)
    return page("Server error", message, reference, status=500)


def locked_out(request, original_response=None, credentials=None) -> HttpResponse:
    """django-axes' answer once a username or an address failed too often: 429, with how long
    to wait in Retry-After and in words (JSON under /api/)."""
    from django.conf import settings

    seconds = int(settings.AXES_COOLOFF_TIME.total_seconds())
    message = f"Too many failed sign-ins from here or for this account; try again in {seconds // 60} minutes."
    response = (
        JsonResponse({"detail": message}, status=429) if wants_json(request) else page("Slow down", message, status=429)
    )
    response["Retry-After"] = str(seconds)
    return response


def page(title: str, message: str, reference: str = "", status: int = 500) -> HttpResponse:
    """Rendered without the request's context: whatever failed (the database, a session) is not asked again."""
    context = {"title": title, "message": message, "reference": reference}
    return HttpResponse(render_to_string("error.html", context), status=status)
