from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render

from generation.api.serializers import ModelEntrySerializer
from generation.selectors import enabled_models, generation_models, generation_options, project_history

from .forms import ProjectForm
from .permissions import membership_or_404
from .selectors import projects_for
from .services import project_create

HISTORY_ON_PAGE = 30


@login_required
def project_list(request):
    form = ProjectForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        project = project_create(name=form.cleaned_data["name"], owner=request.user)
        return redirect("studio:workspace", project_id=project.id)
    return render(request, "studio/project_list.html", {"projects": projects_for(request.user), "form": form})


@login_required
def workspace(request, project_id):
    membership = membership_or_404(request.user, project_id)
    models = list(generation_models())
    adapters = list(enabled_models().filter(kind="adapter"))
    context = {
        "project": membership.project,
        "membership": membership,
        "models": models,
        "model_defaults": {entry["id"]: entry for entry in ModelEntrySerializer(models, many=True).data},
        "adapters": ModelEntrySerializer(adapters, many=True).data,
        "options": generation_options(),
        "history": project_history(membership.project)[:HISTORY_ON_PAGE],
    }
    return render(request, "studio/workspace.html", context)
