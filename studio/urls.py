from django.urls import path

from . import views

app_name = "studio"

urlpatterns = [
    path("", views.project_list, name="project-list"),
    path("accounts/signup/", views.signup, name="signup"),
    path("projects/<int:project_id>/", views.workspace, name="workspace"),
    path("projects/<int:project_id>/images/<int:image_id>/", views.image_page, name="image"),
    path("projects/<int:project_id>/images/<int:image_id>/delete/", views.image_delete, name="image-delete"),
    path("projects/<int:project_id>/comparisons/<int:comparison_id>/", views.comparison_page, name="comparison"),
    path("projects/<int:project_id>/members/", views.members, name="members"),
    path("projects/<int:project_id>/members/invite/", views.member_invite, name="member-invite"),
    path("projects/<int:project_id>/members/<int:user_id>/role/", views.member_role, name="member-role"),
    path("projects/<int:project_id>/members/<int:user_id>/remove/", views.member_remove, name="member-remove"),
    path("projects/<int:project_id>/rename/", views.project_rename, name="project-rename"),
    path("projects/<int:project_id>/delete/", views.project_delete, name="project-delete"),
]
