"""Issuing documents: check the actor, read the facts, render outside any transaction, register.

``document_issue`` is the one way a document comes into being (the web button,
the export, the commands all use it or its two halves ``document_prepare`` and
``registry.register``). The case itself is never written: a failed render leaves
the case exactly as it was, no registry row and no file in storage.
"""
from __future__ import annotations

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from mediation import permissions
from mediation.documents import registry
from mediation.documents.codes import format_code, new_code
from mediation.documents.context import Prepared, Stamp, find_subject, prepare
from mediation.documents.glyphs import check_context
from mediation.documents.models import DocumentKind, IssuedDocument
from mediation.documents.render import render_pdf
from mediation.models import Case
from mediation.typing import User
from workflows.errors import ActionNotAllowed

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

def may_issue(user: User, case: Case) -> bool:
    """Issuing is working the case: its mediators and supervisors in scope (DOMAIN.md §5)."""
    return permissions.may_view_case(user, case) and permissions.user_may(user, "work", case)


def may_download(user: User, case: Case) -> bool:
    """Issued documents carry full identity numbers: only those who may see them download.

    Readers without that permission (auditors, administrators, former mediators)
    see the registry (type, date, SHA-256, code) and can verify copies, but do not
    get the files. See docs/documents.md, "Who may download".
    """
    return permissions.may_view_case(user, case) and permissions.may_see_personal_data(user, case)


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

def document_prepare(*, case: Case, kind: str, actor: User, subject_id: int = 0,
                     verify_base_url: str | None = None) -> Prepared | IssuedDocument:
    """Check and read everything the document needs; returns the frozen document when there is one."""
    if kind not in DocumentKind.values:
        raise ValidationError({"kind": _("文书类型无效。")})
    _require_issue(actor, case)
    subject = find_subject(case, kind, subject_id)
    if subject is None:
        raise ActionNotAllowed(_("本案当前不能生成“%(kind)s”：案件尚无该文书所记载的事项。")
                               % {"kind": DocumentKind(kind).label})
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


def document_issue(*, case_id: int, kind: str, actor: User, subject_id: int = 0,
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
    prepared = document_prepare(case=case, kind=kind, actor=actor, subject_id=subject_id,
                                verify_base_url=verify_base_url)
    if isinstance(prepared, IssuedDocument):
        return prepared
    pdf = render_pdf(prepared.template_name, prepared.context, pdf_variant=prepared.pdf_variant)
    return registry.register(prepared, pdf, author=actor)

