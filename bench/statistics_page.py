"""Measure the statistics page, the summary refresh and the ledger export on a real database.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/mediation_bench DEBUG=1 \\
        .venv/bin/python bench/statistics_page.py --refresh --export 100000

It expects a database filled by ``manage.py seed_demo`` and ``manage.py
generate_cases --count N`` (docs/demo.md), and measures, as the district
administrator and a township supervisor of the demo district:

* ``refresh_statistics`` (the summary rebuild), when ``--refresh`` is given;
* the statistics page over the last twelve months, through Django's test client
  (middleware, the navigation's own queries, the selectors and the templates:
  the whole server time of one request), median and worst of ``--repeat`` runs;
* the same figures computed with no summary at all (all live), once, to show what
  the summary saves (skip with ``--no-live``: at 1,000,000 cases it takes a while);
* a dry-run import of an exported ledger of about ``--import-check`` rows (every
  row is checked; all are reported as already present), then the same rows
  imported for real as new cases inside a transaction that is rolled back;
* the ledger export of about ``--export`` rows: time, and the process's peak
  resident memory before and after it, to show that memory does not grow with rows.

Prints a Markdown table for docs/performance.md. Nothing is written to the
database except the summary (``--refresh``), one ``LedgerExport`` row per export
and the test client's session rows.
"""
from __future__ import annotations

import argparse
import os
import platform
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mediation.settings")
os.environ.setdefault("DEBUG", "1")

import django
from django.conf import settings

django.setup()

from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from mediation.models import Case
from mediation.reports import ledger
from mediation.reports.statistics import StatisticsQuery, statistics_compute, statistics_refresh
from mediation.selectors import CaseFilters
from workflows.models import TransitionLog

USERS = ("district_admin", "jinping_supervisor")


# (No ``import statistics``: this file's own name would shadow the standard library's.)
def ms(seconds: float) -> str:
    return f"{seconds * 1000:,.0f} ms"


#: The two partial indexes docs/performance.md proposes for mediation.Case (PostgreSQL syntax).
PROPOSED_INDEXES = {
    "case_registered_due": "CREATE INDEX IF NOT EXISTS case_registered_due ON mediation_case (acceptance_due) "
                           "INCLUDE (organisation_id, channel, id) WHERE state = 'registered'",
    "case_working_due": "CREATE INDEX IF NOT EXISTS case_working_due ON mediation_case (mediation_due) "
                        "INCLUDE (organisation_id, channel, id) WHERE state IN ('self_resolution', "
                        "'joint_mediation', 'linked_mediation', 'escalation_pending')",
}


def _is_nav_badge(sql: str) -> bool:
    # The navigation's overdue badge (mediation/context_processors.py), not the reports' own query.
    return sql.startswith('SELECT COUNT(*) AS "__count" FROM "mediation_case"') and (
        "acceptance_due" in sql or "mediation_due" in sql)


def page_times(username: str, repeat: int) -> tuple[list[float], list[float], int, int]:
    user = get_user_model().objects.get(username=username)
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(user)
    url = reverse("reports:statistics")
    times, nav, queries, size = [], [], 0, 0
    for i in range(repeat + 1):
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            response = client.get(url)
            elapsed = time.perf_counter() - started
        assert response.status_code == 200, response.status_code
        if i:  # the first request warms caches (templates, the database's buffers)
            times.append(elapsed)
            nav.append(sum(float(q["time"]) for q in captured.captured_queries if _is_nav_badge(q["sql"])))
        queries, size = len(captured.captured_queries), len(response.content)
    return times, nav, queries, size


def _simulate_proposed_nav() -> None:
    """What the navigation would cost with the change docs/performance.md proposes for
    mediation/context_processors.py: the overdue badge as the sum of the two halves of
    ``overdue_q``, each an index range, instead of one count over their OR. Bench only."""
    from django.db.models import Q

    import mediation.context_processors as cp
    import mediation.selectors as selectors
    from mediation.selectors import clock_halves
    from workflows.clocks import local_today

    original = cp._workspace

    def workspace(request):
        saved = selectors.overdue_q
        selectors.overdue_q = lambda today: Q(pk__in=[])  # the original's count becomes free
        try:
            result = original(request)
        finally:
            selectors.overdue_q = saved
        if result["overdue"] == 0 and cp.permissions.grants_of(request.user):
            visible = selectors.case_list_visible_to(user=request.user)
            result["overdue"] = sum(visible.filter(part).count() for part in clock_halves(before=local_today()))
        return result

    cp._workspace = workspace


def _without_numbers(data: bytes) -> bytes:
    """The ledger with its case numbers blanked and pending escalations dropped: rows to import as new."""
    import io

    from openpyxl import Workbook, load_workbook

    source = load_workbook(io.BytesIO(data), read_only=True).worksheets[0]
    rows = source.iter_rows(values_only=True)
    header = list(next(rows))
    number, state = header.index("案号"), header.index("状态")
    book = Workbook(write_only=True)
    sheet = book.create_sheet("台账")
    sheet.append(header)
    for row in rows:
        if row[state] != "待审批提级":
            sheet.append([None if i == number else v for i, v in enumerate(row)])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _proposed_indexes(action: str) -> None:
    """Create or drop the proposed indexes (``action`` "keep" leaves them) and say which are present."""
    with connection.cursor() as cursor:
        if action != "keep":
            for name, sql in PROPOSED_INDEXES.items():
                cursor.execute(sql if action == "create" else f"DROP INDEX IF EXISTS {name}")
            cursor.execute("ANALYZE mediation_case")
        cursor.execute("SELECT indexname FROM pg_indexes WHERE tablename = 'mediation_case'")
        present = sorted(set(PROPOSED_INDEXES) & {r[0] for r in cursor.fetchall()})
    print(f"proposed indexes present: {', '.join(present) or 'none'}")


