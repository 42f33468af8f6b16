"""`manage.py ensure_admin`: the first admin account, created once on first start."""

import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from studio.services import project_create


class Command(BaseCommand):
    help = (
        "On first run, create the admin account (from DJANGO_SUPERUSER_USERNAME / DJANGO_SUPERUSER_PASSWORD, "
        "or with a generated password printed once) and a first project."
    )

    def handle(self, *args, **options):
        users = get_user_model()
        if users.objects.filter(is_superuser=True).exists():
            return
        username = settings.FIRST_ADMIN_USERNAME
        password = settings.FIRST_ADMIN_PASSWORD
        generated = not password
        password = password or secrets.token_urlsafe(12)
        admin = users.objects.create_superuser(username=username, email="", password=password)
        project_create(name="My first project", owner=admin)
        self.stdout.write(self.style.SUCCESS(f"Created admin account {username!r}."))
        if generated:
            self.stdout.write(self.style.WARNING(f"Its password, shown only this once: {password}"))
