"""Forms of the reports pages: they parse the question; the selectors answer it."""
from __future__ import annotations

import datetime
import re
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from mediation.forms import field_of
from mediation.models import Category, Channel, Organisation
from mediation.reports.statistics import StatisticsQuery, add_months, month_start
from workflows.clocks import local_today
from workflows.states import Line

_MONTH = re.compile(r"^\s*(\d{4})\s*[-/年.]\s*(\d{1,2})\s*月?\s*$")
#: The earliest year figures are asked for (historical ledgers go back to the 2000s).
FIRST_YEAR = 2000
#: The longest period one page adds up: three years of months keeps the charts legible.
MAX_MONTHS = 36


class MonthField(forms.Field):
    """A month typed as 2026-03 (what ``<input type=month>`` sends), 2026/3 or 2026年3月."""

    widget = forms.TextInput(attrs={"type": "month", "placeholder": "2026-01"})

    def to_python(self, value: Any) -> datetime.date | None:
        value = "" if value in self.empty_values else str(value).strip()
        if not value:
            return None
        match = _MONTH.match(value)
        if not match or not 1 <= int(match.group(2)) <= 12:
            raise ValidationError(_("请按“2026-01”的格式填写月份。"))
        year, latest = int(match.group(1)), local_today().year + 1
        if not FIRST_YEAR <= year <= latest:
            # Far years would run the month arithmetic past the calendar (year 0, year 10000).
            raise ValidationError(_("月份须在 %(first)d 年至 %(last)d 年之间。")
                                  % {"first": FIRST_YEAR, "last": latest})
        return datetime.date(year, int(match.group(2)), 1)

    def prepare_value(self, value: Any) -> Any:
        return value.strftime("%Y-%m") if isinstance(value, datetime.date) else value


class OrganisationTreeField(forms.ModelChoiceField):
    """An organisation in the user's scope, indented under its parent."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(queryset=Organisation.objects.none(), required=False, empty_label=_("全部"), **kwargs)

    def label_from_instance(self, obj: Organisation) -> str:
        return "　" * max(obj.path.count("/") - 2, 0) + obj.display_name

    @staticmethod
    def limit(form: forms.Form, organisations: QuerySet[Organisation]) -> None:
        field_of(form, "organisation", OrganisationTreeField).queryset = (
            organisations.select_related("level").order_by("path"))


class StatisticsForm(forms.Form):
    first_month = MonthField(label=_("起始月份"), required=False)
    last_month = MonthField(label=_("截止月份"), required=False)
    organisation = OrganisationTreeField(label=_("组织（含下级）"))
    line = forms.TypedChoiceField(label=_("防线"), required=False, coerce=int, empty_value=None,
                                  choices=[("", _("全部")), *Line.choices])
    channel = forms.ChoiceField(label=_("来源渠道"), required=False, choices=[("", _("全部")), *Channel.choices])
    category = forms.ModelChoiceField(label=_("争议类别"), required=False, queryset=Category.objects.all(),
                                      to_field_name="code", empty_label=_("全部"))

    def __init__(self, *args: Any, organisations: QuerySet[Organisation], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        OrganisationTreeField.limit(self, organisations)

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        this_month = month_start(local_today())
        last = data.get("last_month") or this_month
        first = data.get("first_month") or add_months(last, -11)
        if first > last:
            raise ValidationError(_("起始月份不能晚于截止月份。"))
        if add_months(first, MAX_MONTHS - 1) < last:
            raise ValidationError(_("统计期间最长 %(n)d 个月。") % {"n": MAX_MONTHS})
        data["first_month"], data["last_month"] = first, last
        return data

    def to_query(self) -> StatisticsQuery:
        """The question the valid form asks (the last twelve months when it asks nothing)."""
        if not self.is_bound or not self.is_valid():
            return StatisticsQuery.last_twelve_months()
        d = self.cleaned_data
        return StatisticsQuery(first_month=d["first_month"], last_month=d["last_month"],
                               organisation=d["organisation"], line=d["line"], channel=d["channel"] or None,
                               category=d["category"].code if d["category"] else None)


class MonthlyTableForm(forms.Form):
    month = MonthField(label=_("月份"), required=False)
    organisation = OrganisationTreeField(label=_("组织（含下级）"))

    def __init__(self, *args: Any, organisations: QuerySet[Organisation], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        OrganisationTreeField.limit(self, organisations)

    def to_query(self) -> StatisticsQuery:
        month = None
        organisation = None
        if self.is_bound and self.is_valid():
            month = self.cleaned_data["month"]
            organisation = self.cleaned_data["organisation"]
        # The default is last month: the monthly table is filled in after the month ends.
        month = month or add_months(month_start(local_today()), -1)
        return StatisticsQuery(first_month=month, last_month=month, organisation=organisation)


class LedgerImportForm(forms.Form):
    file = forms.FileField(label=_("台账文件（.xlsx）"))
