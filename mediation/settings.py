"""Settings for the labour-dispute mediation system.

Every knob is read from the environment so that one file serves a laptop (SQLite
in ``var/``), CI (PostgreSQL on localhost) and production. Nothing else in the
project reads the environment.
"""
from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("MEDIATION_VAR_DIR", BASE_DIR / "var"))


def _env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _env_list(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name)
    if not value:
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


DEBUG = _env_bool("DEBUG", False)


def _secret_key() -> str:
    key = os.environ.get("SECRET_KEY")
    if key:
        return key
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY must be set when DEBUG is off (set DEBUG=1 for a local run)."
        )
    # Local runs: generate once and keep it in var/ so sessions survive restarts.
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    key_file = VAR_DIR / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_urlsafe(50))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


SECRET_KEY = _secret_key()
ALLOWED_HOSTS = _env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = _env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "guardian",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "accounts",
    "mediation",
    "workflows",
    "mediation.documents",
    "mediation.reports",
    "mediation.audit",
    "mediation.demo",  # only the seed_demo marker: --reset refuses databases it did not create
]

MIDDLEWARE = [
    # First: a request whose declared body is too large is answered 413 before anything reads it.
    "mediation.http_security.RequestSizeLimitMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    # Static files from the application itself: union intranets often have no separate web server.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "accounts.gate.IdleSessionMiddleware",
    "mediation.middleware.ChosenLanguageMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Pages for a signed-in user carry personal data: never stored by browsers or proxies.
    "mediation.http_security.NoStoreForUsersMiddleware",
    "accounts.otp.OTPMiddleware",  # django-otp's, its device read planned once
    "mediation.audit.middleware.AuditRequestMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "accounts.gate.AccountGateMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes asks: turns a locked-out login into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "mediation.urls"
WSGI_APPLICATION = "mediation.wsgi.application"
ASGI_APPLICATION = "mediation.asgi.application"

# Forms' widgets written in Python, to the byte what Django's templates write (mediation/widgets.py).
FORM_RENDERER = "mediation.widgets.PlainFormRenderer"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "mediation.context_processors.workspace",
            ],
            # Django's ``date`` filter, with the formats of digits alone written straight (the module says).
            "builtins": ["mediation.templatetags.dates"],
        },
    },
]

# Each process keeps its database connection between requests (checked before reuse): opening one
# per request cost PostgreSQL about as much CPU as the request itself (docs/performance.md, load test).
DB_CONN_MAX_AGE = int(os.environ.get("DB_CONN_MAX_AGE", "60"))
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{VAR_DIR / 'mediation.sqlite3'}"),
        conn_max_age=DB_CONN_MAX_AGE, conn_health_checks=DB_CONN_MAX_AGE > 0,
    )
}
# The statements written once per process (mediation/prepared.py) are also planned once per connection
# on PostgreSQL (PREPARE): planning them was about half of what the database spent on a home page.
# How many each connection keeps (about a third of a megabyte of the backend's memory each); 0 turns it
# off, as behind a connection pooler in transaction mode, which cannot keep a session's statements.
DB_PREPARED_STATEMENTS = max(int(os.environ.get("DB_PREPARED_STATEMENTS", "128")), 0)
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Writers wait for each other instead of failing at once with "database is locked".
    # IMMEDIATE takes the write lock when a transaction starts, so two writers queue
    # instead of one failing half-way with "database is locked".
    DATABASES["default"].setdefault("OPTIONS", {}).update({"timeout": 20, "transaction_mode": "IMMEDIATE"})

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTHENTICATION_BACKENDS = [
    # First: refuses a locked-out username or address before the password is checked
    # (axes.backends.AxesStandaloneBackend, skipped by authenticate() calls without a request).
    "accounts.backends.LockoutBackend",
    "django.contrib.auth.backends.ModelBackend",
    "guardian.backends.ObjectPermissionBackend",
]
GUARDIAN_RAISE_403 = False
ANONYMOUS_USER_NAME = None  # no anonymous user row: nobody unauthenticated sees anything

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "accounts.validators.MinimumLengthValidator",  # Django's, with its message in Chinese
     "OPTIONS": {"min_length": int(os.environ.get("PASSWORD_MIN_LENGTH", "12"))}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# --- Accounts (docs/security.md, 账户与登录) -------------------------------------
