"""`manage.py purge_orphan_files`: a dry run lists the stored files no row references (never a
young one, which may wait for its commit); --delete removes them, each on its own, and a
storage that fails on one is logged and reported while the others still go."""

import os
import time
from io import StringIO

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.core.management.base import CommandError

pytestmark = pytest.mark.django_db


@pytest.fixture
def orphan(own_media_folder):
    """orphan(name, age_minutes=120) -> a stored file no row references, that old."""

    def make(name: str, age_minutes: int = 120) -> str:
        saved = default_storage.save(name, ContentFile(b"left behind"))
        then = time.time() - age_minutes * 60
        os.utime(default_storage.path(saved), (then, then))
        return saved

    return make


def purge(*arguments) -> str:
    output = StringIO()
    call_command("purge_orphan_files", *arguments, stdout=output)
    return output.getvalue()


def test_a_dry_run_lists_old_orphans_only_and_deletes_nothing(generated, orphan, stored_files):
    kept = generated(num_images=1)
    old, young = orphan("projects/1/sessions/99/0-1.png"), orphan("projects/1/sessions/99/1-2.png", age_minutes=5)
    before = stored_files()

    listed = purge()

    assert old in listed and young not in listed and "1 orphan file(s)" in listed
    assert kept.images.first().file.name not in listed
    assert stored_files() == before


def test_delete_removes_them_and_keeps_what_rows_reference(generated, orphan, stored_files):
    kept = generated(num_images=1)
    old = orphan("inputs/7-init_image.png")

    assert "Deleted 1 orphan file(s)" in purge("--delete")
    assert old not in stored_files() and kept.images.first().file.name in stored_files()


def test_a_failing_delete_is_logged_reported_and_the_rest_still_go(orphan, stored_files, monkeypatch, caplog):
    stuck, other = orphan("a/stuck.png"), orphan("b/other.png")
    real_delete = default_storage.delete

    def flaky(name):
        if name == stuck:
            raise OSError("permission denied")
        real_delete(name)

    monkeypatch.setattr(default_storage, "delete", flaky)

    with pytest.raises(CommandError, match="1 could not be deleted"):
        purge("--delete")

    assert other not in stored_files() and stuck in stored_files()
    assert "permission denied" in caplog.text
