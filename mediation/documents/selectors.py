"""Reads for pages: what the case page shows about documents."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.utils.formats import date_format
from django.utils.translation import gettext as _

from mediation.documents import services
from mediation.documents.context import Preloaded, subjects_for
from mediation.documents.models import DocumentKind, DocumentStage, IssuedDocument
from mediation.models import Agreement, Case
from mediation.typing import User


@dataclass(frozen=True)
class Standing:
    """What a registered document is worth today: ``key`` for styling and tests, ``text`` for people."""

    key: str  # issued | draft | awaiting_signatures | effective | superseded | void
    text: str

    @property
    def takes_signed_copy(self) -> bool:
        """Whether a scan of signed paper may be kept with the document: a notice or record as issued, an
        agreement once signed (effective, or superseded later). Not a reading copy, not a void print, not a
        signing version still being signed (if it were then voided, the scan would stand for nothing)."""
        return self.key in ("issued", "effective", "superseded")


def document_standing(document: IssuedDocument, agreement: Agreement | None = None) -> Standing:
    """The one answer to "is this paper in force?" for the verification page, the command and the case page.

    An agreement's signing version is *the* agreement once every signature is recorded on it; until
    then it awaits signatures; if the draft was rewritten after it was printed, that paper is void.
    A draft's reading copy never binds anyone. Other documents are simply issued.
    """
    if document.kind != DocumentKind.AGREEMENT:
        return Standing("issued", "")
    if document.stage == DocumentStage.DRAFT:
        return Standing("draft", _("草稿（供审阅），不是签署文本，不具有协议效力。"))
    if agreement is None:
        agreement = Agreement.objects.filter(pk=document.subject_id).first()
    if agreement is None:  # pragma: no cover - agreements are never deleted while documents exist
        return Standing("issued", "")
    if document.stage == DocumentStage.SIGNING and agreement.signing_document_id != document.pk:
        return Standing("void", _("已作废：打印后协议草稿被修改，本文本没有生效；请以重新打印的签署版为准。"))
    if agreement.status == Agreement.Status.SUPERSEDED:
        return Standing("superseded", _("该版本调解协议已被更正后的版本取代，仅供存档。"))
    if agreement.status == Agreement.Status.EFFECTIVE:
        on = date_format(agreement.effective_on, "Y-m-d") if agreement.effective_on else ""
        if document.stage == DocumentStage.SIGNING:
            return Standing("effective", _("已生效（%(on)s）：本文书即各方签字盖章的调解协议文本。") % {"on": on})
        return Standing("effective", _("已生效（%(on)s）：本文书依登记的签章生成，签署原件以纸质件为准。") % {"on": on})
    return Standing("awaiting_signatures", _("待签署：各方在本文本上签字盖章并登记齐全后，本文书即为生效的调解协议。"))


def documents_for_case(case: Case, user: User, *, preloaded: Preloaded | None = None,
                       scope_checked: bool = False) -> dict[str, Any]:
    """Context for the case page's documents card and timeline (merge it into the page's context).

    ``case`` must already come from ``case_get_for_user`` (scope checked; say so with
    ``scope_checked`` and it is not checked again). Returns
    ``{"documents": {...}}`` with: ``issued`` (every registered document, newest
    first), ``issuable`` (one row per document the user may issue now, with the
    latest registered version of it), ``may_issue``, ``may_download``, and
    ``timeline`` (entries in the case page's timeline format, kind "document").
    ``preloaded`` hands over rows of the case already read (the registered documents with their
    signed copies, the agreements, the history …), which are then not read again.
    """
    known = preloaded or Preloaded()
    issued = (known.issued if known.issued is not None else list(
        IssuedDocument.objects.filter(case=case).select_related("author")
        .prefetch_related("signed_copies__attachment").order_by("-created_at", "-pk")))
    may_issue = services.may_issue(user, case, scope_checked=scope_checked)
    latest: dict[tuple[str, int], IssuedDocument] = {}
    for document in issued:
        latest.setdefault((document.kind, document.subject_id), document)
    if known.agreements is not None:
        agreements = {a.pk: a for a in known.agreements}
    else:
        agreements = {a.pk: a for a in Agreement.objects.filter(case=case)} if issued or may_issue else {}
    for document in issued:
        document.standing = document_standing(document, agreements.get(document.subject_id))
    issuable = []
    if may_issue:
        for subject in subjects_for(case, preloaded=Preloaded(
                logs=known.logs, escalations=known.escalations, sessions=known.sessions,
                follow_ups=known.follow_ups, agreements=list(agreements.values()), issued=issued)):
            current = latest.get((subject.kind, subject.subject_id))
            if subject.kind == DocumentKind.AGREEMENT:
                current = _agreement_print(issued, agreements.get(subject.subject_id), subject.stage)
            issuable.append({"kind": subject.kind, "kind_label": subject.kind_label, "subject_id": subject.subject_id,
                             "label": subject.label, "freezes": subject.freezes, "latest": current,
                             "stage": subject.stage, "frozen": bool(current and (
                                 current.frozen or current.stage == DocumentStage.SIGNING))})
    return {"documents": {
        "issued": issued,
        "issuable": issuable,
        "may_issue": may_issue,
        "may_download": services.may_download(user, case, scope_checked=scope_checked),
        "timeline": [{"at": d.created_at, "kind": "document", "obj": d, "who": d.author} for d in issued],
    }}


def _agreement_print(issued: list[IssuedDocument], agreement: Agreement | None,
                     stage: str) -> IssuedDocument | None:
    """The agreement print a row of the documents card stands for: the bound signing version, or the
    latest reading copy of the draft, or the frozen rendering of an agreement signed without one."""
    if agreement is None:
        return None
    if stage == DocumentStage.SIGNING or (agreement.status != Agreement.Status.DRAFT and agreement.signing_document_id):
        return next((d for d in issued if d.pk == agreement.signing_document_id), None)
    wanted = DocumentStage.DRAFT if stage == DocumentStage.DRAFT else DocumentStage.ISSUED
    return next((d for d in issued if d.kind == DocumentKind.AGREEMENT and d.subject_id == agreement.pk
                 and d.stage == wanted), None)
