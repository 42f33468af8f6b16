"""The websocket routes."""

from django.urls import path

from deepimage_site import converters  # noqa: F401 - registers <id:…>

from .consumers import GenerationConsumer

websocket_urlpatterns = [
    path("ws/generations/<id:session_id>/", GenerationConsumer.as_asgi()),
]
