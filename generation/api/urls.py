from django.urls import path
from rest_framework.authtoken.views import obtain_auth_token

from . import views

app_name = "api"

urlpatterns = [
    path("auth/token/", obtain_auth_token, name="token"),
    path("models/", views.ModelListApi.as_view(), name="model-list"),
    path("options/", views.OptionsApi.as_view(), name="options"),
    path("projects/", views.ProjectListCreateApi.as_view(), name="project-list"),
    path("projects/<int:project_id>/generations/", views.GenerationListCreateApi.as_view(), name="generation-list"),
    path("generations/<int:session_id>/", views.GenerationDetailApi.as_view(), name="generation-detail"),
    path("generations/<int:session_id>/cancel/", views.GenerationCancelApi.as_view(), name="generation-cancel"),
    path("images/<int:image_id>/file/", views.ImageFileApi.as_view(), name="image-file"),
]
