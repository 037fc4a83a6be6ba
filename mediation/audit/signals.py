"""Logins, logouts and failed logins, from Django's own auth signals (never the password)."""
from __future__ import annotations

from typing import Any

from django.contrib.auth import signals


def _logged_in(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    from mediation.audit.log import record

    record(actor=user, action="auth.login", obj=user, request=request)


def _logged_out(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    from mediation.audit.log import record

    if user is not None:
        record(actor=user, action="auth.logout", obj=user, request=request)


def _login_failed(sender: Any, credentials: dict[str, Any], request: Any = None, **kwargs: Any) -> None:
    from django.contrib.auth import get_user_model

    from mediation.audit.log import record

    # The username tried, only: Django has already starred the password in ``credentials``,
    # and nothing else the form sent is kept.
    tried = str(credentials.get(get_user_model().USERNAME_FIELD) or credentials.get("username") or "")
    record(actor=tried, action="auth.login_failed", new={"username": tried[:150]}, request=request)


def connect() -> None:
    signals.user_logged_in.connect(_logged_in, dispatch_uid="audit_login")
    signals.user_logged_out.connect(_logged_out, dispatch_uid="audit_logout")
    signals.user_login_failed.connect(_login_failed, dispatch_uid="audit_login_failed")
