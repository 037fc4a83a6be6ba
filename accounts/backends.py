from __future__ import annotations

from typing import Any

from axes.backends import AxesStandaloneBackend


class LockoutBackend(AxesStandaloneBackend):
    """django-axes' lockout check, for logins that come over HTTP.

    ``authenticate()`` called without a request (a management command, the shell, a test)
    has no address to count and no page to show, and axes would raise; such a call is left
    to the next backend. Every login page passes its request, so nothing that arrives over
    the network skips the check.
    """

    def authenticate(self, request: Any, username: str | None = None, password: str | None = None,
                     **kwargs: Any) -> Any:
        if request is None:
            return None
        return super().authenticate(request, username, password, **kwargs)
