"""Settings come from the environment and refuse values they cannot honour."""

import os
import subprocess
import sys

import pytest

READ_SETTINGS = "import django; django.setup(); from django.conf import settings; print(settings.DEEPIMAGE_DTYPE)"


def settings_with(**variables) -> subprocess.CompletedProcess:
    env = dict(os.environ, DJANGO_SETTINGS_MODULE="deepimage_site.settings", **variables)
    return subprocess.run([sys.executable, "-c", READ_SETTINGS], env=env, capture_output=True, text=True)


@pytest.mark.parametrize("value", ["fp16", "bf16", "fp32"])
def test_a_known_dtype_is_taken(value):
    started = settings_with(DEEPIMAGE_DTYPE=value)

    assert started.returncode == 0 and started.stdout.strip() == value


def test_an_unknown_dtype_stops_the_start_with_a_clear_message():
    started = settings_with(DEEPIMAGE_DTYPE="fp8")

    assert started.returncode != 0
    assert "DEEPIMAGE_DTYPE must be one of fp16, bf16, fp32, got 'fp8'" in started.stderr


def test_an_unknown_log_level_stops_the_start():
    started = settings_with(LOG_LEVEL="LOUD")

    assert started.returncode != 0 and "LOG_LEVEL must be one of" in started.stderr
