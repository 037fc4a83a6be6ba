"""Error reports to Sentry, only when ``SENTRY_DSN`` is set (docs/operations.md, Logs).

The settings call :func:`init_sentry` when the DSN is configured; without it the SDK is never
initialised and nothing leaves the machine. What is sent holds no personal data: no default PII
(cookies, user names, addresses), no request bodies, no local variables of the failing frames
(they hold ID numbers and phones), and :func:`strip_request_data` removes from every event the
request's query string, body, cookies and headers, and keeps of the user only the id.
"""
from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit, urlunsplit

#: Headers kept on an event: none of them carries a person's data.
KEPT_HEADERS = frozenset({"content-type", "content-length", "x-request-id"})


def strip_request_data(event: dict[str, Any], hint: dict[str, Any] | None = None) -> dict[str, Any]:
    request = event.get("request")
    if isinstance(request, dict):
        kept: dict[str, Any] = {}
        if request.get("method"):
            kept["method"] = request["method"]
        if request.get("url"):
            parts = urlsplit(str(request["url"]))
            kept["url"] = urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))
        headers = request.get("headers")
        if isinstance(headers, dict):
            kept["headers"] = {k: v for k, v in headers.items() if str(k).lower() in KEPT_HEADERS}
        event["request"] = kept
    user = event.get("user")
    if isinstance(user, dict):
        event["user"] = {"id": user["id"]} if user.get("id") is not None else {}
    # Exception messages and breadcrumbs can quote a value (a database error's DETAIL, a log line):
    # only the exception's type and its stack of code locations leave the server.
    for exception in (event.get("exception") or {}).get("values") or []:
        if isinstance(exception, dict):
            exception["value"] = ""
    event.pop("breadcrumbs", None)
    event.pop("logentry", None)
    return event


def init_sentry(dsn: str, environment: str = "", release: str = "", traces_sample_rate: float = 0.0) -> None:
    import sentry_sdk
    from sentry_sdk.integrations.django import DjangoIntegration

    sentry_sdk.init(
        dsn=dsn,
        environment=environment or None,
        release=release or None,
        integrations=[DjangoIntegration()],
        send_default_pii=False,
        include_local_variables=False,
        max_request_body_size="never",
        traces_sample_rate=traces_sample_rate,
        before_send=strip_request_data,  # type: ignore[arg-type]
        # Performance events skip before_send: they carry the request (and its query string) too.
        before_send_transaction=strip_request_data,  # type: ignore[arg-type]
    )
