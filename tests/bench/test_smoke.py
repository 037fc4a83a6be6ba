"""bench/statistics_page.py and bench/web_pages.py run end to end on tiny data, so neither rots.

Each benchmark is a script that sets Django up against ``DATABASE_URL`` itself, so it runs
here as a subprocess against a throwaway SQLite database filled the way docs/performance.md
says: ``migrate``, ``seed_demo``, ``generate_cases``. Correctness only, never timing: the
scripts must finish, print their tables, and the ledger import step must find no problem in
the ledger the system itself exported (every generated row is one registration would accept).
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.benchmark

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def bench_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    db = tmp_path_factory.mktemp("bench") / "bench.sqlite3"
    env = {**os.environ, "DEBUG": "1", "DATABASE_URL": f"sqlite:///{db}",
           "MEDIA_ROOT": str(db.parent / "media")}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    for command in (["migrate", "-v0"], ["seed_demo"], ["generate_cases", "--count", "300", "--seed", "7"]):
        subprocess.run([sys.executable, "manage.py", *command], cwd=ROOT, env=env, check=True,
                       capture_output=True, timeout=600)
    return env


def run(env: dict[str, str], *args: str, timeout: int = 600) -> str:
    done = subprocess.run([sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def growth_module():
    """bench/growth.py as a module (bench/ is not a package)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("growth", ROOT / "bench" / "growth.py")
    assert spec is not None and spec.loader is not None
    growth = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(growth)
    return growth


def test_the_statistics_benchmark_measures_every_step(bench_env):
    out = run(bench_env, "bench/statistics_page.py", "--refresh", "--export", "150", "--import-check", "150",
              "--repeat", "1")
    for step in ("refresh_statistics", "statistics page, district_admin", "statistics page, jinping_supervisor",
                 "ledger export", "ledger import check (dry run)", "ledger import (written, then rolled back)"):
        assert f"| {step}" in out, step
    # The dry run reports the pending escalations, which the ledger refuses by rule; the real
    # import leaves them out, and every other exported row must register again.
    imported = next(line for line in out.splitlines() if line.startswith("| ledger import (written"))
    assert "; 0 problems)" in imported and "(0 cases created" not in imported, imported


def test_the_web_pages_benchmark_measures_every_page(bench_env):
    out = run(bench_env, "bench/web_pages.py", "--runs", "1")
    rows = [line for line in out.splitlines() if line.startswith("| ") and "| user |" not in line]
    pages = {line.split("|")[2].strip() for line in rows if not line.startswith("|---")}
    assert {"home", "case list, page 1", "case list, overdue", "case page"} <= pages, pages


def test_the_web_pages_benchmark_times_a_sample_of_each_user_s_case_pages(bench_env):
    out = run(bench_env, "bench/web_pages.py", "--runs", "1", "--users", "jinping_mediator", "--pages", "case pages",
              "--case-sample", "3")
    rows = [line.split("|") for line in out.splitlines() if line.startswith("| jinping_mediator |")]
    assert [row[2].strip() for row in rows] == ["case pages (3 of theirs)"], out
    assert float(rows[0][3]) > 0 and float(rows[0][5]) >= 1, rows  # a time, and each page asked the database


def test_the_growth_benchmark_pairs_the_same_pages_of_two_databases(bench_env):
    url = bench_env["DATABASE_URL"]
    out = run(bench_env, "bench/growth.py", "--runs", "1", "--rounds", "2", "--users", "jinping_mediator", url, url)
    rows = [line for line in out.splitlines() if line.startswith("| jinping_mediator |")]
    pages = {line.split("|")[2].strip() for line in rows}
    assert {"home", "case list, page 1", "case list, search by ID number", "case page"} <= pages, pages
    assert all(line.split("|")[5].strip() not in ("", "inf") for line in rows), rows  # a ratio on every row
    assert "the median of 2 rounds" in out, out


def test_the_growth_benchmark_takes_each_page_s_median_over_its_rounds():
    growth = growth_module()

    def figures(home: float, page: float) -> dict:
        return {"cases": 10, "results": [{"user": "u", "page": "home", "median_ms": home, "queries": 14},
                                         {"user": "u", "page": "case page", "median_ms": page, "queries": 10}]}

    merged = growth.merged([figures(30, 5), figures(10, 7), figures(20, 6)])
    assert [(r["page"], r["median_ms"], r["queries"]) for r in merged["results"]] == [
        ("home", 20, 14), ("case page", 6, 10)]


def test_the_web_pages_benchmark_searches_for_the_texts_it_is_given_or_writes_down_its_own(bench_env, tmp_path):
    """bench/growth.py asks two databases the same searches: the first run writes its texts down,
    the second reads them."""
    import json
    from urllib.parse import quote

    chosen = tmp_path / "searches.json"
    run(bench_env, "bench/web_pages.py", "--runs", "1", "--users", "jinping_mediator", "--pages", "search",
        "--searches", str(chosen))
    written = json.loads(chosen.read_text())
    assert set(written["jinping_mediator"]) == {"number", "name", "id_number", "employer"}
    given = {"jinping_mediator": {"number": "锦调〔2099〕1号", "name": "无此人", "id_number": "330283199001011234",
                                  "employer": "没有这家单位"}}
    chosen.write_text(json.dumps(given, ensure_ascii=False))
    figures = tmp_path / "figures.json"
    run(bench_env, "bench/web_pages.py", "--runs", "1", "--users", "jinping_mediator", "--pages", "search",
        "--searches", str(chosen), "--json", str(figures))
    urls = {r["page"]: r["url"] for r in json.loads(figures.read_text())["results"]}
    assert urls == {"case list, search by number": f"/cases/?q={quote('锦调〔2099〕1号')}",
                    "case list, search by name": f"/cases/?q={quote('无此人')}",
                    "case list, search by ID number": "/cases/?q=330283199001011234",
                    "case list, search by employer": f"/cases/?q={quote('没有这家单位')}"}
    assert json.loads(chosen.read_text()) == given  # read, not written over


