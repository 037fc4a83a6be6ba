from __future__ import annotations

import re
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from notifications.models import NotificationPreference


class PreferenceForm(forms.ModelForm):
    class Meta:
        model = NotificationPreference
        fields = ["by_email", "by_sms", "mobile", "digest"]

    def clean_mobile(self) -> str:
        mobile = re.sub(r"[\s-]", "", self.cleaned_data.get("mobile", ""))
        if mobile and not re.fullmatch(r"\+?\d{6,15}", mobile):
            raise forms.ValidationError(_("请填写有效的手机号码。"))
        return mobile

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("by_sms") and not data.get("mobile"):
            self.add_error("mobile", _("选择短信提醒时须填写手机号码。"))
        return data
