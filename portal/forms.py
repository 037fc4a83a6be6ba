"""The public pages' forms: what the worker types, nothing more. The rules of an application are
``registration_check``'s (through ``portal.services.application_submit``), not these forms'."""
from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from mediation.models import Category, Organisation, Sex
from mediation.services.registration import ClaimInput
from portal import routing
from portal.services import Application

CLAIM_ROWS = 3


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files; each is judged by the attachments' own check (``attachment_inspect``)."""

    widget = MultipleFileInput

    def clean(self, data: Any, initial: Any = None) -> list[Any]:
        if not data:
            return []
        return list(data) if isinstance(data, list | tuple) else [data]


class TownshipField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Organisation) -> str:
        return obj.name


class ApplyForm(forms.Form):
    name = forms.CharField(label=_("姓名"), max_length=50)
    id_number = forms.CharField(label=_("公民身份号码"), max_length=20,
                                widget=forms.TextInput(attrs={"autocomplete": "off", "inputmode": "text"}))
    phone = forms.CharField(label=_("手机号码"), max_length=20, help_text=_("查阅文书的验证码将发送到该号码"),
                            widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "tel"}))
    sex = forms.ChoiceField(label=_("性别"), choices=Sex.choices, widget=forms.RadioSelect)
    employer_name = forms.CharField(label=_("用人单位名称"), max_length=200)
    credit_code = forms.CharField(label=_("统一社会信用代码"), max_length=20, required=False,
                                  help_text=_("不清楚可以不填"))
    employer_address = forms.CharField(label=_("用人单位地址"), max_length=200, required=False)
    township = TownshipField(label=_("受理的镇街"), queryset=Organisation.objects.none(), required=False,
                                      empty_label=_("由系统根据单位信息确定"),
                                      help_text=_("已登记的用人单位按其所属镇街受理"))
    categories = forms.MultipleChoiceField(label=_("争议类别"), required=False,
                                           widget=forms.CheckboxSelectMultiple)
    dispute_summary = forms.CharField(label=_("争议事项"), max_length=4000,
                                      widget=forms.Textarea(attrs={"rows": 4}),
                                      help_text=_("请简要说明发生了什么，例如拖欠工资的月份"))
    evidence = MultipleFileField(label=_("证据材料"), required=False,
                               help_text=_("可选多个文件：PDF、图片或 Office 文档，每个不超过规定大小"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        township = self.fields["township"]
        assert isinstance(township, TownshipField)
        township.queryset = routing.townships()
        categories = self.fields["categories"]
        assert isinstance(categories, forms.MultipleChoiceField)
        categories.choices = [(c.code, c.name) for c in Category.objects.all()]
        for i in range(CLAIM_ROWS):
            self.fields[f"claim_{i}_description"] = forms.CharField(
                label=_("请求事项"), max_length=200, required=False, help_text=_("例如：支付拖欠工资"))
            self.fields[f"claim_{i}_amount"] = forms.CharField(
                label=_("金额（元）"), max_length=20, required=False,
                widget=forms.TextInput(attrs={"inputmode": "decimal"}))

    def claim_rows(self) -> list[tuple[forms.BoundField, forms.BoundField]]:
        return [(self[f"claim_{i}_description"], self[f"claim_{i}_amount"]) for i in range(CLAIM_ROWS)]

    def application(self) -> tuple[Application, dict[str, str]]:
        """The application, and where each error key of the registration rules shows on this form."""
        d = self.cleaned_data
        claims: list[ClaimInput] = []
        where: dict[str, str] = {
            "applicants-0-name": "name", "applicants-0-id_number": "id_number", "applicants-0-phone": "phone",
            "applicants-0-sex": "sex", "employer_name": "employer_name", "employer_credit_code": "credit_code",
            "employer_address": "employer_address", "organisation": "township", "applicants": "name"}
        for i in range(CLAIM_ROWS):
            description, amount = d.get(f"claim_{i}_description", ""), d.get(f"claim_{i}_amount", "")
            if description or amount:
                n = len(claims)
                where[f"claims-{n}-description"] = f"claim_{i}_description"
                where[f"claims-{n}-amount"] = f"claim_{i}_amount"
                claims.append(ClaimInput(description=description, amount=amount or "0"))
        return Application(
            name=d["name"], id_number=d["id_number"], phone=d["phone"], sex=d["sex"],
            employer_name=d["employer_name"], credit_code=d.get("credit_code", ""),
            employer_address=d.get("employer_address", ""), dispute_summary=d["dispute_summary"],
            claims=claims, categories=d.get("categories") or [], township=d.get("township"),
            evidence=d.get("evidence") or []), where

    def add_service_errors(self, errors: dict[str, list[str]], where: dict[str, str]) -> None:
        for key, messages in errors.items():
            name = where.get(key, key)
            for message in messages:
                self.add_error(name if name in self.fields else None, message)


class FollowForm(forms.Form):
    number = forms.CharField(label=_("案号"), max_length=60)
    access_code = forms.CharField(label=_("查询码"), max_length=40,
                                  widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "characters"}))


class DocumentsForm(forms.Form):
    number = forms.CharField(label=_("案号"), max_length=60)
    id_number = forms.CharField(label=_("公民身份号码"), max_length=20,
                                widget=forms.TextInput(attrs={"autocomplete": "off"}))


class CodeForm(forms.Form):
    code = forms.CharField(label=_("短信验证码"), max_length=10,
                           widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}))
