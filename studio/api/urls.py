"""The studio API's routes (token, projects, members); mounted under /api/v1/ by deepimage_site/urls.py."""

from django.urls import path
from rest_framework.authtoken.views import obtain_auth_token

from deepimage_site import converters  # noqa: F401 - registers <id:…>

from . import members, projects

urlpatterns = [
    # DRF's own view: POST username and password, get the user's token.
    path("auth/token/", obtain_auth_token, name="token"),
    path("projects/", projects.ProjectListCreateApi.as_view(), name="project-list"),
    path("projects/<id:project_id>/", projects.ProjectDetailApi.as_view(), name="project-detail"),
    path("projects/<id:project_id>/members/", members.MemberListApi.as_view(), name="member-list"),
    path("projects/<id:project_id>/members/<id:user_id>/", members.MemberDetailApi.as_view(), name="member-detail"),
]
