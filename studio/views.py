"""The browser studio's pages: your projects, a project's workspace, an image with its
lineage, and a comparison. They read through generation's selectors and write through its
services; the workspace's script talks to the REST API."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import BadRequest, ValidationError
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from generation import results
from generation.lineage import image_lineage
from generation.options import generation_options
from generation.selectors import (
    HistoryFilters,
    comparison_in_project,
    comparison_sessions,
    generation_models,
    history_page,
    image_in_project,
    project_authors,
)

from . import services
from .forms import ProjectForm
from .permissions import membership_or_404, project_for_writer
from .selectors import projects_for


@login_required
def project_list(request):
    form = ProjectForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        project = services.project_create(name=form.cleaned_data["name"], owner=request.user)
        return redirect("studio:workspace", project_id=project.id)
    return render(request, "studio/project_list.html", {"projects": projects_for(request.user), "form": form})


@login_required
def workspace(request, project_id):
    membership = membership_or_404(request.user, project_id)
    project = membership.project
    try:
        filters = HistoryFilters.from_query(request.GET)
    except ValidationError as error:
        problems = "; ".join(f"{field}: {' '.join(messages)}" for field, messages in error.message_dict.items())
        raise BadRequest(f"The history filter is not valid ({problems}).") from None
    options = generation_options()
    images_per_run = options["limits"]["num_images"]
    context = {
        "project": project,
        "membership": membership,
        "models": list(generation_models(project)),
        "options": options,
        "image_counts": range(images_per_run["min"], images_per_run["max"] + 1),
        "filters": filters,
        "history": history_page(project, filters, request.GET.get("page")),
        "authors": project_authors(project),
    }
    return render(request, "studio/workspace.html", context)


@login_required
def image_page(request, project_id, image_id):
    """One result: large, with its parameters, actions and lineage."""
    membership = membership_or_404(request.user, project_id)
    image = image_in_project(membership.project, image_id)
    context = {
        "project": membership.project,
        "membership": membership,
        "image": image,
        "session": image.session,
        "parameters": image.session.parameters() | {"seed": image.seed},
        "lineage": image_lineage(image),
    }
    return render(request, "studio/image.html", context)


@login_required
@require_POST
def image_delete(request, project_id, image_id):
    project = project_for_writer(request.user, project_id)
    results.image_delete(image_in_project(project, image_id))
    messages.success(request, "Image deleted. Images made from it now show a deleted parent.")
    return redirect("studio:workspace", project_id=project.id)


@login_required
def comparison_page(request, project_id, comparison_id):
    """The columns of one comparison, side by side, with a slider overlay for two."""
    membership = membership_or_404(request.user, project_id)
    comparison = comparison_in_project(membership.project, comparison_id)
    columns = list(comparison_sessions(comparison))
    context = {"project": membership.project, "membership": membership, "comparison": comparison, "columns": columns}
    return render(request, "studio/comparison.html", context)
