from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from workflows.clocks import local_today

#: The trail starts with the system; a year outside this range is a typing error (and year
#: 9999 would run the end-of-day arithmetic past the calendar).
FIRST_YEAR = 2000


class AuditSearchForm(forms.Form):
    case = forms.CharField(label=_("案件编号"), required=False, max_length=80)
    user = forms.CharField(label=_("用户名"), required=False, max_length=150)
    date_from = forms.DateField(label=_("起始日期"), required=False,
                                widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(label=_("截止日期"), required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def _in_range(self, name: str):
        value = self.cleaned_data.get(name)
        latest = local_today().year + 1
        if value and not FIRST_YEAR <= value.year <= latest:
            raise forms.ValidationError(_("日期须在 %(first)d 年至 %(last)d 年之间。")
                                        % {"first": FIRST_YEAR, "last": latest})
        return value

    def clean_date_from(self):
        return self._in_range("date_from")

    def clean_date_to(self):
        return self._in_range("date_to")

    def clean(self):
        data = super().clean() or {}
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and start > end:
            raise forms.ValidationError(_("起始日期不能晚于截止日期。"))
        return data
