"""Records of the lifecycle: transitions, escalations, extensions, and the calendar."""
from __future__ import annotations

import datetime
import functools
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from workflows.states import CaseState


class TransitionLog(models.Model):
    """One row for every state change, written in the same transaction as the change."""

    # No index of its own: the (case, at) index below serves every lookup by case.
    case = models.ForeignKey("mediation.Case", on_delete=models.PROTECT, related_name="transitions",
                             verbose_name=_("案件"), db_index=False)
    transition = models.CharField(_("操作"), max_length=40)
    from_state = models.CharField(_("原状态"), max_length=30, choices=CaseState.choices)
    to_state = models.CharField(_("新状态"), max_length=30, choices=CaseState.choices)
    from_organisation = models.ForeignKey("mediation.Organisation", on_delete=models.PROTECT,
                                          related_name="+", null=True, blank=True,
                                          verbose_name=_("原承办组织"))
    to_organisation = models.ForeignKey("mediation.Organisation", on_delete=models.PROTECT,
                                        related_name="+", null=True, blank=True,
                                        verbose_name=_("现承办组织"))
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True,
                              related_name="+", verbose_name=_("操作人"))
    at = models.DateTimeField(_("时间"), auto_now_add=True, db_index=True)
    reason = models.TextField(_("理由"), blank=True)
    imported = models.BooleanField(_("历史导入"), default=False)

    class Meta:
        verbose_name = _("状态变更记录")
        verbose_name_plural = _("状态变更记录")
        ordering = ["at", "pk"]
        indexes = [models.Index(fields=["case", "at"])]

    def __str__(self) -> str:
        return f"{self.case_id}: {self.from_state} → {self.to_state}"

    @classmethod
    def build(cls, *, case: Any, transition: str, from_state: str, to_state: str, from_organisation_id: int | None,
              to_organisation_id: int | None, actor_id: int | None, reason: Any = "",
              at: datetime.datetime | None = None, imported: bool = False) -> TransitionLog:
        """The one way to make a history row, unsaved: ``perform()`` saves it, bulk paths bulk-create many.

        Every row names the move, both states, both organisations, who, why and when,
        and the move is an edge of the lifecycle graph, so no path (generated data, a
        historical import) can record a history the machine could not have made. ``at``
        is now unless the move happened earlier; the field is ``auto_now_add``, so a bulk
        path that keeps a historical moment must set it again after the insert (or switch
        the stamping off while it writes).
        """
        if (transition, from_state, to_state) not in _lifecycle_edges():
            raise ValueError(f"not a move of the lifecycle: {transition} {from_state} -> {to_state}")
        return cls(case=case, transition=transition, from_state=from_state, to_state=to_state,
                   from_organisation_id=from_organisation_id, to_organisation_id=to_organisation_id,
                   actor_id=actor_id, reason=str(reason or "").strip(), at=at or timezone.now(), imported=imported)


@functools.cache
def _lifecycle_edges() -> frozenset[tuple[str, str, str]]:
    from workflows.machine import graph  # the graph reads the machine, which is mixed into the case model

    return frozenset((name, source, target) for name, source, targets in graph() for target in targets)


