"""The websocket routes."""

from django.urls import path

from .consumers import GenerationConsumer

websocket_urlpatterns = [
    path("ws/generations/<int:session_id>/", GenerationConsumer.as_asgi()),
]
