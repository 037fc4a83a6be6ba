"""Export of a supervisor's case files (卷宗) as a zip: one PDF/A per case plus manifest.csv.

Every case file exported is issued through the registry like any other document
(new version, verification code, SHA-256), so a file taken out of the zip can be
verified later. Rendering is the slow part and is pure, so it runs in worker
processes (``ProcessPoolExecutor``, one FontConfiguration per process) while the
main process reads the next cases from the database and writes finished files
into the zip: with 2 workers both cores render (docs/performance.md has the
figures). The cases come from ``case_list_visible_to`` narrowed to the subtrees
the user supervises, so nothing outside their scope can be exported.
"""
from __future__ import annotations

import csv
import io
import logging
import multiprocessing
import os
import re
import time
import zipfile
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from mediation import permissions
from mediation.documents import registry, worker
from mediation.documents.context import Prepared
from mediation.documents.models import DocumentKind, IssuedDocument
from mediation.documents.render import DocumentRenderError
from mediation.documents.services import document_prepare
from mediation.models import Case
from mediation.selectors import CaseFilters, case_list_visible_to
from mediation.spreadsheets import csv_text
from workflows.errors import ActionNotAllowed

logger = logging.getLogger(__name__)

MANIFEST_NAME = "manifest.csv"
MANIFEST_FIELDS = ("file", "case", "type", "sha256", "verification_code", "version", "status")


def may_export(user: Any) -> bool:
    return permissions.holds(user, "export_case_files")


def export_scope(user: Any, filters: CaseFilters | None = None) -> QuerySet[Case]:
    """The cases ``user`` may export: visible to them and where they hold ``export_case_files``."""
    scope = permissions.scope_q(user, "export_case_files")
    if scope is None:
        return Case.objects.none()
    return (case_list_visible_to(user=user, filters=filters).filter(scope)
            .select_related("organisation__level", "registered_organisation", "employer", "platform", "created_by")
            .order_by("number"))


def web_export_limit() -> int:
    """Most cases one web export may hold (a request should finish in minutes); the command has no limit."""
    return int(getattr(settings, "DOCUMENTS_EXPORT_MAX_CASES", 500))


def default_workers() -> int:
    configured = getattr(settings, "DOCUMENTS_EXPORT_WORKERS", None)
    return int(configured) if configured else max(1, min(os.cpu_count() or 1, 4))


# --- rendering in worker processes -------------------------------------------------------------

def _render_job(template_name: str, context: dict[str, Any], pdf_variant: str | None) -> bytes:
    return worker.render(template_name, context, pdf_variant)


class _InlineRenderer:
    """``workers=1``: render in this process, one after the other (the baseline)."""

    def __enter__(self) -> "_InlineRenderer":
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def submit(self, prepared: Prepared) -> Future[bytes]:
        future: Future[bytes] = Future()
        try:
            future.set_result(_render_job(prepared.template_name, prepared.context, prepared.pdf_variant))
        except Exception as exc:
            future.set_exception(exc)
        return future


class _PoolRenderer:
    def __init__(self, workers: int) -> None:
        self.pool = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
                                        initializer=worker.init)

    def __enter__(self) -> "_PoolRenderer":
        return self

    def __exit__(self, *exc: object) -> None:
        # Also on a client that hung up mid-stream: drop what was not started yet.
        self.pool.shutdown(wait=True, cancel_futures=True)

    def submit(self, prepared: Prepared) -> Future[bytes]:
        return self.pool.submit(worker.render, prepared.template_name, prepared.context, prepared.pdf_variant)


# --- writing the zip ----------------------------------------------------------------------------

@dataclass
class ExportRow:
    file: str
    case: str
    type: str
    sha256: str = ""
    verification_code: str = ""
    version: int | str = ""
    status: str = "ok"


@dataclass
class ExportSummary:
    rows: list[ExportRow] = field(default_factory=list)
    seconds: float = 0.0
    workers: int = 1

    @property
    def exported(self) -> int:
        return sum(1 for r in self.rows if r.status == "ok")

    @property
    def failed(self) -> int:
        return len(self.rows) - self.exported


_UNSAFE = re.compile(r'[\\/:*?"<>|\x00-\x1f]+')


def entry_name(case: Case, document: IssuedDocument) -> str:
    """A registered PDF's name in an export zip: the case number made safe, the document's type, its version."""
    number = _UNSAFE.sub("_", case.number).strip() or f"case-{case.pk}"
    return f"{number}-{DocumentKind(document.kind).label}-v{document.version}.pdf"