# Lockout (django-axes): this many failures for one username, or from one address, lock
# that username or address for LOGIN_LOCKOUT_MINUTES; every failure meanwhile starts the
# wait again. An administrator unlocks in the admin (访问尝试) or with
# `manage.py axes_reset_username <name>` / `axes_reset_ip <address>`.
AXES_FAILURE_LIMIT = int(os.environ.get("LOGIN_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = timedelta(minutes=int(os.environ.get("LOGIN_LOCKOUT_MINUTES", "30")))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "accounts.views.lockout"
# Behind reverse proxies: how many of them write X-Forwarded-For entries to trust (0: REMOTE_ADDR
# only). The one reading of the client's address (mediation.http_security.client_address) serves
# the lockout, the audit trail and the public pages' throttles.
PROXY_COUNT = max(0, int(os.environ.get("LOGIN_PROXY_COUNT", "0") or 0))
AXES_CLIENT_IP_CALLABLE = "mediation.http_security.client_ip"
# Login events go on the audit trail; axes keeps only the failure counters it needs.
AXES_DISABLE_ACCESS_LOG = True
# No start-up banner on every management command.
AXES_VERBOSE = False
# Django's database sessions, each request's read of its row planned once (accounts/sessions.py).
SESSION_ENGINE = "accounts.sessions"
# Sessions end after SESSION_IDLE_MINUTES without a request (accounts.gate.IdleSessionMiddleware
# renews the expiry while the user works) and when the browser closes.
SESSION_COOKIE_AGE = int(os.environ.get("SESSION_IDLE_MINUTES", "30")) * 60
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
# Second factor (django-otp): required of those mediation.permissions.needs_second_factor names
# (supervisors, administrators, auditors, staff), optional for mediators. On unless DEBUG, so
# that `make demo` (DEBUG=1) keeps its plain demo logins; OTP_REQUIRED=1 turns it on there too.
OTP_REQUIRED = _env_bool("OTP_REQUIRED", not DEBUG)
OTP_TOTP_ISSUER = os.environ.get("OTP_TOTP_ISSUER", "劳动争议调解")

LANGUAGE_CODE = "zh-hans"
# Each language is named in itself, as a language switcher should show it.
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", VAR_DIR / "static"))
STATICFILES_DIRS = [BASE_DIR / "mediation" / "static"] if (BASE_DIR / "mediation" / "static").exists() else []
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
                    if not DEBUG else "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
MEDIA_URL = "media/"
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", VAR_DIR / "media"))

EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")

SESSION_COOKIE_SECURE = _env_bool("SECURE_COOKIES", not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SESSION_COOKIE_HTTPONLY = True

# --- Domain knobs (DOMAIN.md) -------------------------------------------------
# Case number format. Fields: prefix (the registering organisation's), year, seq.
CASE_NUMBER_FORMAT = os.environ.get("CASE_NUMBER_FORMAT", "{prefix}〔{year}〕{seq:04d}号")
# A dispute with this many workers or more is collective (DOMAIN.md §8).
COLLECTIVE_DISPUTE_MIN_WORKERS = int(os.environ.get("COLLECTIVE_DISPUTE_MIN_WORKERS", "10"))
# Cases whose next deadline is this many days away or fewer are "due soon".
DUE_SOON_DAYS = int(os.environ.get("DUE_SOON_DAYS", "3"))
# Office rule, not law (docs/clocks.md "Follow-up visit"): a performed case is visited
# within this many calendar days of the performance being confirmed.
FOLLOW_UP_DAYS = int(os.environ.get("FOLLOW_UP_DAYS", "30"))
# Largest evidence file accepted (bytes).
ATTACHMENT_MAX_BYTES = int(os.environ.get("ATTACHMENT_MAX_BYTES", str(20 * 1024 * 1024)))
DATA_UPLOAD_MAX_NUMBER_FIELDS = 5000
# Documents: the address printed in verification QR codes (default: the issuing request's
# own address), workers for case-file exports (default: every core), and the export cap.
DOCUMENTS_PUBLIC_URL = os.environ.get("DOCUMENTS_PUBLIC_URL", "")
DOCUMENTS_EXPORT_WORKERS = int(os.environ.get("DOCUMENTS_EXPORT_WORKERS", "0")) or None
# A collective dispute may list hundreds of workers.
DOCUMENTS_EXPORT_MAX_CASES = int(os.environ.get("DOCUMENTS_EXPORT_MAX_CASES", "500"))

# --- HTTP security (docs/security.md, HTTP 安全 / HTTP) ----------------------------
# HTTPS only, unless DEBUG: plain-HTTP requests are redirected and browsers told (HSTS) to
# use HTTPS for a year. Behind a reverse proxy that terminates TLS, SECURE_PROXY_SSL_HEADER=1
# trusts its X-Forwarded-Proto header (the proxy must set it and drop any the client sent).
SECURE_SSL_REDIRECT = _env_bool("SECURE_SSL_REDIRECT", not DEBUG)
SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "0" if DEBUG else str(365 * 24 * 3600)))
SECURE_HSTS_INCLUDE_SUBDOMAINS = _env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", not DEBUG)
SECURE_HSTS_PRELOAD = _env_bool("SECURE_HSTS_PRELOAD", False)
if _env_bool("SECURE_PROXY_SSL_HEADER", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# A form refused for a missing or stale CSRF token gets the product's 403 page.
CSRF_FAILURE_VIEW = "mediation.http_security.csrf_failure"
# An intranet host is not on the browsers' HSTS preload list and is never submitted to it:
# the preload flag is a choice (SECURE_HSTS_PRELOAD=1), not a missing setting.
SILENCED_SYSTEM_CHECKS = [] if SECURE_HSTS_PRELOAD else ["security.W021"]
# Content-Security-Policy (django-csp): no inline script or style anywhere; the pages load
# only app.css and app.js from the application's own address.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}
# Request size: a request declaring a body larger than REQUEST_MAX_BYTES is refused (413)
# before it is read, for everyone. The largest legitimate bodies are an evidence file
# (ATTACHMENT_MAX_BYTES) and a ledger import (20 MB), plus the form around them.
REQUEST_MAX_BYTES = int(os.environ.get("REQUEST_MAX_BYTES", str(max(ATTACHMENT_MAX_BYTES, 20 * 1024 * 1024)
                                                                 + 5 * 1024 * 1024)))
# Form fields other than files (a collective dispute's party formset is the largest).
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
# Uploaded files above this size go to a temporary file instead of memory.
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    # SQL parameters carry ID numbers and phones: never log them, even in DEBUG.
    "loggers": {"django.db.backends": {"handlers": [], "level": "WARNING", "propagate": False}},
}

# --- Background work: Celery and jobs (docs/operations.md) ---------------------------
# CELERY_BROKER_URL: redis://127.0.0.1:6379/0 or amqp://guest:guest@127.0.0.1:5672// (RabbitMQ).
# Empty (the `make demo` default): every task runs in-process at once, so nothing else is needed.
from celery.schedules import crontab  # noqa: E402 -- the schedule below is part of this block

CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "") or "memory://"
CELERY_TASK_ALWAYS_EAGER = not os.environ.get("CELERY_BROKER_URL")
CELERY_TASK_EAGER_PROPAGATES = True
# JSON only: a message never carries a pickled object (and tasks take ids, never personal data).
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
# Task state lives in the database (jobs.Job, the notifications' own records): no result backend.
CELERY_TASK_IGNORE_RESULT = True
# Tasks are idempotent: acknowledged after they finish, and put back when a worker dies mid-task.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = int(os.environ.get("CELERY_TASK_TIME_LIMIT", "1800"))
CELERY_TASK_SOFT_TIME_LIMIT = max(CELERY_TASK_TIME_LIMIT - 60, 1)
# Redis redelivers an unacknowledged task after this long: longer than any task may run.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": CELERY_TASK_TIME_LIMIT + 600}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_WORKER_HIJACK_ROOT_LOGGER = False  # the LOGGING above applies to workers too
CELERY_TIMEZONE = TIME_ZONE
# The schedule is reviewed with the code and the same on every deployment; the times come from
# the environment (docs/operations.md says why this is not django-celery-beat).
_DIGEST_HOUR, _DIGEST_MINUTE = os.environ.get("DAILY_DIGEST_AT", "08:30").split(":")
CELERY_BEAT_SCHEDULE = {
    "refresh-statistics": {
        "task": "mediation.tasks.refresh_statistics",
        "schedule": crontab(minute=os.environ.get("STATISTICS_REFRESH_MINUTE", "5")),
    },
    "deadline-sweep": {
        "task": "notifications.tasks.deadline_sweep",
        "schedule": crontab(minute=f"*/{int(os.environ.get('DEADLINE_SWEEP_MINUTES', '15'))}"),
    },
    # Every day: the task itself skips days that are not working days (statutory calendar).
    "daily-digest": {
        "task": "notifications.tasks.daily_digest",
        "schedule": crontab(hour=int(_DIGEST_HOUR), minute=int(_DIGEST_MINUTE)),
    },
    "expire-job-files": {"task": "jobs.tasks.expire_files", "schedule": crontab(minute=20)},
    "purge-idempotency-keys": {"task": "api.purge_idempotency_keys", "schedule": crontab(minute=40)},
}
INSTALLED_APPS += ["jobs"]
# Background jobs (我的导出): result files are kept this many days; a job failing on a transient
# error (the database unavailable) is tried this many times in all, JOBS_RETRY_DELAY seconds
# apart at first, doubling each time.
JOBS_EXPIRE_DAYS = int(os.environ.get("JOBS_EXPIRE_DAYS", "7"))
JOBS_MAX_ATTEMPTS = int(os.environ.get("JOBS_MAX_ATTEMPTS", "3"))
JOBS_RETRY_DELAY = float(os.environ.get("JOBS_RETRY_DELAY", "30"))


