"""Who is calling: a personal access token (``Authorization: Bearer …``) or the browser's session;
what the token's scope lets them do; how often (docs/api.md)."""
from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from rest_framework import authentication, exceptions, permissions, throttling
from rest_framework.request import Request

from api.models import AccessToken
from api.tokens import token_find, token_touch


class TokenAuthentication(authentication.BaseAuthentication):
    """``Authorization: Bearer <token>``. An unknown, expired or revoked token, or one whose owner is
    no longer active, is refused (401): never treated as anonymous."""

    keyword = "Bearer"

    def authenticate(self, request: Request) -> tuple[Any, AccessToken] | None:
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed(_("Authorization 头格式不正确，应为“Bearer 令牌”。"))
        try:
            value = header[1].decode("ascii")
        except UnicodeError:
            raise exceptions.AuthenticationFailed(_("访问令牌无效。")) from None
        token = token_find(value)
        if token is None:
            raise exceptions.AuthenticationFailed(_("访问令牌无效。"))
        if token.revoked_at is not None:
            raise exceptions.AuthenticationFailed(_("访问令牌已被撤销。"))
        if not token.is_active:
            raise exceptions.AuthenticationFailed(_("访问令牌已过期。"))
        if not token.user.is_active:
            raise exceptions.AuthenticationFailed(_("该用户已被停用。"))
        token_touch(token)
        return token.user, token

    def authenticate_header(self, request: Request) -> str:
        return f'{self.keyword} realm="api"'


class SessionAuthentication(authentication.SessionAuthentication):
    """The browser's session, with DRF's CSRF check on unsafe methods. A session that owes a step
    first (the second factor, a password change: ``accounts.gate``) is not signed in for the API,
    as it reaches no page either."""

    def authenticate(self, request: Request) -> tuple[Any, None] | None:
        from accounts import gate

        result = super().authenticate(request)
        if result is None or gate.required_step(request._request) is not None:
            return None
        return result


class TokenScope(permissions.BasePermission):
    """Safe methods need a ``read`` token, others a ``write`` one; a session may do both."""

    message = _("该访问令牌只能读取，不能修改。")

    def has_permission(self, request: Request, view: Any) -> bool:
        if not (request.user and request.user.is_authenticated):
            return False
        token = request.auth
        if not isinstance(token, AccessToken):
            return True
        return token.allows("read" if request.method in permissions.SAFE_METHODS else "write")


class _Throttle(throttling.SimpleRateThrottle):
    """Counted per token (each token its own budget), or per user for the browser's session."""

    def get_rate(self) -> str | None:
        # Read at each request, not at import: the settings may change (tests, a reload).
        from rest_framework.settings import api_settings

        rate = api_settings.DEFAULT_THROTTLE_RATES.get(self.scope or "")
        return str(rate) if rate else None

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        if not (request.user and request.user.is_authenticated):
            return None
        ident = f"token{request.auth.pk}" if isinstance(request.auth, AccessToken) else f"user{request.user.pk}"
        return self.cache_format % {"scope": self.scope, "ident": ident}


class ReadThrottle(_Throttle):
    scope = "read"

    def allow_request(self, request: Request, view: Any) -> bool:
        return request.method not in permissions.SAFE_METHODS or super().allow_request(request, view)


class WriteThrottle(_Throttle):
    scope = "write"

    def allow_request(self, request: Request, view: Any) -> bool:
        return request.method in permissions.SAFE_METHODS or super().allow_request(request, view)