def add_pdf(archive: zipfile.ZipFile, name: str, document: IssuedDocument, pdf: bytes) -> None:
    """Add a registered PDF, dated when it was issued; stored as it is (PDFs are compressed already)."""
    info = zipfile.ZipInfo(name, date_time=timezone.localtime(document.created_at).timetuple()[:6])
    info.compress_type = zipfile.ZIP_STORED
    archive.writestr(info, pdf)


def add_manifest(archive: zipfile.ZipFile, fields: tuple[str, ...], rows: Iterable[tuple[Any, ...]]) -> None:
    """manifest.csv, UTF-8 with a byte-order mark: Excel, which most offices open CSV files with, then
    reads the Chinese right; every cell through the spreadsheet rule (no formula ever)."""
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(fields)
    for row in rows:
        writer.writerow([csv_text(v) for v in row])
    archive.writestr(MANIFEST_NAME, text.getvalue().encode("utf-8-sig"), compress_type=zipfile.ZIP_DEFLATED)


def write_case_files(archive: zipfile.ZipFile, *, user: Any, cases: Iterable[Case], workers: int | None = None,
                     verify_base_url: str | None = None, summary: ExportSummary | None = None,
                     progress: Callable[[ExportRow], None] | None = None) -> Iterator[ExportRow]:
    """Issue and add one case file per case to ``archive``, then manifest.csv; yields after each entry.

    A case whose file cannot be issued (permission, a failed render) gets a manifest
    row saying why, and the export goes on with the others.
    """
    if not may_export(user):
        raise PermissionDenied(_("只有负责人可以导出卷宗。"))
    workers = workers or default_workers()
    summary = summary if summary is not None else ExportSummary()
    summary.workers = workers
    started = time.perf_counter()
    kind_label = str(DocumentKind.CASE_FILE.label)
    # Enough work queued to keep every worker busy while finished files are registered.
    window = max(2, workers * 3)
    # Each case with its render job (what was prepared, and the PDF to come), or why it has none.
    pending: deque[tuple[Case, tuple[Prepared, Future[bytes]] | Exception]] = deque()

    def finish(case: Case, job: tuple[Prepared, Future[bytes]] | Exception) -> ExportRow:
        row = ExportRow(file="", case=case.number, type=kind_label)
        try:
            if isinstance(job, Exception):
                raise job
            prepared, future = job
            pdf = future.result()
            document = registry.register(prepared, pdf, author=user)
        except (PermissionDenied, ActionNotAllowed, ValidationError, DocumentRenderError) as exc:
            row.status = _("未导出：%(reason)s") % {"reason": "；".join(getattr(exc, "messages", None) or [str(exc)])}
        else:
            row.file, row.sha256 = entry_name(case, document), document.sha256
            row.verification_code, row.version = document.code_display, document.version
            add_pdf(archive, row.file, document, pdf)
        summary.rows.append(row)
        if progress:
            progress(row)
        return row

    renderer = _InlineRenderer() if workers <= 1 else _PoolRenderer(workers)
    with renderer:
        for case in cases:
            try:
                prepared = document_prepare(case=case, kind=DocumentKind.CASE_FILE, actor=user,
                                            verify_base_url=verify_base_url)
                # Only agreements freeze: a case file is always prepared anew, never a stored document.
                assert isinstance(prepared, Prepared)
                pending.append((case, (prepared, renderer.submit(prepared))))
            except (PermissionDenied, ActionNotAllowed, ValidationError) as exc:
                pending.append((case, exc))
            while len(pending) >= window:
                yield finish(*pending.popleft())
        while pending:
            yield finish(*pending.popleft())

    add_manifest(archive, MANIFEST_FIELDS, ((row.file, row.case, row.type, row.sha256, row.verification_code,
                                             row.version, row.status) for row in summary.rows))
    summary.seconds = time.perf_counter() - started


class _Sink(io.RawIOBase):
    """A write-only, unseekable stream that hands over what was written: zipfile streams into it."""

    def __init__(self) -> None:
        self._chunks: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        self._chunks.append(bytes(data))
        return len(data)

    def take(self) -> bytes:
        data = b"".join(self._chunks)
        self._chunks.clear()
        return data


def stream_case_files(**kwargs: Any) -> Iterator[bytes]:
    """The zip as a stream of chunks (for StreamingHttpResponse): bytes flow as each case file is done."""
    sink = _Sink()
    with zipfile.ZipFile(sink, "w") as archive:
        for _row in write_case_files(archive, **kwargs):
            chunk = sink.take()
            if chunk:
                yield chunk
    yield sink.take()


def export_to_file(target: BinaryIO | str | os.PathLike, **kwargs: Any) -> ExportSummary:
    summary = ExportSummary()
    with zipfile.ZipFile(target, "w") as archive:
        for _row in write_case_files(archive, summary=summary, **kwargs):
            pass
    return summary
