from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _


class TokenForm(forms.Form):
    token = forms.CharField(
        label=_("验证码"), max_length=16, strip=True,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "text", "autofocus": True}),
        help_text=_("身份验证器中的6位数字，或一个恢复码。"))

    def clean_token(self) -> str:
        return "".join(self.cleaned_data["token"].split()).lower()


class SetupForm(forms.Form):
    token = forms.CharField(
        label=_("验证码"), max_length=6, min_length=6, strip=True,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}),
        help_text=_("扫描二维码后，身份验证器显示的6位数字。"))

    def clean_token(self) -> str:
        token = self.cleaned_data["token"]
        if not token.isdigit():
            raise forms.ValidationError(_("请输入6位数字。"))
        return token
