"""Issuing documents: check the actor, read the facts, render outside any transaction, register.

``document_issue`` is the one way a document comes into being (the web button,
the export, the commands all use it or its two halves ``document_prepare`` and
``registry.register``). The case itself is never written: a failed render leaves
the case exactly as it was, no registry row and no file in storage.
"""
from __future__ import annotations

import hashlib
import logging
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.storage import default_storage
from django.db import transaction
from django.http import Http404
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from mediation import permissions
from mediation.audit import log as audit
from mediation.documents import registry
from mediation.documents.codes import format_code, new_code
from mediation.documents.context import Prepared, Stamp, find_subject, prepare
from mediation.documents.glyphs import check_context
from mediation.documents.models import DocumentKind, DocumentStage, IssuedDocument, SignedCopy
from mediation.documents.render import render_pdf
from mediation.models import Agreement, Attachment, Case
from mediation.typing import User
from workflows.errors import ActionNotAllowed

logger = logging.getLogger(__name__)

#: Used when no request tells us the address the public reaches the site at (commands, exports).
DEFAULT_PUBLIC_URL = "http://127.0.0.1:8000"


def public_base_url(base_url: str | None = None) -> str:
    """Where the verification page is reached from outside; printed in the QR code.

    ``settings.DOCUMENTS_PUBLIC_URL`` (e.g. https://tiaojie.example.gov.cn) wins over
    the address of the request that issued the document, so that QR codes keep
    working when staff issue documents from an intranet address.
    """
    configured = getattr(settings, "DOCUMENTS_PUBLIC_URL", "")
    return (configured or base_url or DEFAULT_PUBLIC_URL).rstrip("/")


def verify_url(code: str, base_url: str | None = None) -> str:
    return public_base_url(base_url) + reverse("documents:verify_code", args=[format_code(code)])


# --- who may do what ------------------------------------------------------------------------

def may_issue(user: User, case: Case, *, scope_checked: bool = False) -> bool:
    """Issuing is working the case: its mediators and supervisors in scope (DOMAIN.md §5).

    ``scope_checked``: the case was read through ``case_get_for_user`` for this user, which
    already asked ``may_view_case``'s question."""
    return (scope_checked or permissions.may_view_case(user, case)) and permissions.user_may(user, "work", case)


def may_download(user: User, case: Case, *, scope_checked: bool = False) -> bool:
    """Issued documents carry full identity numbers: only those who may see them download.

    Readers without that permission (auditors, administrators, former mediators)
    see the registry (type, date, SHA-256, code) and can verify copies, but do not
    get the files. See docs/documents.md, "Who may download". ``scope_checked``: as for ``may_issue``.
    """
    return ((scope_checked or permissions.may_view_case(user, case))
            and permissions.may_see_personal_data(user, case))


class StoredDocumentAltered(Exception):
    """The stored file no longer has the registered SHA-256: it is never handed out as the document."""

    def __init__(self, document: IssuedDocument) -> None:
        super().__init__(document.pk)
        self.document = document


def document_download(*, user: User, document_id: int, case_id: int | None = None) -> tuple[IssuedDocument, bytes]:
    """The registered bytes of one document for ``user``: the web download and the API's.

    Scope first (``Http404`` outside it, as for the case itself; also when ``case_id`` is given and the
    document is not that case's), then the personal-data rule (``PermissionDenied`` with the reason,
    ``may_download``). Bytes missing from storage: ``Http404``; bytes that no longer match the
    registered SHA-256: ``StoredDocumentAltered`` (logged by identifiers and hashes only). What is
    handed out goes on the audit trail (``document.download``).
    """
    from mediation.selectors import case_get_for_user

    found = IssuedDocument.objects.filter(pk=document_id).only("case_id").first()
    if found is None or (case_id is not None and found.case_id != case_id):
        raise Http404
    case = case_get_for_user(user=user, case_id=found.case_id, purpose=f"document:{document_id}")
    if not may_download(user, case, scope_checked=True):
        raise PermissionDenied(_("文书载有当事人完整的身份证号码等个人信息，仅承办本案的调解员和负责人可以下载。"
                                 "您可以在案件页面查看文书登记信息，或凭验证码核验文书。"))
    document = IssuedDocument.objects.select_related("case").get(pk=document_id)
    data = registry.stored_bytes(document)
    if data is None:
        raise Http404
    if (actual := hashlib.sha256(data).hexdigest()) != document.sha256:
        # Never hand out altered bytes as the registered document: a server fault that operators must see.
        # Logged by identifiers and hashes only (the storage name is random): nothing about the parties.
        logger.error("issued document %s (case %s, kind %s, version %s) failed its SHA-256 check in storage: "
                     "registered %s, stored %s (%d bytes) at %s", document.pk, document.case_id, document.kind,
                     document.version, document.sha256, actual, len(data), document.file.name)
        raise StoredDocumentAltered(document)
    audit.record(actor=user, action="document.download", obj=document, case=case)
    return document, data


def download_filename(document: IssuedDocument) -> str:
    """The name a downloaded document is offered under."""
    return f"{document.case.number}-{document.title}-v{document.version}.pdf"


def _require_issue(actor: User, case: Case) -> None:
    if not permissions.may_view_case(actor, case):
        raise PermissionDenied(_("您无权查看该案件。"))
    if not permissions.user_may(actor, "work", case):
        raise PermissionDenied(_("只有承办组织的调解员或负责人可以生成本案文书。"))


def _load_case(case_id: int) -> Case:
    case = (Case.objects.select_related("organisation__level", "registered_organisation", "employer", "platform",
                                        "created_by").filter(pk=case_id).first())
    if case is None:
        raise ActionNotAllowed(_("案件不存在。"))
    return case


