"""API-token authentication for websockets, beside Channels' session-cookie authentication."""

from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.middleware import BaseMiddleware
from django.contrib.auth.models import AnonymousUser
from rest_framework.authtoken.models import Token


def token_from_scope(scope) -> str | None:
    """The key from an `Authorization: Token …` header or a `token` query parameter."""
    for name, value in scope.get("headers", []):
        if name == b"authorization":
            kind, _, key = value.decode("latin-1").partition(" ")
            if kind.lower() == "token" and key.strip():
                return key.strip()
    keys = parse_qs(scope.get("query_string", b"").decode()).get("token")
    return keys[0] if keys else None


@database_sync_to_async
def user_for_token(key: str):
    try:
        user = Token.objects.select_related("user").get(key=key).user
    except Token.DoesNotExist:
        return AnonymousUser()
    return user if user.is_active else AnonymousUser()


class TokenAuthMiddleware(BaseMiddleware):
    """Sets scope["user"] from an API token when one is given (an invalid one means anonymous)."""

    async def __call__(self, scope, receive, send):
        key = token_from_scope(scope)
        if key is not None:
            scope = dict(scope, user=await user_for_token(key))
        return await super().__call__(scope, receive, send)
