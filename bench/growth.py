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

``--interleave`` measures both databases at once instead: a process is kept open on each
(``bench/web_pages.py --serve``), and each page's requests alternate between them — one on the small
database, one on the large, the next pair the other way round (counted across pages and rounds) —
``--runs`` pairs a page, the pages one after another, ``--rounds`` times over. The two sides of a
ratio are then timed within milliseconds of each other: on a host whose speed moves by a third from
one minute to the next (docs/performance.md, "Eighteenth pass"), the runs in turn compare one minute's
speed with another's as much as one database with the other. Each row also gives the median of the
pairs' own ratios.

The searches are the same on both: the small database's run chooses each user's search texts (the
number, applicant, ID number and employer of their latest case there) and the large one's searches
for exactly those, so that a ratio compares one search with itself. (Each case page is the user's
latest case on each database.)
"""
from __future__ import annotations

import argparse
import contextlib
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


class Server:
    """``bench/web_pages.py --serve`` on one database: its pages, and one timed request on asking."""

    def __init__(self, url: str, users: str, pages: str, searches: Path) -> None:
        env = {**os.environ, "DATABASE_URL": url, "DEBUG": os.environ.get("DEBUG", "1")}
        command = [sys.executable, str(ROOT / "bench" / "web_pages.py"), "--serve", "--searches", str(searches)]
        if users:
            command += ["--users", users]
        if pages:
            command += ["--pages", pages]
        self.process = subprocess.Popen(command, cwd=ROOT, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        text=True)
        first = self._line()
        self.cases: int = first["cases"]
        self.pages: list[tuple[str, str]] = [(p["user"], p["page"]) for p in first["pages"]]

    def _line(self) -> dict:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            raise SystemExit(f"bench/web_pages.py --serve stopped (exit {self.process.wait()})")
        return json.loads(line)

    def ask(self, page: int, warm: bool = False) -> dict:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps({"page": page, "warm": warm}) + "\n")
        self.process.stdin.flush()
        return self._line()

    def close(self) -> None:
        """Ends the server: its input closed, it stops; killed if it has not within a minute."""
        if self.process.stdin is not None:
            self.process.stdin.close()
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def interleaved(large: Server, small: Server, runs: int, rounds: int) -> list[dict]:
    """Each page both servers have: ``runs`` pairs of requests a round, alternating which goes first;
    per page the median on each side, the median of the pairs' ratios and the large side's queries."""
    pages = [key for key in large.pages if key in small.pages]
    times: dict[tuple[str, str], tuple[list[float], list[float], list[float]]] = {k: ([], [], []) for k in pages}
    queries: dict[tuple[str, str], float] = {}
    pairs = 0  # counted across pages and rounds: with an odd --runs neither side goes first more often
    for _round in range(rounds):
        for key in pages:
            on_large, on_small = large.pages.index(key), small.pages.index(key)
            large.ask(on_large, warm=True)
            small.ask(on_small, warm=True)
            big, little, ratios = times[key]
            for _run in range(runs):
                pairs += 1
                if pairs % 2 == 0:
                    b = large.ask(on_large)
                    s = small.ask(on_small)
                else:
                    s = small.ask(on_small)
                    b = large.ask(on_large)
                big.append(b["ms"])
                little.append(s["ms"])
                ratios.append(b["ms"] / s["ms"] if s["ms"] else float("inf"))
                queries[key] = b["queries"]
    return [{"user": user, "page": page, "large_ms": statistics.median(times[(user, page)][0]),
             "small_ms": statistics.median(times[(user, page)][1]),
             "pair_ratio": statistics.median(times[(user, page)][2]), "queries": queries[(user, page)]}
            for user, page in pages]


def main_interleaved(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp, contextlib.ExitStack() as servers:
        searches = Path(tmp) / "searches.json"
        small = Server(args.small, args.users, args.pages, searches)  # it chooses the searches
        servers.callback(small.close)
        large = Server(args.large, args.users, args.pages, searches)  # and this one reads them
        servers.callback(large.close)
        rows = interleaved(large, small, args.runs, max(1, args.rounds))
    print(f"large: {large.cases:,} cases; small: {small.cases:,} cases; the same search texts on both (chosen on "
          f"the small one); interleaved: {args.runs} pairs of requests a page, {max(1, args.rounds)} round(s)\n")
    print("| user | page | large, median ms | small, median ms | large ÷ small | median of the pairs' ratios "
          "| queries (large) |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for r in rows:
        ratio = r["large_ms"] / r["small_ms"] if r["small_ms"] else float("inf")
        queries = r["queries"]
        shown = f"{queries:.0f}" if float(queries).is_integer() else f"{queries:.1f}"
        print(f"| {r['user']} | {r['page']} | {r['large_ms']:.0f} | {r['small_ms']:.0f} | {ratio:.2f} "
              f"| {r['pair_ratio']:.2f} | {shown} |")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("large")
    parser.add_argument("small")
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--users", default="")
    parser.add_argument("--pages", default="")
    parser.add_argument("--rounds", type=int, default=1,
                        help="pairs of runs, small and large in turn (--interleave: rounds over the pages)")
    parser.add_argument("--interleave", action="store_true",
                        help="a process on each database, each page's requests alternating between them")
    args = parser.parse_args()
    if args.interleave:
        main_interleaved(args)
        return
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
