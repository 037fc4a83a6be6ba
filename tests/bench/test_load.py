"""bench/load.py runs end to end on tiny data, so it does not rot.

The same throwaway SQLite database as the other benchmark scripts (``migrate``, ``seed_demo``,
``generate_cases --count 300``), two users (a mediator and a supervisor) for a few seconds
(``--every-kind``: longer if the machine is slow, until each kind of request was made), against a
real gunicorn started by the script with the production configuration. Correctness only, never
timing: every kind of request ran and none failed — the pages answered 200 and each
write (a session record, an instalment payment, a new case through the intake form) was taken —
and the tables were printed.
"""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.bench.test_smoke import ROOT, bench_env  # noqa: F401  (the tiny database, built once per module)

pytestmark = pytest.mark.benchmark


@pytest.fixture
def load_env(bench_env: dict[str, str], tmp_path: Path) -> dict[str, str]:  # noqa: F811
    """A copy of the tiny database for each test: a run's writes (payments of the open instalments,
    new cases) must not decide what the next test finds, however long a slow machine made it run."""
    db = tmp_path / "load.sqlite3"
    shutil.copyfile(bench_env["DATABASE_URL"].removeprefix("sqlite:///"), db)
    return {**bench_env, "DATABASE_URL": f"sqlite:///{db}", "MEDIA_ROOT": str(tmp_path / "media")}

KINDS = ("case page", "case list", "case list, filtered", "case list, search", "case list, later page",
         "home", "escalations", "session", "payment", "intake form", "intake")


def table_rows(out: str) -> dict[str, list[str]]:
    rows = {}
    for line in out.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("| ") and len(cells) == 8 and cells[0] != "request":
            rows[cells[0]] = cells[1:]
    return rows


def test_the_load_test_runs_every_kind_of_request_without_a_failure(load_env):
    done = subprocess.run(
        [sys.executable, "bench/load.py", "--users", "2", "--duration", "5", "--warmup", "1", "--workers", "2",
         "--every-kind"],
        cwd=ROOT, env=load_env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    out = done.stdout
    rows = table_rows(out)
    for kind in KINDS:
        assert kind in rows, (kind, out)
        requests, failures = int(rows[kind][0].replace(",", "")), int(rows[kind][1])
        assert requests >= 1 and failures == 0, (kind, rows[kind])
    assert int(rows["**all**"][1]) == 0
    assert sum(int(rows[kind][0]) for kind in KINDS) == int(rows["**all**"][0].replace(",", ""))
    workers = [line for line in out.splitlines() if line.startswith("| worker ")]
    assert len(workers) >= 2 and all(int(line.split("|")[2]) > 0 for line in workers), out
    assert "gunicorn 2 workers × 1 thread" in out and "335 cases" in out
    assert "closed loop, no think time" in out and "load average" in out


def test_a_write_that_does_not_take_fails_the_run(load_env):
    """A payment dated in the future is refused by the form: the run must report it and exit 1."""
    done = subprocess.run(
        [sys.executable, "bench/load.py", "--users", "1", "--duration", "1", "--warmup", "0", "--workers", "1",
         "--every-kind", "--payment-date", "2999-01-01"],
        cwd=ROOT, env=load_env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 1, done.stdout[-3000:] + done.stderr[-3000:]
    assert "payment: 400" in done.stdout, done.stdout[-3000:]
