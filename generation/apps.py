"""The generation app: catalog, submission, execution, results and their API and websockets."""

from django.apps import AppConfig


class GenerationConfig(AppConfig):
    name = "generation"
    verbose_name = "Generation"

    def ready(self):
        from . import signals  # noqa: F401  (worker lifecycle hooks, file cleanup)
