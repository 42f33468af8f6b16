"""The AUTOMATIC1111-compatible API's views (`/sdapi/v1/`): async, authenticated with a
project API key (HTTP Basic with the key as password, or Bearer), errors in A1111's shape
`{error, detail, body, errors}`. Each view calls generation.a1111; txt2img and img2img wait
for their job without holding a server thread."""

import functools

from channels.db import database_sync_to_async
from django.http import JsonResponse

from .. import a1111, integrations, waiting
from ..models import GenerationSession
from .compat import ApiError, Caller, compat_view, json_body, require_writer

Status = GenerationSession.Status
ERROR_NAMES = {401: "HTTPException", 403: "HTTPException", 404: "HTTPException", 429: "HTTPException"}


def render_error(error: ApiError) -> JsonResponse:
    """A1111's error body. Invalid input is a 422 there (FastAPI's status), naming the field
    the way A1111 clients call it."""
    status = 422 if error.status == 400 else error.status
    detail = error.message
    if error.param:
        shown = a1111.FIELD_NAMES.get(error.param, error.param)
        detail = f"{shown}: {detail.removeprefix(f'{error.param}: ')}"
    name = ERROR_NAMES.get(status, "GenerationFailed" if status == 500 else "ValidationError")
    return JsonResponse({"error": name, "detail": detail, "body": "", "errors": detail}, status=status)


def endpoint(methods=("POST",)):
    """compat_view with A1111's errors, HTTP Basic auth, and the service's A1111Error."""

    def decorate(view):
        @functools.wraps(view)
        async def translated(request, caller: Caller, **kwargs):
            try:
                return await view(request, caller, **kwargs)
            except a1111.A1111Error as error:
                raise ApiError(error.status, error.detail) from None

        return compat_view(render_error, basic_auth=True, methods=methods)(translated)

    return decorate


def submit(caller: Caller, body: dict, img2img: bool):
    translated = a1111.translate(caller.key, body, img2img)
    return translated, integrations.submit_as_key(caller.key, caller.user, **translated.fields)


async def generate(request, caller: Caller, img2img: bool) -> JsonResponse:
    require_writer(caller)
    body = json_body(request)
    translated, session = await database_sync_to_async(submit)(caller, body, img2img)
    session = await waiting.session_end(session.id)
    if session.status == Status.FAILED:
        raise ApiError(500, session.error_message or "The generation failed.")
    answer = await database_sync_to_async(a1111.response_for)(session, translated, body)
    return JsonResponse(answer)


@endpoint()
async def txt2img(request, caller):
    return await generate(request, caller, img2img=False)


@endpoint()
async def img2img(request, caller):
    return await generate(request, caller, img2img=True)


@endpoint(methods=("GET",))
async def progress(request, caller):
    skip = request.GET.get("skip_current_image", "false").lower() == "true"
    return JsonResponse(await database_sync_to_async(a1111.progress_for)(caller.key, skip))


@endpoint()
async def interrupt(request, caller):
    require_writer(caller)
    await database_sync_to_async(a1111.stop_current_job)(caller.key)
    return JsonResponse({})


def listing(build):
    """A GET endpoint answering `build(caller.key)`."""

    @endpoint(methods=("GET",))
    async def view(request, caller):
        return JsonResponse(await database_sync_to_async(build)(caller.key), safe=False)

    return view


sd_models = listing(a1111.sd_models)
loras = listing(a1111.loras)
samplers = listing(lambda key: a1111.samplers())
schedulers = listing(lambda key: a1111.schedulers())
upscalers = listing(lambda key: [])
sd_vae = listing(lambda key: [])
embeddings = listing(lambda key: {"loaded": {}, "skipped": {}})
scripts = listing(lambda key: {"txt2img": [], "img2img": []})


@endpoint(methods=("GET", "POST"))
async def options(request, caller):
    if request.method == "POST":
        require_writer(caller)
        await database_sync_to_async(a1111.set_options)(caller.key, json_body(request))
    return JsonResponse(await database_sync_to_async(a1111.options)(caller.key))


@endpoint()
async def png_info(request, caller):
    body = json_body(request)
    return JsonResponse(await database_sync_to_async(a1111.png_info)(body.get("image") or ""))


@endpoint()
async def refresh(request, caller):
    """refresh-checkpoints / refresh-loras: the catalog is always current; nothing to do."""
    return JsonResponse({})
