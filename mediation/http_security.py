"""HTTP-level protections that hold for every view (docs/security.md, HTTP 安全 / HTTP).

``RequestSizeLimitMiddleware`` comes first in MIDDLEWARE: a request that declares a body
larger than ``REQUEST_MAX_BYTES`` is answered 413 before anything (session, CSRF, the view)
reads ``request.body`` or ``request.POST``. ``NoStoreForUsersMiddleware`` marks every
response to a signed-in user ``Cache-Control: no-store, private`` unless the view chose its
own caching: those pages, downloads and exports carry personal data.

``client_address`` is the one answer to "who is asking": the login lockout (django-axes,
``AXES_CLIENT_IP_CALLABLE``), the audit trail's address and the public pages' throttles use it.
"""
from __future__ import annotations

import ipaddress
from typing import Any, Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string


def too_large_response() -> HttpResponse:
    """The 413 page: standalone (no session or user is known yet), in the product's look."""
    limit_mb = settings.REQUEST_MAX_BYTES // (1024 * 1024)
    body = render_to_string("413.html", {"limit_mb": limit_mb})
    response = HttpResponse(body, status=413)
    # The unread body would otherwise be taken as the next request on this connection.
    response["Connection"] = "close"
    return response


class RequestSizeLimitMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            declared = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            declared = 0  # Django treats an unreadable length as an empty body
        if declared > settings.REQUEST_MAX_BYTES:
            if request.path_info.startswith("/api/"):  # the API answers problem documents only
                from api.errors import too_large

                return too_large(request)
            return too_large_response()
        return self.get_response(request)


class NoStoreForUsersMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and not response.has_header("Cache-Control"):
            response["Cache-Control"] = "no-store, private"
        return response


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """A refused form (missing or stale CSRF token): the product's 403 page, not Django's English one."""
    return render(request, "403.html", status=403)


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        return None


def client_address(request: Any) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The client's address: ``REMOTE_ADDR``; with ``LOGIN_PROXY_COUNT`` = N trusted proxies, the N-th
    ``X-Forwarded-For`` entry from the right (written by the outermost of them; anything a client puts
    to the left of it is never believed). A header with fewer entries, or an entry that is no
    address, leaves ``REMOTE_ADDR``."""
    meta = getattr(request, "META", {}) or {}
    peer = _address(str(meta.get("REMOTE_ADDR", "")))
    trusted = settings.PROXY_COUNT
    if trusted > 0:
        entries = [e for e in str(meta.get("HTTP_X_FORWARDED_FOR", "")).split(",") if e.strip()]
        if len(entries) >= trusted:
            return _address(entries[-trusted]) or peer
    return peer


def client_ip(request: Any) -> str | None:
    """:func:`client_address` as text (the login lockout's ``AXES_CLIENT_IP_CALLABLE``)."""
    address = client_address(request)
    return address.compressed if address is not None else None
