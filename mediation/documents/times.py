"""Registration times as people read them: in the project's time zone, and saying which one.

The database keeps UTC. Documents, the verification page and ``manage.py verify_document``
all show the time of issue in ``settings.TIME_ZONE`` (Asia/Shanghai, 北京时间) to the minute,
as the verification box of the document prints it, so a printed copy can be compared with
what the registry says, and the time zone is named wherever it could be read as another.
"""
from __future__ import annotations

import datetime

from django.utils import timezone
from django.utils.translation import gettext as _

#: Zones whose local time is 北京时间 (China Standard Time, UTC+8, no daylight saving).
BEIJING_ZONES = frozenset({"Asia/Shanghai", "Asia/Chongqing", "Asia/Harbin", "PRC"})


def zone_label(local: datetime.datetime) -> str:
    """北京时间 in China's zone; elsewhere the offset from UTC (UTC+09:00)."""
    if str(getattr(local.tzinfo, "key", "")) in BEIJING_ZONES:
        return _("北京时间")
    return "UTC" + local.strftime("%z")[:3] + ":" + local.strftime("%z")[3:]


def local_time(value: datetime.datetime) -> str:
    """``2026-12-05 16:30（北京时间）`` for 08:30 UTC, whatever zone the value was given in."""
    local = timezone.localtime(value)
    return _("%(time)s（%(zone)s）") % {"time": f"{local:%Y-%m-%d %H:%M}", "zone": zone_label(local)}
