"""The mediation agreement (调解协议书, DOMAIN.md §6) and its versions."""
from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from .cases import AMOUNT


class Agreement(models.Model):
    """One version of the agreement. Once effective it never changes; a correction is a new version."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("草稿")
        EFFECTIVE = "effective", _("已生效")
        SUPERSEDED = "superseded", _("已被更正版本取代")

    case = models.ForeignKey("mediation.Case", on_delete=models.CASCADE, related_name="agreements",
                             verbose_name=_("案件"))
    version = models.PositiveSmallIntegerField(_("版本"), default=1)
    supersedes = models.OneToOneField("self", on_delete=models.PROTECT, null=True, blank=True,
                                      related_name="superseded_by", verbose_name=_("更正前版本"))
    status = models.CharField(_("状态"), max_length=12, choices=Status.choices, default=Status.DRAFT)
    dispute_summary = models.TextField(_("争议事项"))
    claims_summary = models.TextField(_("当事人请求"), blank=True)
    waived = models.TextField(_("放弃的权利"), blank=True)
    copies = models.PositiveSmallIntegerField(_("份数"), default=3,
                                              help_text=_("双方当事人各执一份，调解组织留存一份"))
    effective_on = models.DateField(_("生效日期"), null=True, blank=True)
    drafted_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                   verbose_name=_("起草人"))
    drafted_at = models.DateTimeField(_("起草时间"), auto_now_add=True)
    #: When the wording last changed (a rewrite of the draft). A version printed for signing binds only
    #: if the draft did not change between reading it and registering the print.
    updated_at = models.DateTimeField(_("修改时间"), auto_now=True)
    #: The registered PDF the parties sign (签署版): printed with blank signature lines, the same bytes for
    #: every original. When the last signature is recorded this very document is the effective agreement,
    #: so its verification code answers for the signed paper. Rewriting the draft unbinds it (the print is void).
    signing_document = models.OneToOneField(
        "documents.IssuedDocument", on_delete=models.PROTECT, null=True, blank=True, related_name="signing_of",
        verbose_name=_("签署版文书"))

    class Meta:
        verbose_name = _("调解协议")
        verbose_name_plural = _("调解协议")
        ordering = ["case", "version"]
        constraints = [
            models.UniqueConstraint(fields=["case", "version"], name="agreement_version_unique"),
            models.UniqueConstraint(fields=["case"], condition=models.Q(status="effective"),
                                    name="one_effective_agreement_per_case"),
        ]

    def __str__(self) -> str:
        return f"{self.case} v{self.version}"

    @property
    def total_amount(self) -> Decimal:
        return sum((i.amount for i in self.instalments.all()), Decimal("0"))

    @property
    def paid_amount(self) -> Decimal:
        return sum((i.paid_amount or Decimal("0") for i in self.instalments.all()), Decimal("0"))

    def is_fully_paid(self) -> bool:
        instalments = list(self.instalments.all())
        return all(i.paid_on and (i.paid_amount or 0) >= i.amount for i in instalments)


class AgreementTerm(models.Model):
    agreement = models.ForeignKey(Agreement, on_delete=models.CASCADE, related_name="terms")
    number = models.PositiveSmallIntegerField(_("条款序号"))
    text = models.TextField(_("条款内容"))

    class Meta:
        verbose_name = _("协议条款")
        verbose_name_plural = _("协议条款")
        ordering = ["number"]
        constraints = [models.UniqueConstraint(fields=["agreement", "number"], name="term_number_unique")]

    def __str__(self) -> str:
        return f"{self.number}. {self.text[:40]}"



class Instalment(models.Model):
    class Method(models.TextChoices):
        BANK = "bank", _("银行转账")
        CASH = "cash", _("现金")
        OTHER = "other", _("其他")

    agreement = models.ForeignKey(Agreement, on_delete=models.CASCADE, related_name="instalments")
    number = models.PositiveSmallIntegerField(_("期数"))
    amount = models.DecimalField(_("金额（元）"), validators=[MinValueValidator(Decimal("0.01"))], **AMOUNT)
    due_on = models.DateField(_("履行期限"))
    method = models.CharField(_("支付方式"), max_length=10, choices=Method.choices, default=Method.BANK)
    paid_on = models.DateField(_("实际履行日期"), null=True, blank=True)
    paid_amount = models.DecimalField(_("实际履行金额"), null=True, blank=True,
                                      validators=[MinValueValidator(Decimal("0"))], **AMOUNT)
    #: Why a payment differs from what the instalment asked (more than outstanding, a correction …).
    payment_note = models.CharField(_("履行说明"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("分期履行")
        verbose_name_plural = _("分期履行")
        ordering = ["number"]
        constraints = [
            models.UniqueConstraint(fields=["agreement", "number"], name="instalment_number_unique"),
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="instalment_amount_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.number}: {self.amount} / {self.due_on}"

    @property
    def outstanding(self) -> Decimal:
        """What is still owed on this instalment (never below zero): a part payment leaves the rest."""
        return max(self.amount - (self.paid_amount or Decimal("0")), Decimal("0"))



class Signature(models.Model):
    """A signature or seal on the agreement, as recorded by the mediator from the paper original."""

    class Kind(models.TextChoices):
        PARTY = "party", _("当事人签字或盖章")
        MEDIATOR = "mediator", _("调解员签字")
        SEAL = "seal", _("调解组织盖章")

    agreement = models.ForeignKey(Agreement, on_delete=models.CASCADE, related_name="signatures")
    kind = models.CharField(_("类型"), max_length=10, choices=Kind.choices)
    party = models.ForeignKey("mediation.CaseParty", on_delete=models.PROTECT, null=True, blank=True,
                              related_name="+", verbose_name=_("当事人"))
    signer_name = models.CharField(_("签署人"), max_length=100)
    signed_on = models.DateField(_("签署日期"))
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("签字盖章")
        verbose_name_plural = _("签字盖章")
        ordering = ["signed_on", "pk"]

    def __str__(self) -> str:
        return f"{self.signer_name} {self.signed_on}"
