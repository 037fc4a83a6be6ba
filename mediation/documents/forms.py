from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from mediation.documents.bulk import bulk_kind_choices
from mediation.documents.codes import normalize_code
from mediation.documents.models import DocumentKind, DocumentStage
from workflows.states import CaseState

#: Largest file the public verification page hashes; issued documents are far smaller.
VERIFY_MAX_BYTES = 30 * 1024 * 1024


class IssueForm(forms.Form):
    kind = forms.ChoiceField(label=_("文书类型"), choices=DocumentKind.choices)
    subject_id = forms.IntegerField(label=_("对象编号"), min_value=0, required=False)
    stage = forms.ChoiceField(label=_("用途"), choices=DocumentStage.choices, required=False)

    def clean_subject_id(self) -> int:
        return self.cleaned_data.get("subject_id") or 0


class SignedCopyForm(forms.Form):
    """The scan of a signed paper original (PDF or image), uploaded against the document's code."""

    file = forms.FileField(label=_("签署原件扫描件（PDF 或图片）"))


class CodeForm(forms.Form):
    code = forms.CharField(label=_("验证码"), max_length=40,
                           widget=forms.TextInput(attrs={"autocomplete": "off", "placeholder": "XXXX-XXXX-XXXX-XXXX",
                                                         "spellcheck": "false"}))

    def clean_code(self) -> str:
        code = normalize_code(self.cleaned_data["code"])
        if code is None:
            raise forms.ValidationError(_("验证码应为16位字母或数字（可含连字符），请核对。"))
        return code


class FileCheckForm(forms.Form):
    file = forms.FileField(label=_("待核验的 PDF 文件"))

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > VERIFY_MAX_BYTES:
            raise forms.ValidationError(_("文件过大：核验文件不能超过 30 MB。"))
        return upload


class ExportForm(forms.Form):
    state = forms.ChoiceField(label=_("状态"), required=False, choices=[("", _("全部"))] + list(CaseState.choices))
    received_from = forms.DateField(label=_("收案日期自"), required=False,
                                    widget=forms.DateInput(attrs={"type": "date"}))
    received_to = forms.DateField(label=_("收案日期至"), required=False,
                                  widget=forms.DateInput(attrs={"type": "date"}))


class BulkIssueForm(ExportForm):
    """批量生成文书: a kind issued once per case, for the cases the export's filters pick."""

    kind = forms.ChoiceField(label=_("文书类型"), choices=bulk_kind_choices)

    field_order = ["kind", "state", "received_from", "received_to"]

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("prefix", "bulk")
        super().__init__(*args, **kwargs)
        kinds = "、".join(label for _value, label in bulk_kind_choices())
        self.fields["kind"].error_messages["invalid_choice"] = (
            _("该文书类型不能批量生成：只能选择每案一份的文书（%(kinds)s）。") % {"kinds": kinds})
