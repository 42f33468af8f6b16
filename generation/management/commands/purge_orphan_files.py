"""List (by default) or delete (--delete) stored files that no row references."""

from datetime import timedelta

from django.core.files.storage import default_storage
from django.core.management.base import BaseCommand, CommandError

from generation.orphans import orphan_files, purge_orphan_files


class Command(BaseCommand):
    help = "Find stored files that no image, input or preview references; --delete removes them."

    def add_arguments(self, parser):
        parser.add_argument("--delete", action="store_true", help="delete them (without it: a dry run)")
        parser.add_argument(
            "--min-age-minutes", type=int, default=60, help="ignore files younger than this (default 60)"
        )

    def handle(self, *args, delete: bool, min_age_minutes: int, **options):
        orphans = orphan_files(default_storage, timedelta(minutes=min_age_minutes))
        for name in orphans:
            self.stdout.write(name)
        if not delete:
            self.stdout.write(f"{len(orphans)} orphan file(s); run again with --delete to remove them.")
            return
        deleted, failed = purge_orphan_files(orphans, default_storage)
        self.stdout.write(f"Deleted {deleted} orphan file(s).")
        if failed:
            raise CommandError(f"{len(failed)} could not be deleted (see the log): {', '.join(failed)}")
