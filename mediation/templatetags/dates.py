"""Dates as the pages write them: Django's ``date`` filter, with the formats of digits alone written
by ``strftime``.

A page writes dates by the dozen (a case page's history, deadlines, signatures and documents; every
row of a list), and Django's filter costs some 30–60 µs a date: it looks the format up among the
language's formats, builds a formatter and walks the format letter by letter. The formats the
project writes most — "Y-m-d", "m-d", "H:i", "Y-m-d H:i", "Y-m-d H:i:s" — are digits the same in
every language, which ``strftime`` writes in a microsecond. This filter, one of the template engine's
builtins (``settings.TEMPLATES``), takes the place of Django's ``date`` in every template: those
formats of a ``date`` or ``datetime`` (a time's only of a ``datetime``) straight, anything else —
another format, another type, a year before 1000, none — by Django's own filter. The time zone is
the template engine's, as for Django's (``expects_localtime``: an aware datetime arrives in local
time). ``tests/web/test_dates.py`` compares the two.
"""
from __future__ import annotations

import datetime
from typing import Any

from django import template
from django.template.defaultfilters import date as django_date

register = template.Library()

#: Formats whose letters ``strftime`` writes alike: zero-padded numbers, the same in every language.
_DATE_FORMATS = {"Y-m-d": "%Y-%m-%d", "m-d": "%m-%d"}
#: The same with the time of day: for a ``datetime`` only (Django refuses them for a ``date``).
_TIME_FORMATS = {**_DATE_FORMATS, "H:i": "%H:%M", "Y-m-d H:i": "%Y-%m-%d %H:%M", "Y-m-d H:i:s": "%Y-%m-%d %H:%M:%S"}


def formatted(value: Any, fmt: str | None) -> str:
    """``value|date:fmt`` (``value`` already in the time zone it is to be shown in)."""
    kind = type(value)
    if fmt is not None and (kind is datetime.datetime or kind is datetime.date):
        pattern = (_TIME_FORMATS if kind is datetime.datetime else _DATE_FORMATS).get(fmt)
        if pattern is not None and value.year >= 1000:  # strftime writes a year as it is, "Y" in four digits
            return value.strftime(pattern)
    return django_date(value, fmt)


@register.filter(expects_localtime=True, is_safe=False)
def date(value: Any, arg: str | None = None) -> str:
    """Django's ``date`` filter (:func:`formatted`)."""
    return formatted(value, arg)
