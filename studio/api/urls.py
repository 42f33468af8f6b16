"""The studio API's routes (token, projects, members, API keys, webhooks); mounted under /api/v1/
by deepimage_site/urls.py."""

from django.urls import path

from deepimage_site import converters  # noqa: F401 - registers <id:…>

from . import api_keys, members, projects, tokens, webhooks

hook = "projects/<id:project_id>/webhooks/<id:webhook_id>"

urlpatterns = [
    path("auth/token/", tokens.TokenApi.as_view(), name="token"),
    path("projects/", projects.ProjectListCreateApi.as_view(), name="project-list"),
    path("projects/<id:project_id>/", projects.ProjectDetailApi.as_view(), name="project-detail"),
    path("projects/<id:project_id>/members/", members.MemberListApi.as_view(), name="member-list"),
    path("projects/<id:project_id>/members/<id:user_id>/", members.MemberDetailApi.as_view(), name="member-detail"),
    path("projects/<id:project_id>/api-keys/", api_keys.ApiKeyListCreateApi.as_view(), name="api-key-list"),
    path("projects/<id:project_id>/api-keys/<id:key_id>/", api_keys.ApiKeyDetailApi.as_view(), name="api-key-detail"),
    path("projects/<id:project_id>/webhooks/", webhooks.WebhookListCreateApi.as_view(), name="webhook-list"),
    path(f"{hook}/", webhooks.WebhookDetailApi.as_view(), name="webhook-detail"),
    path(f"{hook}/deliveries/", webhooks.WebhookDeliveryListApi.as_view(), name="webhook-deliveries"),
    path(f"{hook}/test/", webhooks.WebhookTestApi.as_view(), name="webhook-test"),
]
