"""The browser studio's routes."""

from django.urls import path

from deepimage_site import converters  # noqa: F401 - registers <id:…>

from . import accounts, members, views

app_name = "studio"

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
    path("projects/<id:project_id>/rename/", members.project_rename, name="project-rename"),
    path("projects/<id:project_id>/delete/", members.project_delete, name="project-delete"),
]
