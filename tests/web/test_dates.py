"""The ``date`` filter every template uses (``mediation/templatetags/dates.py``) writes what Django's
own ``date`` filter writes, for every value and format, and only faster where it can."""
from __future__ import annotations

import datetime
import zoneinfo
from typing import Any

import pytest
from django.template import Context, Template, engines
from django.template.defaultfilters import date as django_date
from django.utils import timezone, translation

from mediation.templatetags import dates

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
UTC = datetime.UTC

VALUES = [
    datetime.date(2026, 1, 2), datetime.date(1999, 12, 31), datetime.date(999, 3, 4), datetime.date(1, 1, 1),
    datetime.date(9999, 12, 31),
    datetime.datetime(2026, 1, 2, 3, 4, 5), datetime.datetime(2026, 12, 31, 23, 59, 59, 999999),
    datetime.datetime(2026, 6, 1, 0, 0, tzinfo=SHANGHAI), datetime.datetime(2026, 6, 1, 8, 30, 15, tzinfo=UTC),
    datetime.datetime(900, 5, 6, 7, 8, 9),
    datetime.time(7, 8, 9), None, "", "2026-01-02", 0, 20260102,
]
FORMATS = ["Y-m-d", "m-d", "H:i", "Y-m-d H:i", "Y-m-d H:i:s", "Y-m-d D", "Y年n月j日 H:i", "DATE_FORMAT", "", None,
           "N j, Y", "y-n-j", "Y-m-d\\TH:i"]


def outcome(function, value, fmt):
    try:
        return ("written", function(value, fmt))
    except Exception as exc:  # Django refuses some pairs (a time of day of a date): the same refusal
        return ("refused", type(exc))


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_every_value_in_every_format_is_written_as_django_writes_it(language):
    with translation.override(language):
        for value in VALUES:
            for fmt in FORMATS:
                assert outcome(dates.date, value, fmt) == outcome(django_date, value, fmt), (value, fmt)


def test_the_plain_formats_are_written_by_hand_known_digits():
    assert dates.date(datetime.date(2026, 3, 4), "Y-m-d") == "2026-03-04"
    assert dates.date(datetime.date(2026, 3, 4), "m-d") == "03-04"
    assert dates.date(datetime.datetime(2026, 3, 4, 5, 6, 7), "Y-m-d H:i") == "2026-03-04 05:06"
    assert dates.date(datetime.datetime(2026, 3, 4, 5, 6, 7), "Y-m-d H:i:s") == "2026-03-04 05:06:07"
    assert dates.date(datetime.datetime(2026, 3, 4, 15, 6), "H:i") == "15:06"
    assert dates.date(datetime.date(999, 3, 4), "Y-m-d") == "0999-03-04"  # "Y": four digits, as Django
    with pytest.raises(TypeError):  # a date has no time of day (Django's refusal)
        dates.date(datetime.date(2026, 3, 4), "Y-m-d H:i")


def test_every_template_uses_it_and_shows_an_aware_time_in_the_local_zone(settings):
    engine: Any = engines["django"]
    assert engine.engine.template_builtins[-1].filters["date"] is dates.date
    template = Template('{{ at|date:"Y-m-d H:i" }}|{{ day|date:"Y-m-d" }}|{{ at|date:"m-d" }}')
    at = datetime.datetime(2026, 1, 1, 16, 30, tzinfo=UTC)  # 00:30 on the 2nd in Shanghai
    assert settings.TIME_ZONE == "Asia/Shanghai"
    assert template.render(Context({"at": at, "day": datetime.date(2026, 1, 2)})) == "2026-01-02 00:30|2026-01-02|01-02"
    with timezone.override(UTC):
        assert template.render(Context({"at": at, "day": None})) == "2026-01-01 16:30||01-01"
