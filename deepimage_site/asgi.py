"""The ASGI application Daphne serves: Django for HTTP behind the request-size guard, and the
generation websockets behind the origin check, session-cookie and API-token authentication."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "deepimage_site.settings")
# Django must be set up before the routing below imports consumers and models.
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402
from daphne.http_protocol import WebRequest  # noqa: E402
from django.conf import settings  # noqa: E402

from deepimage_site.body_limit import BodyLimit  # noqa: E402
from deepimage_site.websocket_auth import TokenAuthMiddleware  # noqa: E402
from generation.routing import websocket_urlpatterns  # noqa: E402


def leave_forms_to_django(request_init=WebRequest.__init__):
    """Twisted, under Daphne, parses every multipart POST body into `request.args`, which Daphne
    never reads: a second copy of each upload, and for a body it cannot parse a bare 400 with
    no JSON, before Django sees the request. Django parses the body; Twisted need not."""

    def init(self, *args, **kwargs):
        request_init(self, *args, **kwargs)
        self._parsePOSTFormSubmission = False

    WebRequest.__init__ = init


leave_forms_to_django()

application = ProtocolTypeRouter(
    {
        "http": BodyLimit(django_asgi_app, settings.DEEPIMAGE_MAX_UPLOAD_MB * 1024 * 1024),
        "websocket": AllowedHostsOriginValidator(
            AuthMiddlewareStack(TokenAuthMiddleware(URLRouter(websocket_urlpatterns)))
        ),
    }
)