# --- Object storage and read replica (docs/operations.md) ---------------------------------------
# Object storage: with STORAGE_S3_BUCKET set, documents, attachments and signed scans go to that
# bucket on any S3-compatible store (django-storages); otherwise to MEDIA_ROOT on local disk.
# Objects are private (no ACL is ever sent: the bucket's own policy applies, which must not be
# public), names are never reused (a second upload under a name gets a new one), and the
# application never hands out a URL to an object: every download is read through the
# application after its permission checks.
from collections.abc import Mapping  # noqa: E402
from typing import Any  # noqa: E402


def object_storage(env: Mapping[str, str]) -> dict[str, Any]:
    """STORAGES["default"] for the bucket the STORAGE_S3_* variables of ``env`` describe."""
    return {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": env["STORAGE_S3_BUCKET"],
            "endpoint_url": env.get("STORAGE_S3_ENDPOINT_URL") or None,
            "region_name": env.get("STORAGE_S3_REGION") or None,
            # Unset: boto3's own chain (AWS_ACCESS_KEY_ID…, an instance role).
            "access_key": env.get("STORAGE_S3_ACCESS_KEY_ID") or None,
            "secret_key": env.get("STORAGE_S3_SECRET_ACCESS_KEY") or None,
            # "path" for most self-hosted stores; "virtual" (bucket.host) where the store wants it.
            "addressing_style": env.get("STORAGE_S3_ADDRESSING_STYLE") or None,
            "signature_version": "s3v4",
            # Keys below this prefix inside the bucket (one bucket may serve several instances).
            "location": env.get("STORAGE_S3_PREFIX", ""),
            "default_acl": None,
            "file_overwrite": False,
            # url() is never shown to anyone; should it ever be called, its signature is short-lived.
            "querystring_auth": True,
            "querystring_expire": 60,
            # A CA bundle for a store with a private certificate; "0" only on a closed test network.
            "verify": False if env.get("STORAGE_S3_VERIFY") == "0" else env.get("STORAGE_S3_VERIFY") or None,
            "object_parameters": ({"ServerSideEncryption": env["STORAGE_S3_SERVER_SIDE_ENCRYPTION"]}
                                  if env.get("STORAGE_S3_SERVER_SIDE_ENCRYPTION") else {}),
        },
    }


