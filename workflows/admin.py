"""Admin for the lifecycle's records (read only) and the working-day calendar (editable).

Transition logs, escalation requests and deadline extensions are written only by
``workflows.services`` in the same transaction as the state change they record;
here they can be read, never added, edited or deleted.

The holiday calendar is the administrator's to edit (DOMAIN.md §4). Every change to
it moves due dates, so after each save or delete the stored deadline columns of the
open cases are recomputed and the administrator is told how many cases changed.
"""
from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from mediation import permissions
from mediation.admin import ReadOnlyAdminMixin
from mediation.audit.adminlog import AuditedAdmin
from workflows import holiday_import
from workflows.models import CalendarYear, DeadlineExtension, EscalationRequest, HolidayOverride, TransitionLog

WEEKDAYS = (_("星期一"), _("星期二"), _("星期三"), _("星期四"), _("星期五"), _("星期六"), _("星期日"))


class RecomputeDeadlinesMixin(AuditedAdmin, admin.ModelAdmin):
    """After the calendar changes, store every open case's due dates again."""

    def _recompute(self, request: HttpRequest) -> None:
        from mediation.services import deadlines_recompute

        count = deadlines_recompute()
        self.message_user(
            request,
            ngettext("节假日安排已更新，已重新计算 %(count)d 件案件的期限。",
                     "节假日安排已更新，已重新计算 %(count)d 件案件的期限。", count) % {"count": count},
            messages.INFO)

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        self._recompute(request)

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        super().delete_model(request, obj)
        self._recompute(request)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet) -> None:
        super().delete_queryset(request, queryset)
        self._recompute(request)


class ScheduleImportForm(forms.Form):
    """A year's schedule: the State Council notice pasted, or a CSV file (date,is_workday,note)."""

    FORMATS = (("notice", _("国务院办公厅通知全文")), ("csv", _("CSV（日期,是否工作日,说明）")))

    year = forms.IntegerField(label=_("年份"), required=False, min_value=holiday_import.FIRST_YEAR,
                              max_value=holiday_import.LAST_YEAR,
                              help_text=_("可不填：通知标题中写明了年份"))
    format = forms.ChoiceField(label=_("格式"), choices=FORMATS, initial="notice", widget=forms.RadioSelect)
    text = forms.CharField(label=_("内容"), required=False, max_length=20000,
                           widget=forms.Textarea(attrs={"rows": 14, "cols": 90}),
                           help_text=_("粘贴“国务院办公厅关于××年部分节假日安排的通知”全文，或 CSV 文本"))
    upload = forms.FileField(label=_("或上传 CSV 文件"), required=False,
                             help_text=_("每行：日期,是否工作日（1 上班 / 0 放假）,说明；UTF-8 编码"))
    note = forms.CharField(label=_("依据"), required=False, max_length=200,
                           help_text=_("如：国务院办公厅关于2027年部分节假日安排的通知（国办发明电〔2026〕×号）"))

    def clean(self) -> dict[str, Any]:
        data = super().clean() or self.cleaned_data
        upload = data.get("upload")
        if upload:
            if upload.size > 20_000:
                raise forms.ValidationError(_("文件过大：一年的安排不会超过几十行。"))
            try:
                data["text"] = upload.read().decode("utf-8-sig")
            except UnicodeDecodeError:
                raise forms.ValidationError(_("文件不是 UTF-8 编码的文本，请另存为 UTF-8 的 CSV 后再上传。")) from None
            data["format"] = "csv"
        if not (data.get("text") or "").strip():
            raise forms.ValidationError(_("请粘贴通知全文或上传 CSV 文件。"))
        try:
            reader = holiday_import.parse_csv if data.get("format") == "csv" else holiday_import.parse_notice
            data["schedule"] = reader(data["text"], data.get("year"))
        except holiday_import.ScheduleError as exc:
            raise forms.ValidationError([_("未保存任何内容。请改正以下各行后重新提交：")] + exc.problems) from None
        if not data.get("note") and data.get("format") == "notice":
            title = next((line.strip() for line in data["text"].splitlines() if "节假日安排" in line), "")
            data["note"] = title[:200]
        return data


@admin.register(HolidayOverride)
class HolidayOverrideAdmin(RecomputeDeadlinesMixin, admin.ModelAdmin):
    list_display = ("date", "weekday", "is_workday", "note")
    list_filter = ("is_workday",)
    search_fields = ("note",)
    date_hierarchy = "date"
    ordering = ("date",)
    change_list_template = "admin/workflows/holidayoverride/change_list.html"

    @admin.display(description=_("星期"))
    def weekday(self, obj: HolidayOverride) -> str:
        return str(WEEKDAYS[obj.date.weekday()])

    def get_urls(self) -> list[Any]:
        extra = [path("import/", self.admin_site.admin_view(self.import_view),
                      name="workflows_holidayoverride_import")]
        return extra + super().get_urls()

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> Any:
        extra_context = {**(extra_context or {}), "may_import": permissions.may_change_calendar(request.user)}
        return super().changelist_view(request, extra_context)

    def import_view(self, request: HttpRequest) -> HttpResponse:
        """Paste or upload → preview (nothing saved) → confirm (one transaction, audited)."""
        if not permissions.may_change_calendar(request.user):
            raise PermissionDenied
        preview = None
        form = ScheduleImportForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            schedule = form.cleaned_data["schedule"]
            if request.POST.get("edit"):
                pass  # back to the filled-in form
            elif request.POST.get("confirm") == "1":
                done = holiday_import.schedule_save(schedule, actor=request.user, note=form.cleaned_data["note"],
                                                    request=request)
                self.message_user(request, _(
                    "已录入%(year)d年节假日安排：写入 %(written)d 天，删除 %(removed)d 条旧的调整，"
                    "重新计算了 %(recomputed)d 件案件的期限；该年度已标记为已确认。") % {
                    "year": schedule.year, **done}, messages.SUCCESS)
                return redirect("admin:workflows_holidayoverride_changelist")
            else:
                preview = holiday_import.preview(schedule, user=request.user)
        context = {
            **self.admin_site.each_context(request), "opts": self.model._meta, "form": form,
            "preview": preview, "title": _("录入全年节假日安排"),
            "carried": form.cleaned_data if preview else None,
        }
        return TemplateResponse(request, "admin/workflows/holidayoverride/import.html", context)


@admin.register(CalendarYear)
class CalendarYearAdmin(RecomputeDeadlinesMixin, admin.ModelAdmin):
    list_display = ("year", "note")
    ordering = ("year",)


@admin.register(TransitionLog)
class TransitionLogAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("at", "case", "transition", "from_state", "to_state", "from_organisation",
                    "to_organisation", "actor", "imported")
    list_filter = ("transition", "to_state", "imported")
    search_fields = ("case__number",)
    list_select_related = ("case", "from_organisation", "to_organisation", "actor")
    date_hierarchy = "at"
    show_full_result_count = False


@admin.register(EscalationRequest)
class EscalationRequestAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("requested_at", "case", "from_organisation", "to_organisation", "from_state",
                    "requested_by", "decision", "decided_by", "decided_at")
    list_filter = ("decision",)
    search_fields = ("case__number",)
    list_select_related = ("case", "from_organisation", "to_organisation", "requested_by", "decided_by")


@admin.register(DeadlineExtension)
class DeadlineExtensionAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("granted_at", "case", "extra_days", "granted_by")
    search_fields = ("case__number",)
    list_select_related = ("case", "granted_by")
