"""The studio app: accounts, projects, members and permissions, and the browser pages."""

from django.apps import AppConfig


class StudioConfig(AppConfig):
    name = "studio"
    verbose_name = "Projects and members"

    def ready(self):
        from . import signals  # noqa: F401  (a changed password revokes the API token)
