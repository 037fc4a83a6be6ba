"""What every page's frame reads — in one statement, once a request.

The navigation shows how many cases are overdue, how many escalation requests wait for the user's
decision, the audit trail's entry to those who may read it, and the bell's count of unread notices;
the home page shows the same figures and more windows of them. Each used to be a statement of its
own on every page (the figures, the capped count of the requests waiting, whether the user holds
the audit permission, the unread notices):
now they are the parts of one, written once per process for each user's reach and read afresh on
every request (docs/performance.md, "Sixth pass", "Every page's frame"). What each part counts is
still decided where it always was: the figures by ``selectors.figures_statement``, the requests waiting by
``selectors.escalations_awaiting``, the audit right by ``permissions.may_read_audit``'s rule, the
unread notices by ``notifications.models.unread_of``.
"""
from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import Permission
from django.db import router

from mediation import permissions, prepared, selectors
from mediation.selectors import capped_count_sql, due_soon_end, escalations_awaiting, figures_of, figures_statement
from notifications.models import unread_of
from workflows.clocks import local_today

#: The figures' windows the frame reads (the home page shows all three, the navigation "overdue").
WINDOW_NAMES = ("overdue", "due_soon", "all")
#: The frame's own rows among the figures' (no case state starts so).
_ESCALATIONS, _AUDIT, _UNREAD = "~escalations", "~audit", "~unread"


@dataclass(frozen=True)
class Frame:
    figures: dict[str, dict[str, int]]
    #: Escalation requests waiting for the user's decision, up to TASK_COUNT_CAP + 1 ("99+").
    escalations: int
    #: May the user read the audit trail (``permissions.may_read_audit``)?
    reads_audit: bool
    #: The user's unread notices (the bell).
    unread: int = 0


def frame(request: Any, today: datetime.date | None = None) -> Frame:
    """The frame's figures for ``request``'s user, read once per request (the home page and the
    navigation both ask)."""
    today = today or local_today()
    user = request.user
    key = (user.pk, today)
    memo = getattr(request, "_mediation_frame", None)
    if memo is None or memo[0] != key:
        memo = request._mediation_frame = (key, _read(user, today))
    return memo[1]


def frame_figures(request: Any, today: datetime.date) -> dict[str, dict[str, int]]:
    """The cases overdue, due soon, and all, per state, that the user may read."""
    return frame(request, today).figures


def frame_escalation_count(request: Any) -> int:
    """How many escalation requests wait for the user's decision (``selectors.escalations_awaiting``),
    counting up to ``selectors.TASK_COUNT_CAP`` + 1 (shown "99+"), so that it never
    reads every pending request of a district; the escalation queue counts them all."""
    return frame(request).escalations


def frame_escalations_counted(request: Any) -> int | None:
    """:func:`frame_escalation_count` where it is the exact number (not past its cap); ``None`` where the
    navigation says "more" and only counting on would tell."""
    waiting = frame(request).escalations
    return waiting if waiting <= selectors.TASK_COUNT_CAP else None


def frame_reads_audit(request: Any) -> bool:
    return frame(request).reads_audit


def frame_unread(request: Any) -> int:
    return frame(request).unread


def _windows(today: datetime.date) -> dict[str, dict[str, datetime.date | None]]:
    return {"overdue": {"before": today}, "due_soon": {"start": today, "end": due_soon_end(today)}, "all": {}}


def _read(user: Any, today: datetime.date) -> Frame:
    if not permissions.reads_per_case_grants(user):  # signed out, or an account switched off
        return Frame({name: {} for name in WINDOW_NAMES}, 0, False)
    sql, params = _statement(user, today)
    rows: list[tuple[Any, ...]] = []
    if sql:
        # Where the tables deciding access are read (the primary, even inside ``use_replica``): the
        # statement reads the user's permissions, groups and grants with the figures.
        rows = prepared.fetchall(router.db_for_read(Permission), (sql, params))
    own = {state: int(values[0] or 0) for state, *values in rows if str(state).startswith("~")}
    figures = figures_of([row for row in rows if not str(row[0]).startswith("~")], list(WINDOW_NAMES))
    return Frame(figures, own.get(_ESCALATIONS, 0),
                 user.is_superuser or own.get(_AUDIT, 0) > 0, own.get(_UNREAD, 0))


def _statement(user: Any, today: datetime.date) -> tuple[str, tuple[Any, ...]]:
    """The figures' statement (``selectors.figures_statement``) and, each as one more row of it, the
    capped count of the requests waiting for the user's decision (for those who decide any),
    whether the user holds the audit permission (for all but superusers, who hold every one) and
    how many notices they have not read."""
    windows = _windows(today)
    decides = permissions.holds(user, "decide_escalation")
    cap = selectors.TASK_COUNT_CAP
    key = ("frame", decides, cap, tuple((name, tuple(sorted(windows[name].items()))) for name in WINDOW_NAMES))
    return prepared.statement(user, key, lambda: _compose(user, windows, decides, cap))


def _compose(user: Any, windows: dict[str, dict[str, datetime.date | None]],
             decides: bool, cap: int) -> tuple[str, tuple[Any, ...]]:
    zeros = ", 0" * (len(WINDOW_NAMES) - 1)  # the row's other windows
    parts: list[str] = []
    params: list[Any] = []
    figures_sql, figures_params = figures_statement(user, windows)
    if figures_sql:
        parts.append(figures_sql)
        params.extend(figures_params)
    if decides:
        count_sql, count_params = capped_count_sql(escalations_awaiting(user=user), cap=cap)
        parts.append(f"SELECT %s, {count_sql}{zeros}")
        params.extend([_ESCALATIONS, *count_params])
    if not user.is_superuser:
        # Held or not: a count that stops at its first row.
        held_sql, held_params = capped_count_sql(
            permissions.model_permission_grants(user, *permissions.AUDIT_PERMISSION), cap=0)
        parts.append(f"SELECT %s, {held_sql}{zeros}")
        params.extend([_AUDIT, *held_params])
    unread_sql, unread_params = capped_count_sql(unread_of(user), cap=None)
    parts.append(f"SELECT %s, {unread_sql}{zeros}")
    params.extend([_UNREAD, *unread_params])
    return " UNION ALL ".join(parts), tuple(params)

