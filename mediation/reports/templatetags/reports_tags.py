"""Formatting for the reports pages: rates, days and amounts as the tables print them."""
from __future__ import annotations

from typing import Any

from django import template

from mediation.templatetags.mediation_tags import yuan

register = template.Library()


@register.filter
def pct(value: float | None) -> str:
    """0.8765 → "87.7%"; no denominator → "—" (a rate of nothing is not 0%)."""
    return "—" if value is None else f"{value * 100:.1f}%"


@register.filter
def days(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}"


# Amounts as every page shows them: the case pages' filter, registered here too.
register.filter("yuan", yuan)


@register.filter
def average_days(figures: Any, line: int) -> str:
    return days(figures.average_days(int(line)))


@register.filter
def get(mapping: Any, key: Any) -> Any:
    return mapping.get(key) if hasattr(mapping, "get") else None


@register.filter
def stays(figures: Any, line: int) -> int:
    return figures.values[f"stays_{int(line)}"]


@register.filter
def get_kind(columns: Any, index: int) -> str:
    """The kind ("n", "pct", "yuan") of the monthly table's column ``index``."""
    return columns[int(index)][2]
