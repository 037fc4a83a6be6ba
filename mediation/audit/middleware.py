"""Tell the audit trail which request it is writing in (its id and the client's address)."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mediation.audit.log import bind_request, unbind_request


class AuditRequestMiddleware:
    def __init__(self, get_response: Callable[[Any], Any]) -> None:
        self.get_response = get_response

    def __call__(self, request: Any) -> Any:
        token = bind_request(request)
        try:
            return self.get_response(request)
        finally:
            unbind_request(token)
