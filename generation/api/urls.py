from django.urls import path
from rest_framework.authtoken.views import obtain_auth_token

from . import views

app_name = "api"

urlpatterns = [
    path("auth/token/", obtain_auth_token, name="token"),
    path("models/", views.ModelListApi.as_view(), name="model-list"),
    path("models/<int:model_id>/preview/", views.ModelPreviewApi.as_view(), name="model-preview"),
    path("options/", views.OptionsApi.as_view(), name="options"),
    path("projects/", views.ProjectListCreateApi.as_view(), name="project-list"),
    path("projects/<int:project_id>/", views.ProjectDetailApi.as_view(), name="project-detail"),
    path("projects/<int:project_id>/members/", views.MemberListApi.as_view(), name="member-list"),
    path("projects/<int:project_id>/members/<int:user_id>/", views.MemberDetailApi.as_view(), name="member-detail"),
    path("projects/<int:project_id>/generations/", views.GenerationListCreateApi.as_view(), name="generation-list"),
    path("projects/<int:project_id>/comparisons/", views.ComparisonCreateApi.as_view(), name="comparison-create"),
    path("comparisons/<int:comparison_id>/", views.ComparisonDetailApi.as_view(), name="comparison-detail"),
    path("generations/<int:session_id>/", views.GenerationDetailApi.as_view(), name="generation-detail"),
    path("generations/<int:session_id>/cancel/", views.GenerationCancelApi.as_view(), name="generation-cancel"),
    path("generations/<int:session_id>/save/", views.GenerationSaveAllApi.as_view(), name="generation-save-all"),
    path("generations/<int:session_id>/archive/", views.GenerationArchiveApi.as_view(), name="generation-archive"),
    path("images/<int:image_id>/", views.ImageDetailApi.as_view(), name="image-detail"),
    path("images/<int:image_id>/lineage/", views.ImageLineageApi.as_view(), name="image-lineage"),
    path("images/<int:image_id>/file/", views.ImageFileApi.as_view(), name="image-file"),
]
