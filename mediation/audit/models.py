"""The audit trail: one append-only table whose rows are chained by SHA-256 (docs/audit.md)."""
from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

#: The ``prev_hash`` of the first row.
GENESIS = "0" * 64


class AuditEvent(models.Model):
    """One thing that happened: who, when, what, to which object, old and new values, why.

    No foreign keys: a row names the user and the case by id and by text, so it
    outlives both and never cascades. Rows are only ever inserted, by
    :func:`mediation.audit.record`; on PostgreSQL a trigger refuses UPDATE, DELETE
    and TRUNCATE, and ``hash`` chains each row to the one before it.
    """

    at = models.DateTimeField(_("时间"), db_index=True)
    actor_id = models.BigIntegerField(_("用户ID"), null=True, blank=True, db_index=True)
    actor_name = models.CharField(_("用户名"), max_length=150, blank=True, db_index=True)
    action = models.CharField(_("事件"), max_length=60, db_index=True)
    object_type = models.CharField(_("对象类型"), max_length=100, blank=True)
    object_id = models.CharField(_("对象ID"), max_length=64, blank=True)
    case_id = models.BigIntegerField(_("案件ID"), null=True, blank=True, db_index=True)
    case_number = models.CharField(_("案件编号"), max_length=80, blank=True, db_index=True)
    old = models.JSONField(_("原值"), null=True, blank=True)
    new = models.JSONField(_("新值"), null=True, blank=True)
    reason = models.TextField(_("理由"), blank=True)
    request_id = models.CharField(_("请求ID"), max_length=64, blank=True)
    ip = models.CharField(_("IP地址"), max_length=45, blank=True)
    prev_hash = models.CharField(_("前一条的SHA-256"), max_length=64)
    hash = models.CharField(_("SHA-256"), max_length=64, unique=True)

    class Meta:
        verbose_name = _("审计日志")
        verbose_name_plural = _("审计日志")
        ordering = ["pk"]
        permissions = [("read_audit", _("查阅审计日志"))]
        indexes = [models.Index(fields=["case_id", "at"]), models.Index(fields=["actor_id", "at"])]

    def __str__(self) -> str:
        return f"#{self.pk} {self.at:%Y-%m-%d %H:%M:%S} {self.actor_name} {self.action}"
