"""The project's API keys page: create a key (shown once, on the page that answers the form),
see the keys (owners all of them, others their own) and revoke them; each through one service."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from . import api_keys
from .forms import ApiKeyForm
from .permissions import membership_or_404


@login_required
def api_key_list(request, project_id):
    membership = membership_or_404(request.user, project_id)
    form = ApiKeyForm(request.POST or None)
    new_key = None
    if request.method == "POST" and form.is_valid():
        try:
            new_key = api_keys.api_key_create(project=membership.project, user=request.user, **form.cleaned_data)
        except ValidationError as error:
            for field, problems in error.message_dict.items():
                form.add_error(field if field in form.fields else None, problems)
        except PermissionDenied as error:
            form.add_error(None, str(error))
        else:
            form = ApiKeyForm()
    context = {
        "project": membership.project,
        "membership": membership,
        "keys": api_keys.api_keys_visible_to(membership.project, membership),
        "form": form,
        "new_key": new_key,
    }
    return render(request, "studio/api_keys.html", context, status=400 if form.errors else 200)


@login_required
@require_POST
def api_key_revoke(request, project_id, key_id):
    membership = membership_or_404(request.user, project_id)
    key = api_keys.api_key_revoke(membership.project, membership, key_id)
    messages.success(request, f"Revoked the key “{key.name}” ({key.prefix}…): it no longer works.")
    return redirect("studio:api-keys", project_id=membership.project.id)
