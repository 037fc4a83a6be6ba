"""Server time and query counts of the pages mediators live in, on whatever DATABASE_URL points at.

Usage (after `manage.py seed_demo` and `manage.py generate_cases --count 100000`):

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/mediation_bench DEBUG=1 \\
        .venv/bin/python bench/web_pages.py --runs 15

It drives the real views through Django's test client (no network, no browser), so the
figures are server time: URL routing, permission filters, queries and template rendering.
``--case-sample N`` adds a row for N of the user's cases picked at random (seeded), each run
opening all of them: a case page's cost depends on what the case holds, and one case says little.
Prints a Markdown table for docs/performance.md. Never gated on time.

``--serve`` (for ``bench/growth.py --interleave``) times nothing by itself: it signs the users in,
prints one JSON line naming their pages and the search texts, then answers each line read from its
standard input — ``{"page": i}``, or ``{"page": i, "warm": true}`` for a request not counted — with
one timed request of that page (``{"ms": …, "queries": …}``), so that another process can alternate
the requests of two databases.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import quote

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mediation.settings")
os.environ.setdefault("DEBUG", "1")

import django

django.setup()

from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from mediation.models import Case
from mediation.selectors import case_list_visible_to


def timed(client: Client, urls: list[str], clock=time.perf_counter) -> tuple[float, float]:
    """One run over ``urls``: milliseconds and queries per page."""
    with CaptureQueriesContext(connection) as ctx:
        start = clock()
        for url in urls:
            response = client.get(url)
            assert response.status_code == 200, (url, response.status_code)
        ms = (clock() - start) * 1000 / len(urls)
    return ms, len(ctx.captured_queries) / len(urls)


def measure(client: Client, url: str, runs: int, clock=time.perf_counter) -> tuple[float, float, int]:
    client.get(url)  # warm caches (templates, connection)
    times = []
    queries = 0.0
    for _ in range(runs):
        ms, queries = timed(client, [url], clock)
        times.append(ms)
    ordered = sorted(times)
    return ordered[len(ordered) // 2], ordered[-1], int(queries)


def measure_many(client: Client, urls: list[str], runs: int, clock=time.perf_counter) -> tuple[float, float, float]:
    """:func:`measure` of several pages at once: each run opens every one of them; per page, the
    median and the slowest run's time and the mean number of queries."""
    for url in urls:
        client.get(url)
    times = []
    queries = 0.0
    for _ in range(runs):
        ms, queries = timed(client, urls, clock)
        times.append(ms)
    return statistics.median(times), max(times), queries


def case_sample(user, n: int) -> list[str]:
    """The pages of ``n`` of the user's cases (among their first 5,000 by id), the same on every run."""
    ids = list(case_list_visible_to(user=user).order_by("pk").values_list("pk", flat=True)[:5000])
    return [f"/cases/{pk}/" for pk in random.Random(1).sample(ids, min(n, len(ids)))]


def pages_for(user, sample: dict) -> list[tuple[str, str]]:
    """The pages with a speed target (docs/performance.md) this user opens, with the sample case's
    number, applicant and employer."""
    from mediation import permissions

    pages = [("home", "/")]
    if permissions.holds(user, "decide_escalation"):
        pages.append(("escalation queue", "/escalations/"))
    pages += [
        ("case list, page 1", "/cases/"),
        ("case list, 100 per page", "/cases/?per_page=100"),
        ("case list, page 50", "/cases/?page=50"),
        ("case list, filtered (joint mediation, wages)", "/cases/?state=joint_mediation&category=wages"),
        ("case list, overdue", "/cases/?overdue=on"),
        ("case list, search by number", f"/cases/?q={quote(sample['number'])}"),
        ("case list, search by name", f"/cases/?q={quote(sample['name'])}"),
        ("case list, search by ID number", f"/cases/?q={sample['id_number']}"),
        ("case list, search by employer", f"/cases/?q={quote(sample['employer'][:6])}"),
        ("case page", f"/cases/{sample['pk']}/"),
    ]
    if permissions.holds(user, "read_statistics", "view_case"):
        pages.append(("statistics page", "/reports/statistics/"))
    return pages


#: How a request is timed (--clock).
CLOCKS = {"wall": time.perf_counter, "cpu": time.process_time}

#: What the searches look for: the sample's number, applicant's name and ID number, employer.
SEARCHED = ("number", "name", "id_number", "employer")


def sample_case(user) -> dict | None:
    """The user's most recent case with an applicant who gave an ID number (what people search for)."""
    from mediation.models import CaseParty

    visible = case_list_visible_to(user=user)
    for pk, number, employer in visible.order_by("-received_at").values_list("pk", "number", "employer__name")[:50]:
        party = (CaseParty.objects.filter(case_id=pk, role="applicant", person__id_number__isnull=False)
                 .values_list("name", "person__id_number").first())
        if party:
            return {"pk": pk, "number": number, "employer": employer, "name": party[0], "id_number": party[1]}
    return None