def _export_row(count: int, cases: int) -> tuple[str, str]:
    """Export about ``count`` rows of the ledger; time and peak memory."""
    user = get_user_model().objects.get(username="district_supervisor")
    ordered = Case.objects.order_by("received_at", "pk").values_list("received_at", flat=True)
    first = ordered.first()
    last = ordered[min(count, cases) - 1]
    # The export takes the case list's filters: "received in this date range" picks about N cases.
    filters = CaseFilters(received_from=timezone.localdate(first), received_to=timezone.localdate(last))
    small = ledger.ledger_export(user=user, filters=CaseFilters(received_to=timezone.localdate(first)),
                                 query_string="bench warm-up")
    small.file.close()
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    result = ledger.ledger_export(user=user, filters=filters, query_string="bench")
    elapsed = time.perf_counter() - started
    rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    size = result.file.seek(0, 2)
    result.file.close()
    return (f"ledger export, {result.rows:,} rows", f"{elapsed:.1f} s ({result.rows / elapsed:,.0f} rows/s); "
            f"{size / 1e6:.1f} MB file; peak RSS {rss_before / 1024:.0f} MB before, "
            f"{rss_after / 1024:.0f} MB after")


def _import_rows(count: int, cases: int) -> list[tuple[str, str]]:
    """Export about ``count`` rows, then time a dry-run import of the file and a real one rolled back."""
    rows: list[tuple[str, str]] = []
    user = get_user_model().objects.get(username="district_supervisor")
    ordered = Case.objects.order_by("received_at", "pk").values_list("received_at", flat=True)
    last = ordered[min(count, cases) - 1]
    exported = ledger.ledger_export(user=user, filters=CaseFilters(received_to=timezone.localdate(last)),
                                    query_string="bench import")
    data = exported.file.read()
    exported.file.close()
    started = time.perf_counter()
    report = ledger.ledger_import(user=user, data=data, dry_run=True)
    elapsed = time.perf_counter() - started
    rows.append((f"ledger import check (dry run), {report.rows:,} rows",
                 f"{elapsed:.1f} s; {len(report.errors)} problems (pending escalations cannot be imported); "
                 f"{len(report.skipped):,} already present (counted only when there are no problems)"))
    # The same rows imported for real as new cases (numbers blanked, pending escalations left out),
    # inside a transaction that is rolled back: the bench database keeps its cases.
    fresh = _without_numbers(data)
    started = time.perf_counter()
    with transaction.atomic():
        report = ledger.ledger_import(user=user, data=fresh, dry_run=False)
        elapsed = time.perf_counter() - started
        transaction.set_rollback(True)
    rows.append((f"ledger import (written, then rolled back), {report.rows:,} rows",
                 f"{elapsed:.1f} s ({report.created:,} cases created; {len(report.errors)} problems)"))
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--refresh", action="store_true", help="rebuild the summary first and time it")
    parser.add_argument("--repeat", type=int, default=10, help="page requests per user (default 10)")
    parser.add_argument("--no-live", action="store_true", help="skip the all-live comparison")
    parser.add_argument("--proposed-nav", action="store_true",
                        help="simulate the proposed navigation badge (two index counts instead of one OR count)")
    parser.add_argument("--proposed-indexes", choices=("keep", "create", "drop"), default="keep",
                        help="create or drop the two partial indexes docs/performance.md proposes before measuring")
    parser.add_argument("--export", type=int, default=0, help="export a ledger of this many rows (0: skip)")
    parser.add_argument("--import-check", type=int, default=0,
                        help="export about this many rows and time a dry-run import of the file (0: skip)")
    args = parser.parse_args()

    cases, logs = Case.objects.count(), TransitionLog.objects.count()
    vendor = connection.vendor
    print(f"database: {vendor} {connection.settings_dict.get('NAME')}; cases {cases:,}; transition logs {logs:,}")
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, Python "
          f"{platform.python_version()}")
    rows: list[tuple[str, str]] = []
    if args.refresh:
        started = time.perf_counter()
        state = statistics_refresh()
        rows.append(("refresh_statistics", f"{time.perf_counter() - started:.1f} s ({state.rows:,} summary rows)"))
    if args.proposed_indexes != "keep" and vendor != "postgresql":
        parser.error("--proposed-indexes needs PostgreSQL")
    if vendor == "postgresql":
        _proposed_indexes(args.proposed_indexes)
    if args.proposed_nav:
        _simulate_proposed_nav()
    for username in USERS:
        times, nav, queries, size = page_times(username, args.repeat)
        mid = len(times) // 2
        rows.append((f"statistics page, {username} (median / worst of {len(times)})",
                     f"{ms(sorted(times)[mid])} / {ms(max(times))}; {queries} queries; {size // 1024} KB; "
                     f"of which the navigation's overdue badge {ms(sorted(nav)[mid])}"))
    if not args.no_live:
        for username in USERS:
            user = get_user_model().objects.get(username=username)
            started = time.perf_counter()
            statistics_compute(user=user, query=StatisticsQuery.last_twelve_months(), use_summary=False)
            rows.append((f"figures all live (no summary), {username}", ms(time.perf_counter() - started)))
    # Production does not keep a log of every query (DEBUG does, up to 9,000 of them: with
    # chunked exports that alone grows the process by tens of megabytes).
    settings.DEBUG = False
    if args.export:
        rows.append(_export_row(args.export, cases))
    if args.import_check:
        rows += _import_rows(args.import_check, cases)
    print()
    print("| measurement | result |")
    print("|---|---|")
    for name, value in rows:
        print(f"| {name} | {value} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
