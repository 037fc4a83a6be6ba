"""Spreadsheet cells to values and back: what Excel and people put in a ledger, read the way the ledger means it.

The form fields at the end give each column its reading; a cell that cannot be read
is refused by the field, in words naming what was expected.
"""
from __future__ import annotations

import datetime
import re
import string
from decimal import Decimal
from typing import Any, Callable, Iterable

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy

from mediation.services import parse_amount
from workflows.clocks import CHINA_TZ


def local_minute(value: datetime.datetime | None) -> datetime.datetime | None:
    """Naive China time to the minute: Excel has no time zones, and the ledger no seconds."""
    if value is None:
        return None
    return timezone.localtime(value, CHINA_TZ).replace(tzinfo=None, second=0, microsecond=0)


def text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


_DATETIME_FORMATS = ("%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S", "%Y/%m/%d %H:%M", "%Y/%m/%d %H:%M:%S", "%Y-%m-%dT%H:%M")
_DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y年%m月%d日")


def to_datetime(value: Any) -> datetime.datetime | None:
    """A China-time moment from a cell: an Excel date (rounded to the minute) or text."""
    if value in (None, ""):
        return None
    if isinstance(value, datetime.datetime):
        # Excel stores times as fractions of a day: 09:30 may come back as 09:29:59.999.
        value = (value + datetime.timedelta(seconds=30)).replace(second=0, microsecond=0)
        return value.replace(tzinfo=CHINA_TZ) if timezone.is_naive(value) else value
    if isinstance(value, datetime.date):
        return datetime.datetime.combine(value, datetime.time.min, tzinfo=CHINA_TZ)
    for fmt in _DATETIME_FORMATS:
        try:
            return datetime.datetime.strptime(text(value), fmt).replace(tzinfo=CHINA_TZ)
        except ValueError:
            pass
    day = to_date(value)  # a date without a time: its start
    return datetime.datetime.combine(day, datetime.time.min, tzinfo=CHINA_TZ) if day else None


def to_date(value: Any) -> datetime.date | None:
    if value in (None, ""):
        return None
    if isinstance(value, datetime.datetime):
        return (value + datetime.timedelta(seconds=30)).date()
    if isinstance(value, datetime.date):
        return value
    for fmt in _DATE_FORMATS:
        try:
            return datetime.datetime.strptime(text(value), fmt).date()
        except ValueError:
            pass
    raise ValueError(value)


def to_amount(value: Any) -> Decimal | None:
    if value in (None, ""):
        return None
    if isinstance(value, float):
        # Excel keeps numbers as binary floats: 1234.56 may read back as 1234.5600000000002.
        exact = Decimal(str(value))
        cents = exact.quantize(Decimal("0.01"))
        return parse_amount(cents if abs(exact - cents) < Decimal("0.000001") else exact)
    return parse_amount(text(value).replace("元", "").replace("¥", "").replace("￥", ""))


def _names(code: Any, label: Any) -> tuple[str, str, str]:
    """What a cell may say for a choice: its code, its Chinese label, its label in the reader's language."""
    with translation.override("zh-hans"):
        chinese = str(label)
    return str(code), chinese, str(label)


def choice(value: str, choices: Iterable[tuple[Any, Any]]) -> str | None:
    """The machine value whose label (in Chinese or the current language) or code is ``value``."""
    return next((code for code, label in choices if value in _names(code, label)), None)


def split(value: str, pattern: str = r"[、,，;；\n]+") -> list[str]:
    return [v.strip() for v in re.split(pattern, value) if v.strip()]


def split_items(value: str) -> list[str]:
    """Structured items (claims, instalments, follow-ups, further respondents) are separated by semicolons
    or lines."""
    return split(value, r"[;；\n]+")


def to_count(value: Any) -> int | None:
    """A number of people: a whole number, or empty."""
    if value in (None, ""):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    if isinstance(value, str) and value.strip().removesuffix("人").isdigit() and int(value.strip().removesuffix("人")):
        return int(value.strip().removesuffix("人"))
    raise ValueError(value)


