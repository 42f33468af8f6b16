from django.urls import path

from . import views

app_name = "studio"

urlpatterns = [
    path("", views.project_list, name="project-list"),
    path("projects/<int:project_id>/", views.workspace, name="workspace"),
]
