"""The studio app: accounts, projects, members and permissions, and the browser pages."""

from django.apps import AppConfig


class StudioConfig(AppConfig):
    name = "studio"
    verbose_name = "Projects and members"
