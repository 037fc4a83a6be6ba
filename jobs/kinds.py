"""What each kind of job does, run with its owner's rights at run time.

A runner gets the job and a ``progress(percent)`` callback and returns an ``Output``: the
file it wrote and the name offered on download. It decides who may run it through the
same functions as the web export (``mediation.permissions`` behind them), so a job never
sees more than its owner would see in the browser at the moment it runs.
"""
from __future__ import annotations

import dataclasses
import datetime
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO, Any

from django.utils import timezone
from django.utils.translation import gettext as _

from jobs.models import Job
from mediation.selectors import CaseFilters

Progress = Callable[[int], None]


class JobRefused(Exception):
    """A permanent failure whose message is shown to the owner (e.g. the right to export is gone)."""


@dataclass
class Output:
    file: IO[bytes]
    name: str


@dataclass
class Kind:
    run: Callable[[Job, Progress], Output]
    #: May the owner still see what this job made? Checked again on every download.
    may_download: Callable[[Any], bool]


REGISTRY: dict[str, Kind] = {}


def register(name: str, kind: Kind) -> None:
    REGISTRY[name] = kind


# --- filters as JSON ------------------------------------------------------------------------------

_DATES = {"received_from", "received_to"}


def filters_to_parameters(filters: CaseFilters | None) -> dict[str, Any]:
    """The filters as JSON; the free-text search (which may hold a name or ID number) is never kept."""
    values = dataclasses.asdict(filters) if filters is not None else {}
    values.pop("query", None)
    return {k: (v.isoformat() if isinstance(v, datetime.date) else v)
            for k, v in values.items() if v not in (None, "", False)}


def filters_from_parameters(parameters: dict[str, Any]) -> CaseFilters:
    names = {f.name for f in dataclasses.fields(CaseFilters)} - {"query"}
    values: dict[str, Any] = {k: (datetime.date.fromisoformat(v) if k in _DATES else v)
              for k, v in parameters.get("filters", {}).items() if k in names}
    return CaseFilters(**values)


def _stamp() -> str:
    return f"{timezone.localtime():%Y%m%d-%H%M}"


# --- the ledger -----------------------------------------------------------------------------------

def _may_use_ledger(user: Any) -> bool:
    from mediation.reports.ledger.access import may_use_ledger

    return may_use_ledger(user)


def run_ledger(job: Job, progress: Progress) -> Output:
    from mediation.reports.ledger.export import ledger_export

    if not _may_use_ledger(job.owner):
        raise JobRefused(_("您已没有导出案件台账的权限。"))
    progress(5)
    result = ledger_export(user=job.owner, filters=filters_from_parameters(job.parameters),
                           query_string=job.parameters.get("query_string", ""))
    return Output(file=result.file, name=f"案件台账-{_stamp()}.xlsx")


# --- case files -----------------------------------------------------------------------------------

def _may_export_case_files(user: Any) -> bool:
    from mediation.documents.export import may_export

    return may_export(user)


def run_case_files(job: Job, progress: Progress) -> Output:
    from mediation.audit import log as audit
    from mediation.documents import export

    if not _may_export_case_files(job.owner):
        raise JobRefused(_("您已没有导出卷宗的权限。"))
    cases = export.export_scope(job.owner, filters_from_parameters(job.parameters))
    total = max(cases.count(), 1)
    audit.record(actor=job.owner, action="export.case_files",
                 new={"cases": total, "filters": job.parameters.get("filters", {}), "job": job.pk})
    on_row = _per_case(progress, total)

    out = tempfile.TemporaryFile(suffix=".zip")
    # One rendering process: the worker is the unit of parallelism (a prefork child may not fork).
    export.export_to_file(out, user=job.owner, cases=cases.iterator(chunk_size=100), workers=1,
                          verify_base_url=job.parameters.get("verify_base_url") or None, progress=on_row)
    out.seek(0)
    return Output(file=out, name=f"卷宗-{_stamp()}.zip")


def _per_case(progress: Progress, total: int) -> Callable[[Any], None]:
    """A callback for each case written: the job's progress, short of 100 until the file is stored."""
    done = 0

    def on_row(_row: Any) -> None:
        nonlocal done
        done += 1
        progress(min(99, done * 100 // total))

    return on_row


# --- bulk issue of one document kind -----------------------------------------------------------------

def run_bulk_issue(job: Job, progress: Progress) -> Output:
    from mediation.audit import log as audit
    from mediation.documents import bulk, export
    from mediation.documents.models import DocumentKind

    if not _may_export_case_files(job.owner):
        raise JobRefused(_("您已没有批量生成文书的权限。"))
    kind = job.parameters.get("document_kind", "")
    if kind not in bulk.BULK_KINDS:
        raise JobRefused(_("该文书类型不能批量生成。"))
    cases = export.export_scope(job.owner, filters_from_parameters(job.parameters))
    total = max(cases.count(), 1)
    audit.record(actor=job.owner, action="documents.bulk_issue",
                 new={"cases": total, "kind": kind, "filters": job.parameters.get("filters", {}), "job": job.pk})
    on_row = _per_case(progress, total)

    out = tempfile.TemporaryFile(suffix=".zip")
    bulk.bulk_issue_to_file(out, user=job.owner, kind=kind, cases=cases.iterator(chunk_size=100),
                            verify_base_url=job.parameters.get("verify_base_url") or None, progress=on_row)
    out.seek(0)
    return Output(file=out, name=f"{DocumentKind(kind).label}-{_stamp()}.zip")


register(Job.Kind.LEDGER, Kind(run=run_ledger, may_download=_may_use_ledger))
register(Job.Kind.CASE_FILES, Kind(run=run_case_files, may_download=_may_export_case_files))
register(Job.Kind.BULK_ISSUE, Kind(run=run_bulk_issue, may_download=_may_export_case_files))
