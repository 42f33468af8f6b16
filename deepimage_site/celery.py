"""The Celery application of the workers; it reads the CELERY_* settings and finds the apps' tasks."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "deepimage_site.settings")

app = Celery("deepimage_site")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
