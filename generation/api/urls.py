"""The generation API's routes; deepimage_site/urls.py mounts them with studio's under /api/v1/."""

from django.urls import path

from . import catalog, comparisons, generations, images, queue

project = "projects/<int:project_id>"
session = "generations/<int:session_id>"

urlpatterns = [
    path("models/", catalog.ModelListApi.as_view(), name="model-list"),
    path("models/<int:model_id>/preview/", catalog.ModelPreviewApi.as_view(), name="model-preview"),
    path("options/", catalog.OptionsApi.as_view(), name="options"),
    path("queue/", queue.QueueApi.as_view(), name="queue"),
    path(
        "projects/<int:project_id>/generations/", generations.GenerationListCreateApi.as_view(), name="generation-list"
    ),
    path(f"{project}/comparisons/", comparisons.ComparisonCreateApi.as_view(), name="comparison-create"),
    path("comparisons/<int:comparison_id>/", comparisons.ComparisonDetailApi.as_view(), name="comparison-detail"),
    path(f"{session}/", generations.GenerationDetailApi.as_view(), name="generation-detail"),
    path(f"{session}/cancel/", generations.GenerationCancelApi.as_view(), name="generation-cancel"),
    path(f"{session}/save/", generations.GenerationSaveAllApi.as_view(), name="generation-save-all"),
    path(
        "generations/<int:session_id>/archive/", generations.GenerationArchiveApi.as_view(), name="generation-archive"
    ),
    path("images/<int:image_id>/", images.ImageDetailApi.as_view(), name="image-detail"),
    path("images/<int:image_id>/lineage/", images.ImageLineageApi.as_view(), name="image-lineage"),
    path("images/<int:image_id>/file/", images.ImageFileApi.as_view(), name="image-file"),
]
