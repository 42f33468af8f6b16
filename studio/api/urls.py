"""The studio API's routes (token, projects, members); mounted under /api/v1/ by deepimage_site/urls.py."""

from django.urls import path

from deepimage_site import converters  # noqa: F401 - registers <id:…>

from . import members, projects, tokens

urlpatterns = [
    path("auth/token/", tokens.TokenApi.as_view(), name="token"),
    path("projects/", projects.ProjectListCreateApi.as_view(), name="project-list"),
    path("projects/<id:project_id>/", projects.ProjectDetailApi.as_view(), name="project-detail"),
    path("projects/<id:project_id>/members/", members.MemberListApi.as_view(), name="member-list"),
    path("projects/<id:project_id>/members/<id:user_id>/", members.MemberDetailApi.as_view(), name="member-detail"),
]
