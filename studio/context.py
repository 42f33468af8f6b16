"""Template context shared by every page."""

from django.conf import settings


def site_flags(request) -> dict:
    return {"self_signup": settings.DEEPIMAGE_SELF_SIGNUP}
