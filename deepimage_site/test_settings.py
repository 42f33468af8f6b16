"""The test suite's settings: the project's own, plus a fast password hasher (PBKDF2 costs
~0.3 s per user created or signed in, and the suite makes hundreds).

The deployable settings have no switch for that hasher at all; this module refuses to load
outside a pytest run (pytest sets PYTEST_VERSION, which the processes the suite starts
inherit), so no deployment can pick it up, with DEBUG on or off.
"""

import os

from django.core.exceptions import ImproperlyConfigured

from .settings import *  # noqa: F403 - these settings, with the one change below

if "PYTEST_VERSION" not in os.environ:
    raise ImproperlyConfigured("deepimage_site.test_settings is for the test suite only: use deepimage_site.settings.")

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
