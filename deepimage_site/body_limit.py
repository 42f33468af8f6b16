"""An ASGI guard that refuses request bodies above DEEPIMAGE_MAX_UPLOAD_MB with 413, before
Django reads them: at once when Content-Length says so, else as soon as the bytes streamed in
(chunked uploads) pass the limit."""

import json


class BodyTooLarge(Exception):
    pass


class BodyLimit:
    def __init__(self, app, max_bytes: int):
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            return await self.refuse(scope, send)
        received = 0

        async def counted():
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise BodyTooLarge
            return message

        try:
            await self.app(scope, counted, send)
        except BodyTooLarge:  # Django reads the whole body before it answers, so nothing was sent
            await self.refuse(scope, send)

    async def refuse(self, scope, send):
        megabytes = self.max_bytes / (1024 * 1024)
        detail = f"The request is larger than {megabytes:g} MB (DEEPIMAGE_MAX_UPLOAD_MB)."
        if scope.get("path", "").startswith("/api/"):
            body, kind = json.dumps({"detail": detail}).encode(), b"application/json"
        else:
            body, kind = detail.encode(), b"text/plain; charset=utf-8"
        headers = [(b"content-type", kind), (b"content-length", str(len(body)).encode()), (b"connection", b"close")]
        await send({"type": "http.response.start", "status": 413, "headers": headers})
        await send({"type": "http.response.body", "body": body})
