"""The browser studio's routes."""

from django.urls import path

from deepimage_site import converters  # noqa: F401 - registers <id:…>

from . import accounts, api_key_pages, members, views, webhook_pages

app_name = "studio"
hook = "projects/<id:project_id>/webhooks/<id:webhook_id>"

urlpatterns = [
    path("", views.project_list, name="project-list"),
    path("accounts/signup/", accounts.signup, name="signup"),
    path("projects/<id:project_id>/", views.workspace, name="workspace"),
    path("projects/<id:project_id>/images/<id:image_id>/", views.image_page, name="image"),
    path("projects/<id:project_id>/images/<id:image_id>/delete/", views.image_delete, name="image-delete"),
    path("projects/<id:project_id>/comparisons/<id:comparison_id>/", views.comparison_page, name="comparison"),
    path("projects/<id:project_id>/members/", members.members, name="members"),
    path("projects/<id:project_id>/members/invite/", members.member_invite, name="member-invite"),
    path("projects/<id:project_id>/members/<id:user_id>/role/", members.member_role, name="member-role"),
    path("projects/<id:project_id>/members/<id:user_id>/remove/", members.member_remove, name="member-remove"),
    path("projects/<id:project_id>/api-keys/", api_key_pages.api_key_list, name="api-keys"),
    path("projects/<id:project_id>/api-keys/<id:key_id>/revoke/", api_key_pages.api_key_revoke, name="api-key-revoke"),
    path("projects/<id:project_id>/webhooks/", webhook_pages.webhook_list, name="webhooks"),
    path(f"{hook}/settings/", webhook_pages.webhook_settings, name="webhook-settings"),
    path(f"{hook}/test/", webhook_pages.webhook_test, name="webhook-test"),
    path(f"{hook}/delete/", webhook_pages.webhook_delete, name="webhook-delete"),
    path("projects/<id:project_id>/rename/", members.project_rename, name="project-rename"),
    path("projects/<id:project_id>/delete/", members.project_delete, name="project-delete"),
]
