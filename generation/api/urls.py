"""The generation API's routes; deepimage_site/urls.py mounts them with studio's under /api/v1/."""

from django.urls import path

from deepimage_site import converters  # noqa: F401 - registers <id:…>

from . import catalog, comparisons, generations, images, queue

project = "projects/<id:project_id>"
session = "generations/<id:session_id>"

urlpatterns = [
    path("models/", catalog.ModelListApi.as_view(), name="model-list"),
    path("models/<id:model_id>/preview/", catalog.ModelPreviewApi.as_view(), name="model-preview"),
    path("options/", catalog.OptionsApi.as_view(), name="options"),
    path("queue/", queue.QueueApi.as_view(), name="queue"),
    path(
        "projects/<id:project_id>/generations/", generations.GenerationListCreateApi.as_view(), name="generation-list"
    ),
    path(f"{project}/comparisons/", comparisons.ComparisonCreateApi.as_view(), name="comparison-create"),
    path("comparisons/<id:comparison_id>/", comparisons.ComparisonDetailApi.as_view(), name="comparison-detail"),
    path(f"{session}/", generations.GenerationDetailApi.as_view(), name="generation-detail"),
    path(f"{session}/cancel/", generations.GenerationCancelApi.as_view(), name="generation-cancel"),
    path(f"{session}/save/", generations.GenerationSaveAllApi.as_view(), name="generation-save-all"),
    path("generations/<id:session_id>/archive/", generations.GenerationArchiveApi.as_view(), name="generation-archive"),
    path("images/<id:image_id>/", images.ImageDetailApi.as_view(), name="image-detail"),
    path("images/<id:image_id>/lineage/", images.ImageLineageApi.as_view(), name="image-lineage"),
    path("images/<id:image_id>/file/", images.ImageFileApi.as_view(), name="image-file"),
]