if os.environ.get("STORAGE_S3_BUCKET"):
    STORAGES["default"] = object_storage(os.environ)
# Read replica: with DATABASE_REPLICA_URL set (a PostgreSQL streaming replica of DATABASE_URL),
# the statistics page, the monthly table and the ledger export read there (mediation/db_router.py);
# every write, every read inside a writing transaction and every permission read stay on default.
if os.environ.get("DATABASE_REPLICA_URL"):
    DATABASES["replica"] = dj_database_url.parse(
        os.environ["DATABASE_REPLICA_URL"], conn_max_age=DB_CONN_MAX_AGE, conn_health_checks=DB_CONN_MAX_AGE > 0)
    DATABASE_ROUTERS = ["mediation.db_router.ReplicaRouter"]

# --- Reminders (docs/operations.md) -----------------------------------------------------
INSTALLED_APPS += ["notifications"]
TEMPLATES[0]["OPTIONS"]["context_processors"].append(  # type: ignore[index]
    "notifications.context_processors.notifications")
# When a reminder goes out, in days before a deadline's last day: 0 is the day itself, -1 the
# day after (overdue). Counted as the clock counts: working days for the acceptance period
# (3 working days), calendar days for every other. REMINDER_THRESHOLDS="before_3:3,on_day:0,overdue:-1".
REMINDER_THRESHOLDS = {name: int(days) for name, days in (
    part.split(":") for part in os.environ.get("REMINDER_THRESHOLDS", "before_3:3,on_day:0,overdue:-1").split(",")
    if part.strip())}
