"""The OpenAI-compatible Images API at /v1/: thin async views over generation.openai_images.

A call authenticates a project API key (`Authorization: Bearer <key>`, what the `openai`
client sends), submits an ordinary session of the key's project, waits for it without
holding a server thread, and answers in OpenAI's shape. Errors are OpenAI's
`{"error": {message, type, param, code}}` with the statuses its client maps to exceptions;
a failed generation is a 500 and a cancelled one a 409, both with `x-should-retry: false` so
that the client does not queue the same job again. The links of `response_format: url`
need no key: their signature, which expires, is the permission.
"""

import logging

from asgiref.sync import sync_to_async
from django.core import signing
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt

from .. import openai_images
from ..models import GenerationSession
from ..waiting import session_end
from .compat import ApiError, Caller, compat_view, json_body, require_writer

logger = logging.getLogger(__name__)

ERROR_TYPES = {401: "authentication_error", 403: "permission_error", 429: "rate_limit_error"}
NOT_RETRIED = ("generation_failed", "generation_cancelled")  # the job ran; a retry would run it again
Status = GenerationSession.Status


def render_error(error: ApiError) -> JsonResponse:
    kind = "server_error" if error.status >= 500 else ERROR_TYPES.get(error.status, "invalid_request_error")
    body = {"error": {"message": error.message, "type": kind, "param": error.param, "code": error.code}}
    response = JsonResponse(body, status=error.status)
    if error.code in NOT_RETRIED:
        response["x-should-retry"] = "false"
    return response


@compat_view(render_error)
async def image_generations(request: HttpRequest, caller: Caller):
    require_writer(caller)
    call = await sync_to_async(openai_images.generation_call)(caller.key, json_body(request))
    return await generated_images(request, caller, call)


@compat_view(render_error)
async def image_edits(request: HttpRequest, caller: Caller):
    require_writer(caller)
    form, files = await multipart(request)
    images = files.getlist("image") or files.getlist("image[]")  # the client sends a list as image[]
    call = await sync_to_async(openai_images.edit_call)(caller.key, form, images, files.get("mask"))
    return await generated_images(request, caller, call)


@compat_view(render_error)
async def image_variations(request: HttpRequest, caller: Caller):
    require_writer(caller)
    form, files = await multipart(request)
    call = await sync_to_async(openai_images.variation_call)(caller.key, form, files.get("image"))
    return await generated_images(request, caller, call)


@compat_view(render_error, methods=("GET",))
async def models(request: HttpRequest, caller: Caller):
    return JsonResponse(await sync_to_async(openai_images.models_list)(caller.key))


@compat_view(render_error, methods=("GET",))
async def model_detail(request: HttpRequest, caller: Caller, model_id: str):
    return JsonResponse(await sync_to_async(openai_images.model_detail)(caller.key, model_id))


async def multipart(request: HttpRequest):
    """The form fields and files of a multipart body (parsed off the event loop)."""
    if request.content_type != "multipart/form-data":
        raise ApiError(400, "Send multipart/form-data, as the openai client does.", code="invalid_content_type")
    return await sync_to_async(lambda: (request.POST, request.FILES))()


async def generated_images(request: HttpRequest, caller: Caller, call: openai_images.ImageCall) -> JsonResponse:
    """Submit, wait for the end of the job, answer with its images. Once the job is queued,
    every error is one the client must not retry: a retry would queue the job again."""
    session = await sync_to_async(openai_images.openai_submit)(caller.key, caller.user, call)
    try:
        return await finished_images(request, session.id, call)
    except (ApiError, Http404):
        raise
    except Exception:
        logger.exception("Answering OpenAI-compatible call for generation %s failed", session.id)
        raise ApiError(
            500,
            f"Generation {session.id} was queued, but its answer failed; see it in the history.",
            code="generation_failed",
        ) from None


async def finished_images(request: HttpRequest, session_id: int, call: openai_images.ImageCall) -> JsonResponse:
    session = await session_end(session_id)
    if session.status == Status.FAILED:
        raise ApiError(500, f"The generation failed: {session.error_message}", code="generation_failed")
    if session.status == Status.CANCELLED:
        raise ApiError(409, "The generation was cancelled.", code="generation_cancelled")

    def url_for(token: str) -> str:
        return request.build_absolute_uri(reverse("openai:file", args=[token]))

    return JsonResponse(await sync_to_async(openai_images.images_response)(session, call.delivery, url_for))


def image_file(request: HttpRequest, token: str) -> HttpResponse:
    """GET a link answered for `response_format: url`: 403 once expired or if altered."""
    if request.method != "GET":
        return render_error(ApiError(405, "Use GET here.", code="method_not_allowed"))
    try:
        content, content_type = openai_images.file_for_token(token)
    except signing.SignatureExpired:
        return render_error(ApiError(403, "This link has expired: ask for the image again.", code="link_expired"))
    except signing.BadSignature:
        return render_error(ApiError(403, "This link is not valid.", code="invalid_link"))
    except Http404 as error:
        return render_error(ApiError(404, str(error), code="not_found"))
    response = HttpResponse(content, content_type=content_type)
    response["Cache-Control"] = "private, max-age=3600"
    return response


@csrf_exempt
def unknown_endpoint(request: HttpRequest, path: str = "") -> JsonResponse:
    message = (
        f"DeepImage's OpenAI-compatible API has no /v1/{path}: "
        "it serves images/generations, images/edits, images/variations and models."
    )
    return render_error(ApiError(404, message, code="unknown_url"))
