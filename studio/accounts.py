"""Accounts: self-sign-up, when the admin opens it (logging in and passwords are Django's own views)."""

from django.conf import settings
from django.contrib.auth import login
from django.http import Http404
from django.shortcuts import redirect, render

from .forms import SignupForm


def signup(request):
    """Only when the admin turned self-sign-up on; otherwise accounts come from the admin."""
    if not settings.DEEPIMAGE_SELF_SIGNUP:
        raise Http404("Sign-up is closed: ask an administrator for an account.")
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        login(request, form.save(), backend="django.contrib.auth.backends.ModelBackend")
        return redirect("studio:project-list")
    return render(request, "registration/signup.html", {"form": form})