def planned(args: argparse.Namespace) -> tuple[list[dict], dict[str, dict]]:
    """Each user's pages to time — ``{"user", "page", "urls", "client"}``, a client signed in as the
    user — and the search texts they use (read from ``--searches`` where given)."""
    User = get_user_model()
    given = Path(args.searches) if args.searches else None
    searches: dict[str, dict] = json.loads(given.read_text()) if given and given.exists() else {}
    chosen: dict[str, dict] = {}
    wanted = [w.strip() for w in args.pages.split(",") if w.strip()]
    entries: list[dict] = []
    for username in args.users.split(","):
        user = User.objects.get(username=username)
        client = Client(HTTP_HOST="localhost")
        client.force_login(user)
        sample = sample_case(user)
        if sample is None:
            raise SystemExit(f"{username} sees no cases: generate some first (manage.py generate_cases)")
        # The case page opens the user's own sample case; the searches look for the texts given, so
        # that two databases are asked the very same searches.
        sample.update(searches.get(username, {}))
        chosen[username] = {key: sample[key] for key in SEARCHED}
        for label, url in pages_for(user, sample):
            if not wanted or any(w in label for w in wanted):
                entries.append({"user": username, "page": label, "urls": [url], "client": client})
        label = f"case pages ({args.case_sample} of theirs)"
        if args.case_sample and not (wanted and not any(w in label for w in wanted)):
            entries.append({"user": username, "page": label, "urls": case_sample(user, args.case_sample),
                            "client": client, "many": True})
    if given and not given.exists():
        given.write_text(json.dumps(chosen, ensure_ascii=False, indent=1))
    return entries, chosen


def serve(entries: list[dict], clock) -> None:
    """``--serve``: the pages on one line, then one timed request per line read (module docstring)."""
    print(json.dumps({"cases": Case.objects.count(),
                      "pages": [{"user": e["user"], "page": e["page"]} for e in entries]}, ensure_ascii=False),
          flush=True)
    for line in sys.stdin:
        asked = json.loads(line)
        entry = entries[asked["page"]]
        if asked.get("warm"):
            for url in entry["urls"]:
                entry["client"].get(url)
            print(json.dumps({"warm": True}), flush=True)
            continue
        ms, queries = timed(entry["client"], entry["urls"], clock)
        print(json.dumps({"ms": round(ms, 3), "queries": queries}), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--users", default="district_supervisor,jinping_supervisor,jinping_mediator,district_auditor")
    parser.add_argument("--pages", default="", help="only the pages whose label contains one of these "
                                                     "comma-separated words, e.g. --pages 'case page'")
    parser.add_argument("--json", default="", help="also write the figures to this file (bench/growth.py)")
    parser.add_argument("--clock", choices=sorted(CLOCKS), default="wall",
                        help="wall: time from request to response (the default); cpu: the CPU time of this "
                             "process alone (Django's share without the database's; steadier on a busy machine)")
    parser.add_argument("--case-sample", type=int, default=0,
                        help="also time the pages of this many of each user's cases, picked at random (seeded)")
    parser.add_argument("--searches", default="",
                        help="a JSON file of each user's search texts: read when it exists (the same searches on "
                             "another database, bench/growth.py), else written with the ones chosen here")
    parser.add_argument("--serve", action="store_true",
                        help="time one request per line read from standard input (bench/growth.py --interleave)")
    args = parser.parse_args()
    entries, _chosen = planned(args)
    if args.serve:
        serve(entries, CLOCKS[args.clock])
        return
    total = Case.objects.count()
    print(f"cases in database: {total:,} ({connection.vendor})\n")
    print("| user | page | median ms | max ms | queries |")
    print("|---|---|---:|---:|---:|")
    results = []
    for entry in entries:
        if entry.get("many"):
            median, worst, mean_queries = measure_many(entry["client"], entry["urls"], args.runs, CLOCKS[args.clock])
            queries: float = round(mean_queries, 1)
            print(f"| {entry['user']} | {entry['page']} | {median:.0f} | {worst:.0f} | {mean_queries:.1f} |")
            results.append({"user": entry["user"], "page": entry["page"], "median_ms": round(median, 1),
                            "max_ms": round(worst, 1), "queries": queries})
            continue
        median, worst, count = measure(entry["client"], entry["urls"][0], args.runs, CLOCKS[args.clock])
        print(f"| {entry['user']} | {entry['page']} | {median:.0f} | {worst:.0f} | {count} |")
        results.append({"user": entry["user"], "page": entry["page"], "url": entry["urls"][0],
                        "median_ms": round(median, 1), "max_ms": round(worst, 1), "queries": count})
    if args.json:
        Path(args.json).write_text(json.dumps({"cases": total, "results": results}, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
