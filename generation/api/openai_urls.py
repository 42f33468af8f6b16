"""Routes of the OpenAI-compatible Images API, mounted at /v1/ (see generation.api.openai)."""

from django.urls import path, re_path

from . import openai

app_name = "openai"

urlpatterns = [
    path("images/generations", openai.image_generations, name="generations"),
    path("images/edits", openai.image_edits, name="edits"),
    path("images/variations", openai.image_variations, name="variations"),
    path("models", openai.models, name="models"),
    path("models/<path:model_id>", openai.model_detail, name="model"),
    path("files/<str:token>", openai.image_file, name="file"),
    re_path(r"^(?P<path>.*)$", openai.unknown_endpoint),
]
