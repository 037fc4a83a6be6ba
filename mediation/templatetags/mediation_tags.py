from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from django import template

register = template.Library()


@register.filter
def days_left(deadline, today) -> int:
    return deadline.days_left(today)


@register.filter
def absolute(value: int) -> int:
    return abs(value)


@register.filter
def days_overdue(due, today) -> int:
    """Calendar days from ``due`` (the last day in time) to ``today``: 0 until the day after ``due``."""
    if not due or not today:
        return 0
    return max((today - due).days, 0)


@register.filter
def yuan(value: Any) -> str:
    """12345.6 → "12,345.60": the one way a page shows an amount of yuan, with thousands
    separators and two decimals whatever the language; "—" for none. (Documents print
    ``mediation.documents.amounts.amount_in_figures``, the same figure with ¥.)"""
    if value is None or value == "":
        return "—"
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        return str(value)
    return f"{amount:,.2f}" if amount.is_finite() else str(value)


@register.filter
def capped(value: Any) -> str:
    """A count from ``selectors.capped_count``: "99+" once it passed the cap, else the number."""
    from mediation.selectors import TASK_COUNT_CAP

    try:
        number = int(value)
    except (TypeError, ValueError):
        return str(value)
    return f"{TASK_COUNT_CAP}+" if number > TASK_COUNT_CAP else str(number)