# A pending escalation request that has waited this long is brought to those who may decide it.
ESCALATION_WAIT_HOURS = int(os.environ.get("ESCALATION_WAIT_HOURS", "24"))
# The SMS gateway (notifications/sms.py): a dotted path to a BaseSmsBackend subclass.
SMS_BACKEND = os.environ.get("SMS_BACKEND", "notifications.sms.ConsoleSmsBackend")
# The sender of reminder e-mails (EMAIL_BACKEND above says how they leave).
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "webmaster@localhost")


# --- Deployment: health probes, JSON logs, error reports (docs/operations.md) ---------------
# /healthz and /readyz are answered before the host check, the HTTPS redirect, the session and
# the sign-in gate (mediation/health.py): probes come from inside, over plain HTTP, to an address
# not in ALLOWED_HOSTS. The request id comes before them, so every response and log line has one;
# both after the request-size limit, which stays first (docs/security.md).
MIDDLEWARE.insert(1, "mediation.health.ProbeMiddleware")
MIDDLEWARE.insert(1, "mediation.logs.RequestIdMiddleware")
# Logs: one JSON object a line with the request id and the user id, never a query string, a body
# or a name (mediation/logs.py); LOG_FORMAT=text for a terminal (the default with DEBUG on).
LOG_FORMAT = os.environ.get("LOG_FORMAT", "text" if DEBUG else "json")
LOGGING = {
    **LOGGING,
    "filters": {"request": {"()": "mediation.logs.RequestContextFilter"}},
    "formatters": {"json": {"()": "mediation.logs.JsonFormatter"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "filters": ["request"],
                             **({"formatter": "json"} if LOG_FORMAT == "json" else {})}},
}
# Error reports go to Sentry only when SENTRY_DSN is set, without personal data (mediation/error_reports.py).
SENTRY_DSN = os.environ.get("SENTRY_DSN", "")
if SENTRY_DSN:
    from mediation.error_reports import init_sentry

    init_sentry(SENTRY_DSN, environment=os.environ.get("SENTRY_ENVIRONMENT", ""),
                release=os.environ.get("SENTRY_RELEASE", ""),
                traces_sample_rate=float(os.environ.get("SENTRY_TRACES_SAMPLE_RATE", "0")))


# --- Speed at scale (docs/performance.md) -------------------------------------------------------
# PostgreSQL's JIT compiles a query whose estimated cost passes jit_above_cost: 40–60 ms of
# compilation for a page's list query that runs in a few milliseconds. This is an interactive
# application: off for its connections (the statistics rebuild, its one long aggregate, is
# timed with it off in docs/performance.md). Parallel workers likewise: starting them costs more
# than a page's short statements gain (a search's gathering at 1,000,000 cases: 14.5 ms with two,
# 5.2 without), and on a small server they take the cores other requests wait for.
# DB_PARALLEL_WORKERS sets max_parallel_workers_per_gather for the application's connections.
DB_PARALLEL_WORKERS = int(os.environ.get("DB_PARALLEL_WORKERS", "0"))
for _alias in [a for a in ("default", "replica") if a in DATABASES]:
    if DATABASES[_alias]["ENGINE"] == "django.db.backends.postgresql":
        _options = DATABASES[_alias].setdefault("OPTIONS", {})
        _options["options"] = (f"{_options.get('options', '')} -c jit=off "
                               f"-c max_parallel_workers_per_gather={DB_PARALLEL_WORKERS}").strip()


