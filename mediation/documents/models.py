"""The registry of issued documents: what was generated, for which case, by whom, and its SHA-256.

A row is written once and never changed: it records bytes that were handed out
(printed, served on a party, e-mailed), so verification must keep answering for
them. Re-issuing makes a new version; an effective agreement's PDF is frozen and
re-issuing it returns the frozen one (DOMAIN.md §6: once effective it is immutable).
"""
from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from mediation.documents.codes import format_code


class DocumentKind(models.TextChoices):
    """The documents of the flow (DOMAIN.md §7)."""

    APPLICATION_RECORD = "application_record", _("调解申请书")
    ACCEPTANCE_NOTICE = "acceptance_notice", _("受理通知书")
    REJECTION_NOTICE = "rejection_notice", _("不予受理通知书")
    ESCALATION_FORM = "escalation_form", _("提级呈报表")
    SESSION_RECORD = "session_record", _("调解笔录")
    AGREEMENT = "agreement", _("调解协议书")
    TERMINATION_NOTICE = "termination_notice", _("调解终止书")
    FOLLOW_UP_RECORD = "follow_up_record", _("回访记录")
    CLOSURE_APPROVAL = "closure_approval", _("结案审批表")
    CASE_FILE = "case_file", _("卷宗")


class DocumentStage(models.TextChoices):
    """What an agreement's PDF was printed for; the other documents are plain issues (empty)."""

    ISSUED = "", _("正式文书")
    #: A reading copy of a draft, marked 草稿 on every page; never signed, never in force.
    DRAFT = "draft", _("草稿（供审阅）")
    #: The version the parties sign (签署版): blank signature lines; becomes the effective agreement.
    SIGNING = "signing", _("签署版")


class IssuedDocument(models.Model):
    case = models.ForeignKey(
        "mediation.Case", on_delete=models.PROTECT, related_name="issued_documents", verbose_name=_("案件"),
        # PROTECT: the registry outlives any attempt to delete a case; a printed copy must stay checkable.
    )
    kind = models.CharField(_("文书类型"), max_length=30, choices=DocumentKind.choices)
    # What the document is about inside the case: the agreement version, session, escalation
    # request, follow-up or transition it renders; 0 for documents about the case as a whole
    # (0 rather than NULL so that the unique constraints below hold on every database).
    subject_id = models.PositiveBigIntegerField(_("对象编号"), default=0)
    version = models.PositiveIntegerField(_("版本"))
    title = models.CharField(_("标题"), max_length=200)
    file = models.FileField(_("文件"), max_length=255)
    size = models.PositiveBigIntegerField(_("大小（字节）"))
    sha256 = models.CharField(_("SHA-256"), max_length=64, db_index=True)
    verification_code = models.CharField(_("验证码"), max_length=16, unique=True)
    pdf_variant = models.CharField(_("PDF 标准"), max_length=20, blank=True)
    # The organisation named on the document when it was issued (a case may move up later).
    issuer = models.CharField(_("出具单位"), max_length=200, blank=True)
    stage = models.CharField(_("用途"), max_length=10, choices=DocumentStage.choices, blank=True, default="")
    frozen = models.BooleanField(
        _("已冻结"), default=False,
        help_text=_("生效调解协议的文书一经生成即冻结，不再重新生成或替换"))
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                               verbose_name=_("生成人"))
    created_at = models.DateTimeField(_("生成时间"), db_index=True)
    #: Not stored: True when issuing handed back the frozen document issued before.
    reused: bool = False
    #: Not stored: what the document is worth today (``selectors.document_standing``), set for pages.
    standing: Any = None

    class Meta:
        verbose_name = _("已生成文书")
        verbose_name_plural = _("已生成文书")
        ordering = ["case", "-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["case", "kind", "subject_id", "version"],
                                    name="document_version_unique"),
            # At most one frozen PDF per agreement version: two racing issues cannot both freeze.
            models.UniqueConstraint(fields=["case", "kind", "subject_id"], condition=Q(frozen=True),
                                    name="one_frozen_document_per_subject"),
        ]
        indexes = [models.Index(fields=["case", "kind", "subject_id"])]

    def __str__(self) -> str:
        return _("%(title)s · 第%(version)d版（验证码 %(code)s）") % {
            "title": self.title, "version": self.version, "code": self.code_display}

    @property
    def code_display(self) -> str:
        return format_code(self.verification_code)


class SignedCopy(models.Model):
    """The scan of a signed paper original, uploaded against the code printed on it.

    The file itself is a case attachment (kind 签署文本扫描件: same checks, storage and audit as
    any evidence); this row says which registered document it is the signed paper of.
    """

    document = models.ForeignKey(IssuedDocument, on_delete=models.PROTECT, related_name="signed_copies",
                                 verbose_name=_("文书"))
    attachment = models.OneToOneField("mediation.Attachment", on_delete=models.PROTECT, related_name="signed_copy_of",
                                      verbose_name=_("扫描件"))

    class Meta:
        verbose_name = _("签署文本扫描件")
        verbose_name_plural = _("签署文本扫描件")
        ordering = ["document", "pk"]

    def __str__(self) -> str:
        return f"{self.document.code_display} · {self.attachment}"
