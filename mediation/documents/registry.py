"""Storing rendered bytes with their registry row, and checking bytes against the registry.

The bytes go to Django's storage first and the row second, inside one
transaction that holds the case's row lock (so version numbers are taken one at
a time). If anything fails after the bytes were written they are deleted again:
storage never keeps a file the registry does not know. A frozen document (an
effective agreement's PDF) is never replaced: a second registration of it hands
back the first.
"""
from __future__ import annotations

import hashlib
import io
import logging
import re
import uuid
from dataclasses import dataclass
from typing import Any

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils.translation import gettext as _

from mediation.audit import log as audit
from mediation.documents.codes import PRINTED_CODE, normalize_code
from mediation.documents.context import Prepared
from mediation.documents.models import DocumentStage, IssuedDocument
from mediation.models import Agreement, Case
from mediation.services.agreements import draft_states
from workflows.errors import ActionNotAllowed

logger = logging.getLogger(__name__)

STORAGE_PREFIX = "documents"


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def storage_name(case_id: int, kind: str) -> str:
    # Random names: nothing personal on disk, and no clash, so the name asked for is the name written.
    return f"{STORAGE_PREFIX}/{case_id}/{kind}/{uuid.uuid4().hex}.pdf"


def _frozen(prepared: Prepared) -> IssuedDocument | None:
    return IssuedDocument.objects.filter(case_id=prepared.case_id, kind=prepared.kind,
                                         subject_id=prepared.subject_id, frozen=True).first()


def _bound_signing_version(prepared: Prepared) -> tuple[Agreement, IssuedDocument | None]:
    """The draft a signing version is printed from, locked, and the signing version it already has.

    Called with the case locked. Refuses when the draft is no longer a draft or was rewritten after it
    was read for this print: the bytes would not say what the draft says.
    """
    agreement = Agreement.objects.select_for_update(of=("self",)).select_related("signing_document").get(
        pk=prepared.subject_id)
    if agreement.signing_document is not None:
        return agreement, agreement.signing_document
    if agreement.status != Agreement.Status.DRAFT:
        raise ActionNotAllowed(_("协议已不是草稿，不能再生成签署版。"))
    if Case.objects.values_list("state", flat=True).get(pk=prepared.case_id) not in draft_states(agreement):
        raise ActionNotAllowed(_("案件已不在调解中，不能再生成签署版。"))
    if agreement.updated_at.isoformat() != prepared.revision:
        raise ActionNotAllowed(_("协议草稿刚刚被修改，请重新生成签署版。"))
    return agreement, None


def register(prepared: Prepared, pdf: bytes, *, author: Any) -> IssuedDocument:
    """Store ``pdf`` and record it; returns the registered document (the frozen one if it already exists).

    The returned object has ``reused = True`` when an existing frozen document was
    returned instead of the new bytes (which are then discarded).
    """
    from workflows.services import lock_case

    name = storage_name(prepared.case_id, prepared.kind)
    try:
        stored = default_storage.save(name, ContentFile(pdf, name=name))
    except BaseException:
        # A write that failed half-way may have left a partial file under the name we chose.
        _delete_quietly(name)
        raise
    try:
        with transaction.atomic():
            lock_case(prepared.case_id)
            if prepared.freezes:
                existing = _frozen(prepared)
                if existing is not None:
                    _delete_quietly(stored)
                    existing.reused = True
                    return existing
            signing_of = None
            if prepared.stage == DocumentStage.SIGNING:
                # Every original is printed from the same registered bytes: a second print returns the first.
                signing_of, existing = _bound_signing_version(prepared)
                if existing is not None:
                    _delete_quietly(stored)
                    existing.reused = True
                    return existing
            last = (IssuedDocument.objects.filter(case_id=prepared.case_id, kind=prepared.kind,
                                                  subject_id=prepared.subject_id)
                    .aggregate(v=Max("version"))["v"]) or 0
            document = IssuedDocument.objects.create(
                case_id=prepared.case_id, kind=prepared.kind, subject_id=prepared.subject_id,
                version=last + 1, title=prepared.title[:200], file=stored, size=len(pdf),
                sha256=sha256_of(pdf), verification_code=prepared.code, pdf_variant=prepared.pdf_variant or "",
                frozen=prepared.freezes, author=author, created_at=prepared.issued_at,
                issuer=prepared.issuer[:200], stage=prepared.stage)
            audit.record(actor=author, action="document.issue", obj=document, case=prepared.case_id, new=audit.snapshot(
                document, ("kind", "subject_id", "version", "title", "sha256", "verification_code", "frozen",
                           "stage")))
            if signing_of is not None:
                # Not a change of wording: ``updated_at`` stays, the binding is on the record above.
                signing_of.signing_document = document
                signing_of.save(update_fields=["signing_document"])
    except IntegrityError:
        _delete_quietly(stored)
        # Two issues of the same effective agreement raced past the check: the first one wins.
        existing = _frozen(prepared) if prepared.freezes else None
        if existing is None:
            raise
        existing.reused = True
        return existing
    except BaseException:
        _delete_quietly(stored)
        raise
    document.reused = False
    return document


def _delete_quietly(name: str) -> None:
    try:
        default_storage.delete(name)
    except Exception:  # the original error matters more; the orphan check in verify_document finds leftovers
        logger.exception("could not delete %s after a failed registration", name)


# --- checking ----------------------------------------------------------------------------------

def find_by_code(text: str) -> IssuedDocument | None:
    code = normalize_code(text)
    if code is None:
        return None
    return IssuedDocument.objects.select_related("case").filter(verification_code=code).first()


def stored_bytes(document: IssuedDocument) -> bytes | None:
    if not document.file.name:
        return None
    try:
        with default_storage.open(document.file.name, "rb") as handle:
            return handle.read()
    except (FileNotFoundError, OSError):
        return None


def stored_intact(document: IssuedDocument) -> bool:
    """Whether the stored file still has the registered SHA-256."""
    data = stored_bytes(document)
    return data is not None and sha256_of(data) == document.sha256


def claimed_code(data: bytes) -> str | None:
    """The verification code a PDF says it carries (metadata or text), if it can still be read."""
    try:
        from pypdf import PdfReader

        reader = PdfReader(io.BytesIO(data))
        keywords = str(reader.metadata.get("/Keywords", "") if reader.metadata else "")
        found = PRINTED_CODE.search(keywords)
        if found is None and reader.pages:
            found = PRINTED_CODE.search(re.sub(r"\s+", "", reader.pages[-1].extract_text() or ""))
        return normalize_code(found.group(0)) if found else None
    except Exception:  # a damaged file: it cannot say what it claims to be
        return None


@dataclass(frozen=True)
class Check:
    """The answer to "is this file the registered document?"."""

    sha256: str
    document: IssuedDocument | None  # the registered document the answer is about, if any
    matches: bool

    @property
    def found(self) -> bool:
        return self.document is not None


def check_bytes(data: bytes, *, code: str | None = None) -> Check:
    """Compare ``data`` with the registry: with the code of the document it should be, or on its own.

    Without a code, a file whose SHA-256 is registered matches; otherwise the code
    printed in the file (if readable) names the document it claims to be, which
    then does not match: the file was altered.
    """
    sha = sha256_of(data)
    if code is not None:
        document = find_by_code(code)
        return Check(sha, document, document is not None and document.sha256 == sha)
    document = IssuedDocument.objects.select_related("case").filter(sha256=sha).first()
    if document is not None:
        return Check(sha, document, True)
    claimed = claimed_code(data)
    return Check(sha, find_by_code(claimed) if claimed else None, False)
