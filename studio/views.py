from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from generation import results
from generation.api.serializers import ModelEntrySerializer
from generation.selectors import (
    HistoryFilters,
    comparison_in_project,
    comparison_sessions,
    enabled_models,
    generation_models,
    generation_options,
    history_page,
    image_in_project,
    project_authors,
)

from . import services
from .forms import InviteForm, ProjectForm, SignupForm
from .models import Membership
from .permissions import membership_or_404, project_for_owner, project_for_writer
from .selectors import projects_for


def signup(request):
    """Only when the admin turned self-sign-up on; otherwise accounts come from the admin."""
    if not settings.DEEPIMAGE_SELF_SIGNUP:
        raise Http404("Sign-up is closed: ask an administrator for an account.")
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        login(request, form.save(), backend="django.contrib.auth.backends.ModelBackend")
        return redirect("studio:project-list")
    return render(request, "registration/signup.html", {"form": form})


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
    models = list(generation_models())
    adapters = list(enabled_models().filter(kind="adapter"))
    filters = HistoryFilters.from_query(request.GET)
    context = {
        "project": project,
        "membership": membership,
        "models": models,
        "model_defaults": {entry["id"]: entry for entry in ModelEntrySerializer(models, many=True).data},
        "adapters": ModelEntrySerializer(adapters, many=True).data,
        "options": generation_options(),
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
        "lineage": results.image_lineage(image),
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


@login_required
def members(request, project_id):
    membership = membership_or_404(request.user, project_id)
    project = membership.project
    context = {
        "project": project,
        "membership": membership,
        "is_owner": membership.role == "owner",
        "members": project.memberships.select_related("user").order_by("user__username"),
        "invite_form": InviteForm(),
        "rename_form": ProjectForm(initial={"name": project.name}),
        "roles": Membership.Role.choices,
    }
    return render(request, "studio/members.html", context)


def owner_action(view):
    """An owner-only POST that calls one service, then returns to the members page with
    the service's validation message, if any, shown."""

    @login_required
    @require_POST
    def wrapped(request, project_id, **kwargs):
        project = project_for_owner(request.user, project_id)
        try:
            response = view(request, project, **kwargs)
        except ValidationError as error:
            for message in error.messages:
                messages.error(request, message)
            response = None
        return response or redirect("studio:members", project_id=project.id)

    return wrapped


@owner_action
def member_invite(request, project):
    form = InviteForm(request.POST)
    if not form.is_valid():
        raise ValidationError([f"{name}: {' '.join(errors)}" for name, errors in form.errors.items()])
    membership = services.member_invite(project, form.cleaned_data["user"], form.cleaned_data["role"])
    messages.success(request, f"{membership.user.username} joined as {membership.get_role_display().lower()}.")


@owner_action
def member_role(request, project, user_id):
    membership = services.member_change_role(project, user_id, request.POST.get("role", ""))
    messages.success(request, f"{membership.user.username} is now {membership.get_role_display().lower()}.")


@owner_action
def member_remove(request, project, user_id):
    services.member_remove(project, user_id)
    if user_id == request.user.id:
        return redirect("studio:project-list")
    messages.success(request, "Member removed.")


@owner_action
def project_rename(request, project):
    form = ProjectForm(request.POST)
    if not form.is_valid():
        raise ValidationError(form.errors["name"])
    services.project_rename(project, form.cleaned_data["name"])
    messages.success(request, "Project renamed.")


@owner_action
def project_delete(request, project):
    if request.POST.get("confirm_name", "").strip() != project.name:
        raise ValidationError("Type the project's name to confirm its deletion.")
    services.project_delete(project)
    messages.success(request, f"Deleted “{project.name}” and all its images.")
    return redirect("studio:project-list")
