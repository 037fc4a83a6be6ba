"""Bulk issue (批量生成文书): one document of one kind for every case in a supervisor's export scope.

Each document is issued through ``services.document_issue`` exactly as from the case page (its
own rights check, a new registered version with a verification code and SHA-256); the PDFs are
zipped with a manifest.csv. A case where the document does not apply (an acceptance notice for a
case never accepted) or whose issue fails gets a manifest row saying why, and the others go on.
The cases are ``export.export_scope``: never more than the user may export.
"""
from __future__ import annotations

import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from django.core.exceptions import PermissionDenied, ValidationError
from django.utils.translation import gettext as _

from mediation.documents import registry, services
from mediation.documents.export import add_manifest, add_pdf, entry_name, may_export
from mediation.documents.models import DocumentKind
from mediation.documents.render import DocumentRenderError
from mediation.models import Case
from workflows.errors import ActionNotAllowed

#: Kinds issued once per case (subject 0 in ``context.subjects_for``). The case file has its own export.
BULK_KINDS: tuple[str, ...] = (DocumentKind.APPLICATION_RECORD, DocumentKind.ACCEPTANCE_NOTICE)

MANIFEST_FIELDS = ("file", "case", "type", "sha256", "verification_code", "status")

OK = "ok"


def bulk_kind_choices() -> list[tuple[str, str]]:
    return [(kind, str(DocumentKind(kind).label)) for kind in BULK_KINDS]


@dataclass
class BulkRow:
    file: str
    case: str
    type: str
    sha256: str = ""
    verification_code: str = ""
    status: str = OK


@dataclass
class BulkSummary:
    rows: list[BulkRow] = field(default_factory=list)

    @property
    def issued(self) -> int:
        return sum(1 for r in self.rows if r.status == OK)


def _reason(exc: Exception) -> str:
    return "；".join(getattr(exc, "messages", None) or [str(exc)])


def bulk_issue_to_file(target: BinaryIO, *, user: Any, kind: str, cases: Iterable[Case],
                       verify_base_url: str | None = None,
                       progress: Callable[[BulkRow], None] | None = None) -> BulkSummary:
    """Issue ``kind`` for each of ``cases`` and write the zip (PDFs, then manifest.csv) to ``target``."""
    if not may_export(user):
        raise PermissionDenied(_("只有负责人可以批量生成文书。"))
    if kind not in BULK_KINDS:
        raise ValidationError({"kind": _("该文书类型不能批量生成：只能选择每案一份的文书。")})
    label = str(DocumentKind(kind).label)
    summary = BulkSummary()
    with zipfile.ZipFile(target, "w") as archive:
        for case in cases:
            row = BulkRow(file="", case=case.number, type=label)
            try:
                document = services.document_issue(case_id=case.pk, kind=kind, actor=user,
                                                    verify_base_url=verify_base_url)
                pdf = registry.stored_bytes(document)
                if pdf is None or registry.sha256_of(pdf) != document.sha256:
                    raise DocumentRenderError(_("已登记的文书文件无法读取或与登记的 SHA-256 不符。"))
            except (PermissionDenied, ActionNotAllowed, ValidationError, DocumentRenderError) as exc:
                row.status = _("未生成：%(reason)s") % {"reason": _reason(exc)}
            else:
                row.file, row.sha256 = entry_name(case, document), document.sha256
                row.verification_code = document.code_display
                add_pdf(archive, row.file, document, pdf)
            summary.rows.append(row)
            if progress:
                progress(row)
        add_manifest(archive, MANIFEST_FIELDS, ((row.file, row.case, row.type, row.sha256, row.verification_code,
                                                 row.status) for row in summary.rows))
    return summary
