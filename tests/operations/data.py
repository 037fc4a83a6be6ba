"""Data for the backup round trips: a case with an attachment and issued documents, made through the services."""
from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile

from mediation import services as ms
from mediation.documents import services as documents
from mediation.documents.models import DocumentKind
from mediation.models import Case, Role
from tests.factories import OrganisationFactory, level, member, register
from workflows import services as ws

EVIDENCE = b"%PDF-1.4\n1 0 obj<<>>endobj\n% \xe5\xb7\xa5\xe8\xb5\x84\xe6\x9d\xa1\ntrailer<<>>\n%%EOF\n"


def make_case(organisation: Any, mediator: Any) -> Case:
    """Register, issue the application record, accept, attach evidence, issue the acceptance notice."""
    case = register(mediator, organisation)
    documents.document_issue(case_id=case.pk, kind=DocumentKind.APPLICATION_RECORD, actor=mediator)
    ws.case_accept(case_id=case.pk, actor=mediator)
    ms.attachment_add(case_id=case.pk, actor=mediator, kind="evidence", description="工资条",
                      upload=SimpleUploadedFile("工资条.pdf", EVIDENCE, "application/pdf"))
    documents.document_issue(case_id=case.pk, kind=DocumentKind.ACCEPTANCE_NOTICE, actor=mediator)
    return case


def populate() -> None:
    """For ``manage.py shell -c`` in a fresh, migrated database (the subprocess round trip)."""
    district = OrganisationFactory.create(name="测试区职工服务中心", level=level(0), case_number_prefix="测区调")
    town = OrganisationFactory.create(name="测试街道调解中心", level=level(1), parent=district,
                                      case_number_prefix="测街调")
    make_case(town, member(town, Role.MEDIATOR))


def tree(root: Path) -> dict[str, str]:
    """Every file under ``root``: relative name → SHA-256."""
    if not root.exists():
        return {}
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}
