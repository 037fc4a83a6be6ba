"""The same pages on a large and a small database in one run, and how their cost grows.

Usage (both databases filled as docs/performance.md says, e.g. 1,000,000 and 100,000 cases):

    .venv/bin/python bench/growth.py --runs 9 \\
        postgres://postgres@127.0.0.1:5432/mediation_bench_1m postgres://postgres@127.0.0.1:5432/mediation_bench

It runs ``bench/web_pages.py`` on each database in turn (a process each: one Django set-up per
database) and prints one Markdown table: median server time on each, the ratio large ÷ small
(the target: at most 1.3, docs/performance.md) and the queries per request. Never gated on time.

``--rounds N`` runs the pair N times, small and large in turn, and reports for each page the median of
its N medians on each database: a host whose speed drifts by a tenth within a minute then moves both
sides alike, not the one measured second.

The searches are the same on both: the small database's run chooses each user's search texts (the
number, applicant, ID number and employer of their latest case there) and the large one's searches
for exactly those, so that a ratio compares one search with itself. (Each case page is the user's
latest case on each database.)
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run(url: str, runs: int, users: str, pages: str, searches: Path) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "figures.json"
        env = {**os.environ, "DATABASE_URL": url, "DEBUG": os.environ.get("DEBUG", "1")}
        command = [sys.executable, str(ROOT / "bench" / "web_pages.py"), "--runs", str(runs), "--json", str(out),
                   "--searches", str(searches)]
        if users:
            command += ["--users", users]
        if pages:
            command += ["--pages", pages]
        subprocess.run(command, cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)
        return json.loads(out.read_text())


def merged(runs: list[dict]) -> dict:
    """One run's figures from several: each page's median of its medians (queries from the first)."""
    times: dict[tuple[str, str], list[float]] = {}
    for figures in runs:
        for r in figures["results"]:
            times.setdefault((r["user"], r["page"]), []).append(r["median_ms"])
    results = [{**r, "median_ms": statistics.median(times[(r["user"], r["page"])])} for r in runs[0]["results"]]
    return {**runs[0], "results": results}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("large")
    parser.add_argument("small")
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--users", default="")
    parser.add_argument("--pages", default="")
    parser.add_argument("--rounds", type=int, default=1, help="pairs of runs, small and large in turn")
    args = parser.parse_args()
    smalls, larges = [], []
    with tempfile.TemporaryDirectory() as tmp:
        searches = Path(tmp) / "searches.json"
        for _ in range(max(1, args.rounds)):
            smalls.append(run(args.small, args.runs, args.users, args.pages, searches))  # the first chooses
            larges.append(run(args.large, args.runs, args.users, args.pages, searches))  # the searches
    small, large = merged(smalls), merged(larges)
    rounds = f"; the median of {len(smalls)} rounds, small and large in turn" if len(smalls) > 1 else ""
    print(f"large: {large['cases']:,} cases; small: {small['cases']:,} cases; the same search texts on both "
          f"(chosen on the small one){rounds}\n")
    print("| user | page | large, median ms | small, median ms | large ÷ small | queries (large) |")
    print("|---|---|---:|---:|---:|---:|")
    by_key = {(r["user"], r["page"]): r for r in small["results"]}
    for r in large["results"]:
        s = by_key.get((r["user"], r["page"]))
        if s is None:
            continue
        ratio = r["median_ms"] / s["median_ms"] if s["median_ms"] else float("inf")
        print(f"| {r['user']} | {r['page']} | {r['median_ms']:.0f} | {s['median_ms']:.0f} | {ratio:.2f} "
              f"| {r['queries']} |")


if __name__ == "__main__":
    main()
