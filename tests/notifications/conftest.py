from __future__ import annotations

import datetime
from zoneinfo import ZoneInfo

import pytest

from notifications.sms import LocmemSmsBackend

CST = ZoneInfo("Asia/Shanghai")


def beijing(y: int, m: int, d: int, hour: int = 10) -> datetime.datetime:
    return datetime.datetime(y, m, d, hour, tzinfo=CST)


@pytest.fixture(autouse=True)
def _sms_outbox(settings):
    settings.SMS_BACKEND = "notifications.sms.LocmemSmsBackend"
    settings.REMINDER_THRESHOLDS = {"before_3": 3, "on_day": 0, "overdue": -1}
    settings.ESCALATION_WAIT_HOURS = 24
    LocmemSmsBackend.outbox.clear()
    yield
    LocmemSmsBackend.outbox.clear()
