"""The project's webhooks page, for its owners: register an endpoint (its secret is shown once,
on the page that answers the form), change its events and active flag, delete it, send a test
event, and see its recent deliveries; each through one service of studio/webhooks.py."""

from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from . import webhooks
from .forms import WebhookForm, WebhookSettingsForm
from .permissions import project_for_owner

RECENT = 10  # deliveries shown per endpoint; the API lists them all


@login_required
def webhook_list(request, project_id):
    project = project_for_owner(request.user, project_id)
    form = WebhookForm(request.POST or None)
    new_endpoint = None
    if request.method == "POST" and form.is_valid():
        try:
            new_endpoint = webhooks.webhook_create(project=project, user=request.user, **form.cleaned_data)
        except ValidationError as error:
            for field, problems in error.message_dict.items():
                form.add_error(field if field in form.fields else None, problems)
        else:
            form = WebhookForm()
    endpoints = [
        (endpoint, list(webhooks.recent_deliveries(endpoint)[:RECENT])) for endpoint in webhooks.webhooks_of(project)
    ]
    context = {
        "project": project,
        "endpoints": endpoints,
        "events": WebhookForm.base_fields["events"].choices,
        "form": form,
        "new_endpoint": new_endpoint,
    }
    return render(request, "studio/webhooks.html", context, status=400 if form.errors else 200)


def owner_webhook_action(view):
    """An owner-only POST on one endpoint that calls one service, then returns to the
    webhooks page with the service's validation message, if any, shown."""

    @wraps(view)
    @login_required
    @require_POST
    def wrapped(request, project_id, webhook_id):
        endpoint = webhooks.webhook_of(project_for_owner(request.user, project_id), webhook_id)
        try:
            view(request, endpoint)
        except ValidationError as error:
            for message in error.messages:
                messages.error(request, message)
        return redirect("studio:webhooks", project_id=project_id)

    return wrapped


@owner_webhook_action
def webhook_settings(request, endpoint):
    form = WebhookSettingsForm(request.POST)
    if not form.is_valid():
        raise ValidationError([f"{name}: {' '.join(errors)}" for name, errors in form.errors.items()])
    webhooks.webhook_update(endpoint, **form.cleaned_data)
    messages.success(request, f"Saved the webhook to {endpoint.url}.")


@owner_webhook_action
def webhook_delete(request, endpoint):
    webhooks.webhook_delete(endpoint)
    messages.success(request, f"Deleted the webhook to {endpoint.url}.")


@owner_webhook_action
def webhook_test(request, endpoint):
    webhooks.webhook_send_test(endpoint)
    messages.success(request, f"A test event is on its way to {endpoint.url}; reload to see how it went.")
