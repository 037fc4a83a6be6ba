"""What the worker's own pages keep: the private access code of an online application and the
one-time codes sent by SMS. Only hashes of either are stored (docs/portal.md)."""
from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class RoutedBy(models.TextChoices):
    EMPLOYER = "employer", _("按已登记的用人单位")
    CHOSEN = "chosen", _("申请人选择的镇街")
    ADDRESS = "address", _("按单位地址")


class OnlineApplication(models.Model):
    """An application the worker made on the public pages: the case it became and how to follow it.

    The access code is shown once, on the page after submitting; only its hash is kept.
    """

    case = models.OneToOneField("mediation.Case", on_delete=models.CASCADE, related_name="online_application",
                                verbose_name=_("案件"))
    applicant = models.ForeignKey("mediation.CaseParty", on_delete=models.CASCADE, related_name="+",
                                  verbose_name=_("申请人"))
    access_code_hash = models.CharField(_("查询码（散列）"), max_length=128)
    routed_by = models.CharField(_("受理组织的确定方式"), max_length=10, choices=RoutedBy.choices)
    submitted_at = models.DateTimeField(_("提交时间"))

    class Meta:
        verbose_name = _("网上申请")
        verbose_name_plural = _("网上申请")

    def __str__(self) -> str:
        return str(self.case_id)


class DocumentCode(models.Model):
    """A one-time code sent to an applicant's phone on record, to see their case's documents.

    Valid for ``PORTAL_CODE_MINUTES``, at most ``PORTAL_CODE_ATTEMPTS`` wrong tries, used once.
    """

    case = models.ForeignKey("mediation.Case", on_delete=models.CASCADE, related_name="+", verbose_name=_("案件"))
    party = models.ForeignKey("mediation.CaseParty", on_delete=models.CASCADE, related_name="+",
                              verbose_name=_("申请人"))
    code_hash = models.CharField(_("验证码（散列）"), max_length=128)
    created_at = models.DateTimeField(_("发送时间"))
    expires_at = models.DateTimeField(_("失效时间"))
    attempts = models.PositiveSmallIntegerField(_("已尝试次数"), default=0)
    used_at = models.DateTimeField(_("使用时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("文书查阅验证码")
        verbose_name_plural = _("文书查阅验证码")
        indexes = [models.Index(fields=["case", "created_at"])]

    def __str__(self) -> str:
        return f"{self.case_id} · {self.created_at:%Y-%m-%d %H:%M}"