# --- REST API (docs/api.md) ---------------------------------------------------------------------
# /api/v1/: personal access tokens (Authorization: Bearer …) or the browser's session; errors as
# application/problem+json; the OpenAPI schema at /api/schema/, its docs at /api/docs/ served from
# the application's own static files (drf-spectacular-sidecar), under the same CSP as every page.
# rest_framework itself is not an installed app: its catalogue would replace Django's own Chinese
# for messages both carry ("This field is required." and six more) on every web form. The API
# renders JSON only, so it needs none of its templates or static files.
INSTALLED_APPS += ["drf_spectacular", "drf_spectacular_sidecar", "api"]
# Requests a token may make per minute, counted per token (per user for the browser's session) in
# Django's cache: with several server processes, give them a shared cache (CACHES) or each counts alone.
API_READ_RATE = os.environ.get("API_READ_RATE", "600/min")
API_WRITE_RATE = os.environ.get("API_WRITE_RATE", "60/min")
# A token lives API_TOKEN_DEFAULT_DAYS unless its owner picks another term, never more than API_TOKEN_MAX_DAYS.
API_TOKEN_DEFAULT_DAYS = int(os.environ.get("API_TOKEN_DEFAULT_DAYS", "90"))
API_TOKEN_MAX_DAYS = int(os.environ.get("API_TOKEN_MAX_DAYS", "365"))
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["api.authentication.TokenAuthentication",
                                       "api.authentication.SessionAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["api.authentication.TokenScope"],
    "DEFAULT_THROTTLE_CLASSES": ["api.authentication.ReadThrottle", "api.authentication.WriteThrottle"],
    "DEFAULT_THROTTLE_RATES": {"read": API_READ_RATE, "write": API_WRITE_RATE},
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["api.parsers.JSONParser"],
    "DEFAULT_VERSIONING_CLASS": "rest_framework.versioning.URLPathVersioning",
    "DEFAULT_VERSION": "v1",
    "ALLOWED_VERSIONS": ["v1"],
    "EXCEPTION_HANDLER": "api.errors.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "劳动争议调解案件管理 API",
    "DESCRIPTION": "docs/api.md: authentication, errors (application/problem+json), pagination, versioning.",
    "VERSION": "v1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # Several inputs are called "kind": each choice set named after what it classifies.
    "ENUM_NAME_OVERRIDES": {"AttachmentKindEnum": "mediation.models.Attachment.Kind",
                            "DocumentKindEnum": "mediation.documents.models.DocumentKind"},
}

# The worker's own pages (docs/portal.md): public, under /service/. Requests are counted in Django's
# cache per client address and per case number (a shared cache with several processes, as above).
INSTALLED_APPS += ["portal"]
PORTAL_APPLY_RATE_PER_IP = os.environ.get("PORTAL_APPLY_RATE_PER_IP", "5/hour")
PORTAL_LOOKUP_RATE_PER_IP = os.environ.get("PORTAL_LOOKUP_RATE_PER_IP", "30/hour")
PORTAL_LOOKUP_RATE_PER_CASE = os.environ.get("PORTAL_LOOKUP_RATE_PER_CASE", "10/hour")
PORTAL_SMS_RATE_PER_CASE = os.environ.get("PORTAL_SMS_RATE_PER_CASE", "3/hour")
PORTAL_DOWNLOAD_RATE_PER_IP = os.environ.get("PORTAL_DOWNLOAD_RATE_PER_IP", "60/hour")
# The one-time code for "my documents": minutes it lives, wrong tries allowed; then how long the
# documents stay open in that browser. The access code's length (from a 31-character alphabet).
PORTAL_CODE_MINUTES = int(os.environ.get("PORTAL_CODE_MINUTES", "10"))
PORTAL_CODE_ATTEMPTS = int(os.environ.get("PORTAL_CODE_ATTEMPTS", "5"))
PORTAL_GRANT_MINUTES = int(os.environ.get("PORTAL_GRANT_MINUTES", "30"))
PORTAL_ACCESS_CODE_LENGTH = max(10, int(os.environ.get("PORTAL_ACCESS_CODE_LENGTH", "12")))
PORTAL_EVIDENCE_MAX_FILES = int(os.environ.get("PORTAL_EVIDENCE_MAX_FILES", "10"))
# Days a respondent's confirmation link lives (the case must be accepted or rejected within 3 working days).
PORTAL_INVITATION_DAYS = int(os.environ.get("PORTAL_INVITATION_DAYS", "7"))
