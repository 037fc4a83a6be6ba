"""Test settings: the project's settings with only speed and isolation knobs changed."""
import os
import tempfile
from pathlib import Path

os.environ.setdefault("SECRET_KEY", "test-only-not-secret")

# Everything the project sets, then the test-only overrides below: the settings idiom.
from mediation.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
MEDIA_ROOT = Path(tempfile.mkdtemp(prefix="mediation-test-media-"))
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
# Tests do not run collectstatic: plain static storage instead of the hashed manifest.
STORAGES = {**STORAGES,  # noqa: F405 -- from the star import above
            "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
STATIC_ROOT = Path(tempfile.mkdtemp(prefix="mediation-test-static-"))
# The second factor is compulsory in production; tests that are not about it sign in without
# one (tests/accounts/ turn it on).
OTP_REQUIRED = False
# The test client speaks plain HTTP.
SECURE_SSL_REDIRECT = False
# A second alias on the same test database, as a streaming read replica would be. Only the tests
# that install mediation.db_router.ReplicaRouter (tests/operations/test_read_replica.py) read there.
DATABASES = {**DATABASES, "replica": {**DATABASES["default"], "TEST": {"MIRROR": "default"}}}  # noqa: F405
