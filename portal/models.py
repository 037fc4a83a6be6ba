"""What the worker's own pages keep: the private access code of an online application and the
one-time codes sent by SMS. Only hashes of either are stored (docs/portal.md)."""
from __future__ import annotations

from django.conf import settings
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


class RespondentAnswer(models.TextChoices):
    CONSENTED = "consented", _("收到通知，同意调解")
    REFUSED = "refused", _("收到通知，不同意调解")


class RespondentInvitation(models.Model):
    """A link a mediator gives a respondent of a registered case, to confirm receipt of the notice and
    say whether they agree to mediation (docs/portal.md, "Employer acknowledgement").

    Only hashes are kept: of the link's token (SHA-256: it holds 256 random bits) and of the one-time
    code sent to the contact's mobile. A newer invitation for the case supersedes this one; the
    answer is given once and never moves the case by itself.
    """

    case = models.ForeignKey("mediation.Case", on_delete=models.CASCADE, related_name="+", verbose_name=_("案件"))
    party = models.ForeignKey("mediation.CaseParty", on_delete=models.CASCADE, related_name="+",
                              verbose_name=_("被申请人"))
    phone = models.CharField(_("联系人手机号码"), max_length=20)
    token_hash = models.CharField(_("链接令牌（散列）"), max_length=64, unique=True)
    created_at = models.DateTimeField(_("邀请时间"))
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                   verbose_name=_("邀请人"))
    expires_at = models.DateTimeField(_("链接失效时间"))
    superseded_at = models.DateTimeField(_("被新邀请取代时间"), null=True, blank=True)
    code_hash = models.CharField(_("验证码（散列）"), max_length=128, blank=True)
    code_expires_at = models.DateTimeField(_("验证码失效时间"), null=True, blank=True)
    code_attempts = models.PositiveSmallIntegerField(_("验证码已尝试次数"), default=0)
    code_used_at = models.DateTimeField(_("验证码使用时间"), null=True, blank=True)
    answer = models.CharField(_("答复"), max_length=10, choices=RespondentAnswer.choices, blank=True)
    reason = models.CharField(_("不同意调解的理由"), max_length=200, blank=True)
    answered_by = models.CharField(_("经办人"), max_length=50, blank=True)
    answered_at = models.DateTimeField(_("答复时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("被申请人在线确认邀请")
        verbose_name_plural = _("被申请人在线确认邀请")
        indexes = [models.Index(fields=["case", "created_at"])]

    def __str__(self) -> str:
        return f"{self.case_id} · {self.created_at:%Y-%m-%d %H:%M}"