def number_pattern(prefix: str) -> re.Pattern[str]:
    """A regular expression for ``settings.CASE_NUMBER_FORMAT`` with this prefix."""
    parts = []
    for literal, name, _spec, _conv in string.Formatter().parse(settings.CASE_NUMBER_FORMAT):
        parts.append(re.escape(literal))
        if name == "prefix":
            parts.append(re.escape(prefix))
        elif name == "year":
            parts.append(r"(?P<year>\d{4})")
        elif name == "seq":
            parts.append(r"(?P<seq>\d+)")
    return re.compile("^" + "".join(parts) + "$")


CLAIM = re.compile(r"^(?P<desc>.+?)\s*[：:]\s*(?P<amount>[\d,，.]+)\s*元?$")
INSTALMENT = re.compile(
    r"^第\s*(?P<n>\d+)\s*期\s*(?P<amount>[\d,.]+)\s*元\s*(?P<due>\d{4}-\d{1,2}-\d{1,2})\s*前\s*"
    r"(?:(?P<unpaid>未履行)|已于\s*(?P<paid_on>\d{4}-\d{1,2}-\d{1,2})\s*履行\s*(?P<paid>[\d,.]+)\s*元)$")
#: A further respondent: “名称（身份，统一社会信用代码）” or “名称（身份）”; a name may hold brackets
#: itself (“宁波某某（集团）有限公司”): the last bracketed part is the capacity and code.
RESPONDENT = re.compile(r"^(?P<name>.+?)\s*[（(]\s*(?P<capacity>[^（）()，,]+?)\s*"
                        r"(?:[，,]\s*(?P<code>[^（）()，,]*?)\s*)?[）)]$")
FOLLOW_UP = re.compile(r"^(?P<on>\d{4}-\d{1,2}-\d{1,2})\s*(?P<method>\S+?)\s*(?P<satisfied>满意|不满意)?$")


# ------------------------------------------------------------------------ form fields

class Cell(forms.Field):
    """A cell as it came from openpyxl (text, number, date …) read by ``read``; empty cells are allowed.

    A cell ``read`` cannot read is refused with ``invalid``, or with the reader's own words.
    """

    def __init__(self, read: Callable[[Any], Any] = text, invalid: Any = None) -> None:
        super().__init__(required=False)
        self.read, self.invalid = read, invalid

    def to_python(self, value: Any) -> Any:
        try:
            return self.read(value)
        except (ValueError, ValidationError) as exc:
            said = exc.messages[0] if isinstance(exc, ValidationError) else str(exc)
            raise ValidationError(self.invalid or said) from None


def to_bool(value: Any) -> bool:
    value = text(value).lower()
    if value in ("", "否", "无", "n", "no", "false", "0", "未建"):
        return False
    if value in ("是", "有", "y", "yes", "true", "1", "已建"):
        return True
    raise ValueError(value)


def raw(value: Any) -> Any:
    """The cell as Excel typed it (an ID number stored as a number has lost digits)."""
    return value


MOMENT = gettext_lazy("时间格式不正确，应为“2025-03-01 09:30”。")
DAY = gettext_lazy("日期格式不正确，应为“2025-03-01”。")
YES_NO = gettext_lazy("请填写“是”或“否”。")


class ChoiceCell(Cell):
    """A label (or code) of ``choices``; ``invalid`` may name the value (``v``) and the labels (``all``)."""

    def __init__(self, choices: Any, invalid: Any, *, must: bool = False, joiner: str = "、",
                 former: dict[str, str] | None = None) -> None:
        super().__init__(invalid=invalid)
        self.choices, self.must, self.joiner = choices, must, joiner
        self.former = former or {}  # labels older files use, read as the choice they named
        self.aliases: dict[str | None, dict[str, Any]] = {}  # shared by the forms' copies of the field

    def to_python(self, value: Any) -> str:
        value = text(value)
        if not value and not self.must:
            return ""
        # ``choice`` translates every label on each call: a third of a large import's time, so once per language.
        language = translation.get_language()
        if language not in self.aliases:
            self.aliases[language] = dict(self.former)
            for code, label in reversed(self.choices):  # the first choice wins, as in ``choice``
                self.aliases[language].update(dict.fromkeys(_names(code, label), code))
        code = self.aliases[language].get(value)
        if code is None:
            raise self.refusal(value)
        return code

    def refusal(self, value: str) -> ValidationError:
        labels = self.joiner.join(str(label) for _c, label in self.choices)
        return ValidationError(str(self.invalid) % {"v": value, "all": labels})
