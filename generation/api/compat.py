"""The plumbing the compatible APIs (AUTOMATIC1111's, OpenAI's) share: async views that
authenticate a project API key, read the body, and turn domain errors into the protocol's
own error shape. Their calls wait for images without holding a server thread (see
generation.waiting); the work itself goes through the same services as every other path."""

import functools
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass

from asgiref.sync import sync_to_async
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from rest_framework.exceptions import AuthenticationFailed

from studio.authentication import ApiKeyAuthentication, ApiKeyBasicAuthentication
from studio.models import ApiKey
from studio.permissions import key_can_write

from ..quotas import QuotaExceeded

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ApiError(Exception):
    """An error answered in the protocol's shape: `param` names the field at fault."""

    status: int
    message: str
    param: str | None = None
    code: str | None = None
    retry_after: int | None = None


# A protocol renders an ApiError as its JSON response.
ErrorRenderer = Callable[[ApiError], JsonResponse]


@dataclass
class Caller:
    """Who is calling: the key's creator (narrowed to the key's project and role) and the key."""

    user: object
    key: ApiKey

    @property
    def project(self):
        return self.key.project

    @property
    def can_write(self) -> bool:
        return key_can_write(self.user)


def api_error_from(error: Exception) -> ApiError:
    """The ApiError for a domain error raised by a service (see STYLE: errors are values)."""
    if isinstance(error, ApiError):
        return error
    if isinstance(error, ValidationError):
        if hasattr(error, "error_dict"):
            field, messages = next(iter(error.message_dict.items()))
            return ApiError(400, f"{field}: {' '.join(messages)}", param=field, code="invalid_value")
        return ApiError(400, " ".join(error.messages), code="invalid_value")
    if isinstance(error, QuotaExceeded):
        return ApiError(429, error.message, code="rate_limit_exceeded", retry_after=error.retry_after)
    if isinstance(error, AuthenticationFailed):
        return ApiError(401, str(error.detail), code="invalid_api_key")
    if isinstance(error, PermissionDenied):
        return ApiError(403, str(error) or "Not allowed.", code="permission_denied")
    if isinstance(error, Http404):
        return ApiError(404, str(error) or "Not found.", code="not_found")
    raise error


def authenticate(request: HttpRequest, basic: bool) -> Caller:
    """The caller of a request made with a project API key; ApiError 401 without one."""
    scheme = ApiKeyBasicAuthentication() if basic else ApiKeyAuthentication()
    found = scheme.authenticate(request)
    if found is None:
        expected = "HTTP Basic (the key as password) or " if basic else ""
        raise ApiError(401, f"Send a project API key: {expected}`Authorization: Bearer <key>`.", code="invalid_api_key")
    user, key = found
    return Caller(user=user, key=key)


def json_body(request: HttpRequest) -> dict:
    """The request's JSON object; a 400 for anything else."""
    try:
        body = json.loads(request.body or b"{}")
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ApiError(400, f"The body is not valid JSON: {error}.", code="invalid_json") from None
    if not isinstance(body, dict):
        raise ApiError(400, "The body must be a JSON object.", code="invalid_json")
    return body


def compat_view(render_error: ErrorRenderer, *, basic_auth: bool = False, methods=("POST",)):
    """Make `view(request, caller, **kwargs)` (a coroutine) an endpoint of a compatible API:
    key authentication first, the protocol's errors after; CSRF does not apply (no cookies)."""

    def decorate(view):
        @csrf_exempt
        @functools.wraps(view)
        async def endpoint(request: HttpRequest, **kwargs):
            try:
                if request.method not in methods:
                    raise ApiError(405, f"Use {' or '.join(methods)} here.", code="method_not_allowed")
                caller = await sync_to_async(authenticate)(request, basic_auth)
                return await view(request, caller, **kwargs)
            except Exception as error:  # noqa: BLE001 - domain errors become the protocol's errors
                api_error = api_error_from(error)
            response = render_error(api_error)
            if api_error.retry_after:
                response["Retry-After"] = str(api_error.retry_after)
            if api_error.status == 401:
                response["WWW-Authenticate"] = 'Basic realm="api"' if basic_auth else 'Bearer realm="api"'
            if api_error.status == 405:
                response["Allow"] = ", ".join(methods)
            return response

        return endpoint

    return decorate


def require_writer(caller: Caller) -> None:
    if not caller.can_write:
        raise ApiError(403, "This key is a viewer's: it cannot generate.", code="permission_denied")
