"""What a signed-in user must do before any other page, and when an idle session ends.

The state the gate reads on every request lives in the session (written at login and
by the pages that change it), so an ordinary page costs no extra query:

* ``accounts.has_device``: the user has a confirmed second-factor device, so the
  session must be verified (``django_otp``) before anything but the verify page;
* ``accounts.must_change``: an administrator set the password, so the user changes it
  before anything but the password-change page;
* otherwise, with ``OTP_REQUIRED`` on, a user whom
  :func:`mediation.permissions.needs_second_factor` names and who has no device is sent
  to set one up.

An administrator's password reset changes the password hash, which ends the user's
other sessions (Django's session verification), so the next login reads the flag afresh.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.contrib.auth.signals import user_logged_in
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.functional import LazyObject, empty

HAS_DEVICE = "accounts.has_device"
MUST_CHANGE = "accounts.must_change"
SEEN = "accounts.seen"

#: Pages every signed-in user may always reach (leaving, the language, the public checks).
ALWAYS_OPEN = frozenset({"login", "logout", "set_language", "admin:logout", "documents:verify",
                         "documents:verify_code", "javascript-catalog"})
#: How often (seconds) a session's idle clock is written back: at most one write a minute.
SEEN_RESOLUTION = 60


def has_confirmed_device(user: Any) -> bool:
    from django_otp import user_has_device

    return bool(user_has_device(user, confirmed=True))


def remember_state(request: HttpRequest, user: Any) -> None:
    from accounts.models import must_change_password

    request.session[HAS_DEVICE] = has_confirmed_device(user)
    request.session[MUST_CHANGE] = must_change_password(user)
    request.session[SEEN] = int(time.time())


def _on_login(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    if request is not None and hasattr(request, "session"):
        remember_state(request, user)


def connect_signals() -> None:
    user_logged_in.connect(_on_login, dispatch_uid="accounts.gate.on_login")


def is_verified(user: Any) -> bool:
    return getattr(user, "otp_device", None) is not None


def _redirect(name: str, request: HttpRequest) -> HttpResponse:
    url = reverse(name)
    if request.method == "GET":
        url += "?" + urlencode({"next": request.get_full_path()})
    return HttpResponseRedirect(url)


def required_step(request: HttpRequest) -> str | None:
    """The URL name of the page the user must finish first, or ``None``."""
    from mediation.permissions import needs_second_factor

    user = request.user
    session = request.session
    if HAS_DEVICE not in session or MUST_CHANGE not in session:
        remember_state(request, user)  # a session opened before these checks existed
    if session[HAS_DEVICE] and not is_verified(user):
        return "otp_verify"
    if session[MUST_CHANGE]:
        return "password_change"
    if settings.OTP_REQUIRED and not session[HAS_DEVICE] and needs_second_factor(user):
        return "otp_setup"
    return None


def unwrapped(user: Any) -> Any:
    """The user behind ``request.user``'s lazy wrappers (authentication's, then the second factor's
    around it), read now if they were not: what the page goes on to use is the user itself, not an
    object that passes each of its hundreds of reads a page through two wrappers. The same object,
    with what the second factor's middleware put on it (``otp_device``, ``is_verified``)."""
    while isinstance(user, LazyObject):
        if user._wrapped is empty:
            user._setup()
        user = user._wrapped
    return user


class AccountGateMiddleware:
    """Sends a signed-in user to the step they owe (verify, change password, set up 2FA)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(self, request: HttpRequest, view_func: Any, view_args: Any, view_kwargs: Any) -> Any:
        match = request.resolver_match
        if match is None or match.view_name in ALWAYS_OPEN or not request.user.is_authenticated:
            return None
        if match.app_name == "portal":
            # The worker's public pages ask nothing of a staff account (docs/portal.md).
            return None
        if match.app_name == "api":
            # The API answers for itself: a session owing a step is not signed in there (401, not a
            # redirect to a page; api.authentication.SessionAuthentication asks required_step too).
            return None
        request.user = unwrapped(request.user)
        step = required_step(request)
        if step is None or match.view_name == step:
            return None
        return _redirect(step, request)


class IdleSessionMiddleware:
    """Ends a signed-in session after ``SESSION_COOKIE_AGE`` seconds without a request.

    The session row's expiry (``SESSION_COOKIE_AGE`` from its last save) is what ends it
    in the database; this middleware saves the session again at most once a minute while
    the user is active, and flushes one whose last activity is older than the limit
    (for session engines that do not expire rows themselves).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        session = getattr(request, "session", None)
        if session is not None and SESSION_KEY in session:
            now = int(time.time())
            seen = session.get(SEEN)
            if seen is not None and now - seen > settings.SESSION_COOKIE_AGE:
                session.flush()
            elif seen is None or now - seen >= SEEN_RESOLUTION:
                session[SEEN] = now
        return self.get_response(request)
