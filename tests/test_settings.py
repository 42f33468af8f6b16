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


def deploy_check(**variables) -> subprocess.CompletedProcess:
    env = dict(os.environ, DJANGO_SETTINGS_MODULE="deepimage_site.settings", **variables)
    env.pop("DEBUG", None)
    command = [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"]
    return subprocess.run(command, env=env, capture_output=True, text=True)


def test_the_readme_s_production_settings_pass_django_s_deploy_check(tmp_path):
    production = {
        "DEEPIMAGE_DATA_DIR": str(tmp_path),
        "SECRET_KEY": "k" * 10 + "0123456789-abcdefghijklmnopqrstuvwxyz_ABCDEFGHIJ",
        "DEEPIMAGE_BEHIND_TLS": "true",
        "DEEPIMAGE_HSTS_PRELOAD": "true",
        "ALLOWED_HOSTS": "deepimage.example.com",
    }

    passed = deploy_check(**production)
    plain_http = deploy_check(**(production | {"DEEPIMAGE_BEHIND_TLS": "false"}))

    assert passed.returncode == 0, passed.stderr
    assert plain_http.returncode != 0 and "SECURE_SSL_REDIRECT" in plain_http.stderr


READ_HASHERS = "import django; django.setup(); from django.conf import settings; print(settings.PASSWORD_HASHERS[0])"


def test_deployments_hash_passwords_with_pbkdf2_and_have_no_switch_for_a_fast_hasher():
    env = dict(os.environ, DJANGO_SETTINGS_MODULE="deepimage_site.settings", DEBUG="false")
    env["DEEPIMAGE_FAST_INSECURE_PASSWORD_HASHING"] = "true"  # the switch of old: it does nothing now

    started = subprocess.run([sys.executable, "-c", READ_HASHERS], env=env, capture_output=True, text=True)

    assert started.stdout.strip() == "django.contrib.auth.hashers.PBKDF2PasswordHasher"


def test_the_fast_test_hasher_loads_only_inside_a_pytest_run():
    env = dict(os.environ, DJANGO_SETTINGS_MODULE="deepimage_site.test_settings")
    outside = {name: value for name, value in env.items() if name != "PYTEST_VERSION"}

    inside = subprocess.run([sys.executable, "-c", READ_HASHERS], env=env, capture_output=True, text=True)
    refused = subprocess.run([sys.executable, "-c", READ_HASHERS], env=outside, capture_output=True, text=True)

    assert inside.stdout.strip() == "django.contrib.auth.hashers.MD5PasswordHasher"
    assert refused.returncode != 0 and "for the test suite only" in refused.stderr
