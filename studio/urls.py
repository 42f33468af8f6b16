"""The browser studio's routes."""

from django.urls import path

from . import accounts, members, views

app_name = "studio"

urlpatterns = [
    path("", views.project_list, name="project-list"),
    path("accounts/signup/", accounts.signup, name="signup"),
    path("projects/<int:project_id>/", views.workspace, name="workspace"),
    path("projects/<int:project_id>/images/<int:image_id>/", views.image_page, name="image"),
    path("projects/<int:project_id>/images/<int:image_id>/delete/", views.image_delete, name="image-delete"),
    path("projects/<int:project_id>/comparisons/<int:comparison_id>/", views.comparison_page, name="comparison"),
    path("projects/<int:project_id>/members/", members.members, name="members"),
    path("projects/<int:project_id>/members/invite/", members.member_invite, name="member-invite"),
    path("projects/<int:project_id>/members/<int:user_id>/role/", members.member_role, name="member-role"),
    path("projects/<int:project_id>/members/<int:user_id>/remove/", members.member_remove, name="member-remove"),
    path("projects/<int:project_id>/rename/", members.project_rename, name="project-rename"),
    path("projects/<int:project_id>/delete/", members.project_delete, name="project-delete"),
]
