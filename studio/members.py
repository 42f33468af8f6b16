"""The members page: everyone sees who is in the project; owners invite, change roles,
remove members, rename and delete the project, each through one service."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from . import services
from .forms import InviteForm, ProjectForm
from .models import Membership
from .permissions import membership_or_404, project_for_owner
from .selectors import members_of


@login_required
def members(request, project_id):
    membership = membership_or_404(request.user, project_id)
    project = membership.project
    context = {
        "project": project,
        "membership": membership,
        "is_owner": membership.role == "owner",
        "members": members_of(project),
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
