"""Checks every write on a case starts with: the permission (``mediation.permissions``) and the state.
"""
from __future__ import annotations

import logging
from typing import Any, Callable, Iterable

from django.core.exceptions import PermissionDenied, ValidationError
from django.utils.translation import gettext as _

from mediation import permissions
from mediation.models import (
    Case,
)
from workflows.errors import ActionNotAllowed

logger = logging.getLogger(__name__)


# --- working the case --------------------------------------------------------------

def require_may(actor: Any, action: str, case: Case) -> None:
    if not permissions.user_may(actor, action, case):
        raise PermissionDenied(_("您没有办理本案件的权限。"))


def require_state(case: Case, states: Iterable[str], what: str) -> None:
    if case.state not in states:
        raise ActionNotAllowed(_("案件当前状态为“%(state)s”，不能%(what)s。")
                               % {"state": case.get_state_display(), "what": what})

def collect_errors(errors: dict[str, list[str]], fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    try:
        return fn(*args, **kwargs)
    except ValidationError as exc:
        for key, messages in exc.message_dict.items():
            errors.setdefault(key, []).extend(messages)
        return None
