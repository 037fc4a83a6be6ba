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

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from mediation.admin import ReadOnlyAdminMixin
from mediation.audit.adminlog import AuditedAdmin
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


@admin.register(HolidayOverride)
class HolidayOverrideAdmin(RecomputeDeadlinesMixin, admin.ModelAdmin):
    list_display = ("date", "weekday", "is_workday", "note")
    list_filter = ("is_workday",)
    search_fields = ("note",)
    date_hierarchy = "date"
    ordering = ("date",)

    @admin.display(description=_("星期"))
    def weekday(self, obj: HolidayOverride) -> str:
        return str(WEEKDAYS[obj.date.weekday()])


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
