"""Reads for pages: what the case page shows about documents."""
from __future__ import annotations

from typing import Any

from mediation.documents import services
from mediation.documents.context import subjects_for
from mediation.documents.models import IssuedDocument
from mediation.models import Case
from mediation.typing import User


def documents_for_case(case: Case, user: User) -> dict[str, Any]:
    """Context for the case page's documents card and timeline (merge it into the page's context).

    ``case`` must already come from ``case_get_for_user`` (scope checked). Returns
    ``{"documents": {...}}`` with: ``issued`` (every registered document, newest
    first), ``issuable`` (one row per document the user may issue now, with the
    latest registered version of it), ``may_issue``, ``may_download``, and
    ``timeline`` (entries in the case page's timeline format, kind "document").
    """
    issued = list(IssuedDocument.objects.filter(case=case).select_related("author").order_by("-created_at", "-pk"))
    may_issue = services.may_issue(user, case)
    latest: dict[tuple[str, int], IssuedDocument] = {}
    for document in issued:
        latest.setdefault((document.kind, document.subject_id), document)
    issuable = []
    if may_issue:
        for subject in subjects_for(case):
            current = latest.get((subject.kind, subject.subject_id))
            issuable.append({"kind": subject.kind, "kind_label": subject.kind_label, "subject_id": subject.subject_id,
                             "label": subject.label, "freezes": subject.freezes, "latest": current,
                             "frozen": bool(current and current.frozen)})
    return {"documents": {
        "issued": issued,
        "issuable": issuable,
        "may_issue": may_issue,
        "may_download": services.may_download(user, case),
        "timeline": [{"at": d.created_at, "kind": "document", "obj": d, "who": d.author} for d in issued],
    }}