class EscalationRequest(models.Model):
    class Decision(models.TextChoices):
        PENDING = "pending", _("待审批")
        APPROVED = "approved", _("已批准")
        DENIED = "denied", _("未批准")
        CANCELLED = "cancelled", _("已撤销")

    case = models.ForeignKey("mediation.Case", on_delete=models.PROTECT, related_name="escalations",
                             verbose_name=_("案件"))
    from_organisation = models.ForeignKey("mediation.Organisation", on_delete=models.PROTECT,
                                          related_name="escalations_out", verbose_name=_("呈报组织"))
    to_organisation = models.ForeignKey("mediation.Organisation", on_delete=models.PROTECT,
                                        related_name="escalations_in", verbose_name=_("上报至"))
    from_state = models.CharField(_("提级前状态"), max_length=30, choices=CaseState.choices)
    reason = models.TextField(_("提级理由"))
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                     related_name="+", verbose_name=_("申请人"))
    requested_at = models.DateTimeField(_("申请时间"), auto_now_add=True)
    decision = models.CharField(_("审批结果"), max_length=12, choices=Decision.choices,
                                default=Decision.PENDING, db_index=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True,
                                   blank=True, related_name="+", verbose_name=_("审批人"))
    decided_at = models.DateTimeField(_("审批时间"), null=True, blank=True)
    decision_reason = models.TextField(_("审批意见"), blank=True)

    class Meta:
        verbose_name = _("提级呈报")
        verbose_name_plural = _("提级呈报")
        ordering = ["-requested_at", "-pk"]
        constraints = [
            # At most one open request per case: a second one would race the first.
            models.UniqueConstraint(fields=["case"], condition=Q(decision="pending"),
                                    name="one_pending_escalation_per_case"),
        ]
        # The queue and the home page read the pending requests by date, a page at a time.
        indexes = [models.Index(fields=["requested_at"], condition=Q(decision="pending"),
                                name="escalation_pending_at"),
                   # The cases waiting for a decision by an organisation's supervisors: part of what
                   # they may read (permissions.visible_cases_beyond_scope_q), so part of every list;
                   # with where each came from, so that those beyond the supervisor's own reach (the
                   # figures of every page's frame) are found in the index alone.
                   models.Index(fields=["to_organisation"], include=["case", "from_organisation"],
                                condition=Q(decision="pending"), name="escalation_pending_to_from")]

    def __str__(self) -> str:
        return f"{self.case} → {self.to_organisation}"


class DeadlineExtension(models.Model):
    """An extension of the mediation period, which needs both parties' consent (人社部令第17号)."""

    case = models.ForeignKey("mediation.Case", on_delete=models.PROTECT, related_name="extensions",
                             verbose_name=_("案件"))
    extra_days = models.PositiveSmallIntegerField(_("延长天数"))
    consent_note = models.TextField(_("双方同意情况"),
                                    help_text=_("记录双方当事人同意延长的方式、时间及签字情况"))
    granted_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                   related_name="+", verbose_name=_("批准人"))
    granted_at = models.DateTimeField(_("批准时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("调解期限延长")
        verbose_name_plural = _("调解期限延长")
        ordering = ["granted_at"]

    def __str__(self) -> str:
        return f"{self.case_id} +{self.extra_days}"



class HolidayOverride(models.Model):
    """An administrator's correction to the holiday schedule for one date.

    It wins over the bundled schedule, so a newly published year (or a local
    change) can be entered before the library that knows it is upgraded.
    """

    date = models.DateField(_("日期"), unique=True)
    is_workday = models.BooleanField(_("是否工作日"),
                                     help_text=_("勾选：这一天上班（含调休上班的周末）；不勾选：这一天放假"))
    note = models.CharField(_("说明"), max_length=100, blank=True)

    class Meta:
        verbose_name = _("节假日调整")
        verbose_name_plural = _("节假日调整")
        ordering = ["date"]

    def __str__(self) -> str:
        label = _("上班") if self.is_workday else _("放假")
        return f"{self.date} {label}"


class CalendarYear(models.Model):
    """A year whose whole schedule an administrator has entered as overrides.

    Deadlines falling in such a year count as confirmed even when the bundled
    schedule does not know the year yet.
    """

    year = models.PositiveSmallIntegerField(_("年份"), unique=True)
    note = models.CharField(_("依据"), max_length=200, blank=True,
                            help_text=_("如：国务院办公厅关于该年部分节假日安排的通知"))

    class Meta:
        verbose_name = _("已确认的节假日年份")
        verbose_name_plural = _("已确认的节假日年份")
        ordering = ["year"]

    def __str__(self) -> str:
        return str(self.year)
