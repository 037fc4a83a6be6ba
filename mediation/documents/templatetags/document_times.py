"""Template access to mediation/documents/times.py: registration times with their time zone named."""
from __future__ import annotations

import datetime

from django import template

from mediation.documents import times

register = template.Library()


@register.filter
def local_time(value: datetime.datetime | None) -> str:
    return times.local_time(value) if value else ""
