"""Health probes for load balancers, Docker and systemd (docs/operations.md, Health checks).

* ``/healthz``: the process answers. 200, touching nothing (no database, no session, no file).
* ``/readyz``: the instance can serve: the database connects and answers ``SELECT 1``, the Celery
  broker accepts a connection (when ``CELERY_BROKER_URL`` names one), the PDF fonts are built, and the
  media storage takes a small file, gives it back and deletes it. 200 when every check passes, else
  503; the JSON body names each check and, for a failed one, only the kind of error (the full error
  goes to the log, never to the caller: it may name hosts or users).

:class:`ProbeMiddleware` answers both paths itself, near the top of MIDDLEWARE (after the request
size limit and the request id): a probe from inside the container or from the balancer speaks plain
HTTP to an address that is not in ``ALLOWED_HOSTS``, so it must not meet the host check, the HTTPS
redirect, the session or the sign-in gate. The answers are never cached
(``Cache-Control: no-store``).
"""
from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import DEFAULT_DB_ALIAS, connections
from django.http import HttpRequest, HttpResponse, JsonResponse

logger = logging.getLogger(__name__)

HEALTH_PATH = "/healthz"
READY_PATH = "/readyz"
#: Where the media check writes its probe file (then deletes it).
MEDIA_PROBE_DIR = "readyz"
BROKER_TIMEOUT_SECONDS = 2


def database_check(alias: str) -> Callable[[], None]:
    def check() -> None:
        with connections[alias].cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()

    return check


def check_broker() -> None:
    from kombu import Connection

    with Connection(settings.CELERY_BROKER_URL, connect_timeout=BROKER_TIMEOUT_SECONDS) as broker:
        broker.ensure_connection(max_retries=1, timeout=BROKER_TIMEOUT_SECONDS)


def check_fonts() -> None:
    from mediation.documents.fonts import font_stylesheet_path

    font_stylesheet_path()  # raises FontsNotBuiltError when the build is missing or unfinished


def check_media() -> None:
    payload = uuid.uuid4().bytes
    name = default_storage.save(f"{MEDIA_PROBE_DIR}/{uuid.uuid4().hex}.probe", ContentFile(payload))
    try:
        with default_storage.open(name, "rb") as stored:
            if stored.read() != payload:
                raise OSError("the media storage gave back other bytes than were written")
    finally:
        default_storage.delete(name)


def broker_configured() -> bool:
    """A real broker is set (without one, ``memory://``, tasks run in the web process)."""
    url = getattr(settings, "CELERY_BROKER_URL", "") or ""
    return bool(url) and not url.startswith("memory://")


def readiness_checks() -> dict[str, Callable[[], Any]]:
    # The default database only: a read replica that is down or behind affects the statistics and
    # exports that read there, and taking every web process out of the balancer for it would stop
    # all work instead (the replica is watched on its own: docs/operations.md, Health checks).
    checks: dict[str, Callable[[], Any]] = {"database": database_check(DEFAULT_DB_ALIAS)}
    if broker_configured():
        checks["broker"] = check_broker
    checks["fonts"] = check_fonts
    checks["media"] = check_media
    return checks


def _no_store(response: HttpResponse) -> HttpResponse:
    response["Cache-Control"] = "no-store"
    return response


def healthz(request: HttpRequest) -> HttpResponse:
    return _no_store(JsonResponse({"status": "ok"}))


def readyz(request: HttpRequest) -> HttpResponse:
    results: dict[str, dict[str, str]] = {}
    for name, check in readiness_checks().items():
        try:
            check()
        except Exception as error:  # any failure of a dependency makes the instance unready
            logger.warning("readiness check %s failed", name, exc_info=True)
            results[name] = {"status": "fail", "error": type(error).__name__}
        else:
            results[name] = {"status": "ok"}
    failed = [name for name, result in results.items() if result["status"] != "ok"]
    body = {"status": "fail" if failed else "ok", "failed": failed, "checks": results}
    return _no_store(JsonResponse(body, status=503 if failed else 200))


PROBES = {HEALTH_PATH: healthz, READY_PATH: readyz}


class ProbeMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        probe = PROBES.get(request.path_info.rstrip("/") or "/")
        if probe is not None and request.method in ("GET", "HEAD"):
            return probe(request)
        return self.get_response(request)