def test_the_search_benchmark_times_each_user_and_term_and_compares_two_versions(bench_env, tmp_path):
    before = tmp_path / "selectors_before.py"
    before.write_text((ROOT / "mediation" / "selectors.py").read_text(encoding="utf-8"), encoding="utf-8")
    out = run(bench_env, "bench/search.py", "--runs", "1", "--users", "jinping_mediator,xikou_mediator",
              "--before", str(before))
    rows = [line.split("|") for line in out.splitlines() if line.startswith("| jinping_mediator |")
            or line.startswith("| xikou_mediator |")]
    assert len(rows) == 6, out  # two users × the three default terms
    assert all(cells[4].strip().isdigit() and cells[5].strip().isdigit() for cells in rows), out


@pytest.mark.skipif(shutil.which("valgrind") is None, reason="bench/instructions.py counts with valgrind")
def test_the_instructions_benchmark_counts_the_requests_of_each_user(bench_env):
    # Two runs under valgrind, each some fifty times slower than without: a slow machine needs time.
    out = run(bench_env, "bench/instructions.py", "--users", "jinping_supervisor", "--rounds", "1", timeout=1800)
    rows = [line.split("|") for line in out.splitlines() if line.startswith("| jinping_supervisor |")]
    assert len(rows) == 1, out
    # One round of the mix: five case pages, the list, the list by state, a later page, home, the queue.
    assert int(rows[0][2]) == 10, rows
    assert float(rows[0][3]) > 1, rows  # millions of instructions a request: Django did the work


def test_the_growth_benchmark_interleaves_the_two_databases_requests(bench_env):
    url = bench_env["DATABASE_URL"]
    out = run(bench_env, "bench/growth.py", "--interleave", "--runs", "2", "--rounds", "2", "--users",
              "jinping_mediator", "--pages", "home,case page,search by ID", url, url)
    rows = {line.split("|")[2].strip(): line.split("|") for line in out.splitlines() if line.startswith("| jinping_")}
    assert set(rows) == {"home", "case page", "case list, search by ID number"}, out
    for cells in rows.values():
        assert float(cells[3]) > 0 and float(cells[4]) > 0, cells  # a time on each side
        assert cells[5].strip() not in ("", "inf") and cells[6].strip() not in ("", "inf"), cells
        assert float(cells[7]) >= 1, cells  # the page asked the database
    assert "interleaved: 2 pairs of requests a page, 2 round(s)" in out, out


def test_the_interleaved_growth_benchmark_alternates_which_database_goes_first():
    growth = growth_module()
    asked: list[tuple[str, int, bool]] = []

    class Fake:
        def __init__(self, name: str, pages: list[tuple[str, str]], times: dict[int, list[float]]) -> None:
            self.name, self.pages, self.times = name, pages, times

        def ask(self, page: int, warm: bool = False) -> dict:
            asked.append((self.name, page, warm))
            return {"warm": True} if warm else {"ms": self.times[page].pop(0), "queries": 9}

    # The large database lists the pages in another order, and has one the small one has not.
    large = Fake("large", [("u", "case page"), ("u", "only here"), ("u", "home")],
                 {0: [12.0, 30.0, 14.0], 2: [40.0, 44.0, 60.0]})
    small = Fake("small", [("u", "home"), ("u", "case page")], {1: [10.0, 10.0, 20.0], 0: [20.0, 40.0, 30.0]})
    rows = growth.interleaved(large, small, runs=3, rounds=1)
    # Each page: both warmed, then its pairs, small and large first in turn, counted on from page to
    # page (with three pairs a page, neither side goes first more often over the two pages).
    assert asked == [("large", 0, True), ("small", 1, True), ("small", 1, False), ("large", 0, False),
                     ("large", 0, False), ("small", 1, False), ("small", 1, False), ("large", 0, False),
                     ("large", 2, True), ("small", 0, True), ("large", 2, False), ("small", 0, False),
                     ("small", 0, False), ("large", 2, False), ("large", 2, False), ("small", 0, False)]
    # Medians by hand: case page large 12, 30, 14 → 14; small 10, 10, 20 → 10; pairs 1.2, 3.0, 0.7 → 1.2.
    # Home: large 40, 44, 60 → 44; small 20, 40, 30 → 30; pairs 2.0, 1.1, 2.0 → 2.0.
    assert [(r["page"], r["large_ms"], r["small_ms"], round(r["pair_ratio"], 2)) for r in rows] == [
        ("case page", 14.0, 10.0, 1.2), ("home", 44.0, 30.0, 2.0)]
