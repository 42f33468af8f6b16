"""DRF authentication with project API keys: `Authorization: Bearer <key>` on every API, and
for the AUTOMATIC1111-compatible API also HTTP Basic with the key as the password (what
`webuiapi.set_auth` sends). The user is the key's creator, narrowed to the key's project and
role (see studio.permissions)."""

import base64
import binascii

from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.exceptions import AuthenticationFailed

from .api_keys import api_key_resolve

REFUSED = "This API key is not valid: it is unknown, revoked or expired."


def user_for_key(secret: str):
    """(user, key) for a live key; AuthenticationFailed (401) for any other."""
    resolved = api_key_resolve(secret)
    if resolved is None:
        raise AuthenticationFailed(REFUSED)
    key, role = resolved
    user = key.created_by
    user.api_key, user.api_key_role = key, role
    return user, key


class ApiKeyAuthentication(BaseAuthentication):
    def authenticate(self, request):
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() != b"bearer":
            return None
        if len(parts) != 2:
            raise AuthenticationFailed("Send the key as `Authorization: Bearer <key>`.")
        return user_for_key(parts[1].decode("latin-1"))

    def authenticate_header(self, request):
        return 'Bearer realm="api"'


class ApiKeyBasicAuthentication(ApiKeyAuthentication):
    """HTTP Basic with any user name and the key as the password; Bearer works too."""

    def authenticate(self, request):
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() != b"basic":
            return super().authenticate(request)
        try:
            _, _, password = base64.b64decode(parts[1] if len(parts) == 2 else b"", validate=True).partition(b":")
        except (binascii.Error, ValueError):
            raise AuthenticationFailed("The Basic credentials are not valid base64.") from None
        return user_for_key(password.decode("latin-1"))

    def authenticate_header(self, request):
        return 'Basic realm="api"'