# --- issuing --------------------------------------------------------------------------------------

def _signing_version(kind: str, subject_id: int, stage: str, freezes: bool) -> IssuedDocument | None:
    """The agreement's registered signing version when it is what this issue must hand back.

    Asking for the signing version again returns the same bytes (every original is one document); an
    effective agreement that was signed on its signing version *is* that document, never a re-rendering.
    """
    if kind != DocumentKind.AGREEMENT or not (stage == DocumentStage.SIGNING or freezes):
        return None
    agreement = Agreement.objects.filter(pk=subject_id).select_related("signing_document").first()
    document = agreement.signing_document if agreement is not None else None
    if document is not None:
        document.reused = True
    return document


def document_prepare(*, case: Case, kind: str, actor: User, subject_id: int = 0, stage: str = "",
                     verify_base_url: str | None = None) -> Prepared | IssuedDocument:
    """Check and read everything the document needs; returns the frozen or signing version when there is one."""
    if kind not in DocumentKind.values:
        raise ValidationError({"kind": _("文书类型无效。")})
    if stage not in DocumentStage.values:
        raise ValidationError({"stage": _("文书用途无效。")})
    _require_issue(actor, case)
    subject = find_subject(case, kind, subject_id, stage)
    if subject is None:
        raise ActionNotAllowed(_("本案当前不能生成“%(kind)s”：案件尚无该文书所记载的事项。")
                               % {"kind": DocumentKind(kind).label})
    bound = _signing_version(kind, subject.subject_id, subject.stage, subject.freezes)
    if bound is not None:
        return bound
    if subject.freezes:
        frozen = IssuedDocument.objects.filter(case=case, kind=kind, subject_id=subject.subject_id,
                                               frozen=True).first()
        if frozen is not None:
            frozen.reused = True
            return frozen
    code = new_code()
    stamp = Stamp(code=code, issued_at=timezone.now(), verify_url=verify_url(code, verify_base_url))
    prepared = prepare(case, subject, stamp)
    check_context(prepared.context)  # no character that no bundled font draws (nothing written yet)
    return prepared


def document_issue(*, case_id: int, kind: str, actor: User, subject_id: int = 0, stage: str = "",
                   verify_base_url: str | None = None) -> IssuedDocument:
    """Render and register one document of ``case_id``; return its registry row.

    Rules: the actor must be allowed to work the case (mediators and supervisors
    of the handling organisation, in scope); the document must apply to the case
    now (a rejection notice needs a rejection …); an effective agreement's PDF is
    frozen once issued and re-issuing returns it unchanged (劳动争议调解仲裁法
    art. 14: the effective agreement is binding as signed). Rendering happens
    before any transaction is opened; ``DocumentRenderError`` propagates with a
    message for the user, and nothing is written. ``reused`` on the result tells
    whether an existing frozen document was returned.
    """
    case = _load_case(case_id)
    prepared = document_prepare(case=case, kind=kind, actor=actor, subject_id=subject_id, stage=stage,
                                verify_base_url=verify_base_url)
    if isinstance(prepared, IssuedDocument):
        return prepared
    pdf = render_pdf(prepared.template_name, prepared.context, pdf_variant=prepared.pdf_variant)
    return registry.register(prepared, pdf, author=actor)



# --- signed paper ---------------------------------------------------------------------------------

#: What a scan of signed paper may be: a PDF or a photograph/scan image.
SIGNED_COPY_TYPES = frozenset({"application/pdf", "image/jpeg", "image/png", "image/tiff"})


def signed_copy_add(*, document_id: int, actor: User, upload: Any) -> SignedCopy:
    """Keep the scan of a signed paper original with the registered document it was printed from.

    The scan is a case attachment (type checks, size limit, storage and audit as for any evidence,
    ``services.attachment_add``) linked to the document; the link and the attachment are written
    together, and the stored file is removed again if the link cannot be written. Refused for a
    draft's reading copy, a void signing version or one still being signed, and the case file
    (``Standing.takes_signed_copy``).
    """
    from mediation.documents.selectors import document_standing
    from mediation.services import attachment_add, sniff_content_type
    from workflows.services import lock_case

    document = IssuedDocument.objects.select_related("case").filter(pk=document_id).first()
    if document is None:
        raise ActionNotAllowed(_("文书不存在。"))
    _require_issue(actor, document.case)
    upload.seek(0)
    if sniff_content_type(upload.read(8192)) not in SIGNED_COPY_TYPES:
        raise ValidationError({"file": _("签署原件扫描件只能是 PDF 或图片（JPG、PNG、TIFF）。")})
    upload.seek(0)
    attachment = None
    try:
        with transaction.atomic():
            # Under the case lock: a rewrite of the draft cannot void the print between check and link.
            lock_case(document.case_id)
            if document.kind == DocumentKind.CASE_FILE or not document_standing(document).takes_signed_copy:
                raise ActionNotAllowed(_(
                    "该文书不能上传签署原件：草稿、已作废的签署版和卷宗没有签署原件；调解协议的签署原件在协议生效后上传。"))
            attachment = attachment_add(
                case_id=document.case_id, actor=actor, upload=upload, kind=Attachment.Kind.SIGNED_COPY,
                description=_("%(title)s 签署原件（验证码 %(code)s）") % {
                    "title": document.title, "code": document.code_display})
            copy = SignedCopy.objects.create(document=document, attachment=attachment)
            audit.record(actor=actor, action="document.signed_copy", obj=document, case=document.case,
                         new={"verification_code": document.verification_code, "attachment": attachment.pk,
                              "sha256": attachment.sha256})
    except BaseException:
        if attachment is not None and attachment.file.name:
            default_storage.delete(attachment.file.name)
        raise
    return copy
