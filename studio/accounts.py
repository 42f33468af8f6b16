"""Accounts: self-sign-up, when the admin opens it (logging in and passwords are Django's own views)."""

import logging

from django.conf import settings
from django.contrib.auth import login
from django.core.cache import cache
from django.http import Http404
from django.shortcuts import redirect, render

from .forms import SignupForm

logger = logging.getLogger(__name__)
HOUR = 3600


def signup_attempts(address: str) -> int:
    """Count one more sign-up from `address` this hour; the count so far. A cache that is down
    counts nothing (sign-up stays open) and says so in the log."""
    key = f"signup:{address}"
    try:
        cache.add(key, 0, timeout=HOUR)
        return cache.incr(key)
    except Exception:  # noqa: BLE001 - the cache's own connection errors
        logger.warning("The sign-up throttle could not reach the cache", exc_info=True)
        return 0


def signup(request):
    """Only when the admin turned self-sign-up on; otherwise accounts come from the admin.
    Each address may try DEEPIMAGE_SIGNUPS_PER_HOUR sign-ups an hour; then 429."""
    if not settings.DEEPIMAGE_SELF_SIGNUP:
        raise Http404("Sign-up is closed: ask an administrator for an account.")
    if (
        request.method == "POST"
        and signup_attempts(request.META.get("REMOTE_ADDR", "")) > settings.DEEPIMAGE_SIGNUPS_PER_HOUR
    ):
        response = render(request, "registration/signup.html", {"form": SignupForm(), "throttled": True}, status=429)
        response["Retry-After"] = str(HOUR)
        return response
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        login(request, form.save(), backend="django.contrib.auth.backends.ModelBackend")
        return redirect("studio:project-list")
    return render(request, "registration/signup.html", {"form": form})
