"""Test settings: the project's settings with only speed and isolation knobs changed."""
import os
import tempfile
from pathlib import Path

os.environ.setdefault("SECRET_KEY", "test-only-not-secret")

from mediation.settings import *  # noqa: E402,F401,F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
MEDIA_ROOT = Path(tempfile.mkdtemp(prefix="mediation-test-media-"))
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
# Tests do not run collectstatic: plain static storage instead of the hashed manifest.
STORAGES = {**STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}  # noqa: F405
STATIC_ROOT = Path(tempfile.mkdtemp(prefix="mediation-test-static-"))
