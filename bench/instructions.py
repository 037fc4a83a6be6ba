"""Instructions the server spends per request, counted by valgrind (callgrind), on DATABASE_URL.

Usage (a database filled with `manage.py seed_demo` and `manage.py generate_cases`, docs/demo.md):

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/mediation_bench \\
        .venv/bin/python bench/instructions.py --users jinping_mediator,jinping_supervisor --rounds 2

Times on a shared host move by a fifth from one run to the next; instruction counts do not:
``valgrind --tool=callgrind`` counts the same for the same work whatever else the machine does. So
this is how the Python side of two versions is compared (``--server-dir`` runs another checkout, e.g.
a ``git worktree`` of an older commit, with the same virtual environment and database).

For each user, the process runs twice under callgrind: it signs in through Django's test client
(DEBUG off, the second factor off), reads two rounds of the mix (warm: templates compiled, statements
prepared; the case pages and the later page of each round are picked afresh, so the measured rounds
read cases the warm-up did not), then ``--rounds`` more in the second run and none in the first.
The difference between the two runs' totals, divided by the requests of the rounds, is the count
per request: start-up and warm-up cancel out. PostgreSQL's own work is not counted (another
process); SQLite's is.

The mix, per round, like the load test's (bench/locustfile.py): five of the user's case pages
(picked at random, seeded; the same in both runs and on both versions), the case list, the list
filtered by state, a later page, the home page; and the escalation queue for a user who decides
escalations. Prints a Markdown table. Never gated: the figures are in docs/performance.md.
"""
from __future__ import annotations

import argparse
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CASE_PAGES = 5


def mix(rng: random.Random, ids: list[int], pages: int, decides: bool) -> list[str]:
    paths = [f"/cases/{rng.choice(ids)}/" for _ in range(CASE_PAGES)] if ids else []
    paths += ["/cases/", "/cases/?state=joint_mediation", f"/cases/?page={rng.randint(1, max(1, pages))}", "/"]
    if decides:
        paths.append("/escalations/")
    return paths


def inner(username: str, rounds: int, seed: int) -> None:
    """The measured process: Django set up in the server's checkout (the current directory)."""
    sys.path.insert(0, str(Path.cwd()))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mediation.settings")
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.test import Client

    from mediation import permissions
    from mediation.selectors import case_list_visible_to

    user = get_user_model().objects.get(username=username)
    client = Client(HTTP_HOST="testserver")
    client.force_login(user)
    visible = case_list_visible_to(user=user)
    ids = list(visible.order_by("pk").values_list("pk", flat=True)[:5000])
    pages = min(visible.count() // 20, 500)
    rng = random.Random(seed)
    decides = permissions.holds(user, "decide_escalation")
    planned = [mix(rng, ids, pages, decides) for _ in range(2 + rounds)]
    requests = 0
    for n, paths in enumerate(planned):
        for path in paths:
            response = client.get(path, secure=True)
            if response.status_code != 200:
                raise SystemExit(f"{path}: {response.status_code}")
            requests += n >= 2
    print(f"requests measured: {requests}")


def count(args: argparse.Namespace, username: str, rounds: int, work: Path) -> tuple[int, int]:
    """(instructions, requests measured) of one run under callgrind."""
    out = work / f"callgrind.{username}.{rounds}.out"
    env = {**os.environ, "DEBUG": "0", "OTP_REQUIRED": "0", "ALLOWED_HOSTS": "testserver",
           "SECRET_KEY": os.environ.get("SECRET_KEY", "instructions-" + "x" * 40), "SECURE_COOKIES": "0",
           "STATIC_ROOT": str(work / "static")}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    done = subprocess.run(
        ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", sys.executable, str(Path(__file__).resolve()),
         "--inner", username, "--rounds", str(rounds), "--seed", str(args.seed)],
        cwd=args.server_dir, env=env, capture_output=True, text=True, timeout=args.timeout)
    if done.returncode != 0:
        raise SystemExit(f"{username}, {rounds} rounds: exit {done.returncode}\n{done.stderr[-3000:]}")
    totals = re.search(r"^(?:summary|totals):\s*(\d+)", out.read_text(), re.M)
    measured = re.search(r"requests measured: (\d+)", done.stdout)
    if not totals or not measured:
        raise SystemExit(f"{username}: no totals in {out} or no count in the output")
    return int(totals.group(1)), int(measured.group(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", default="jinping_mediator,jinping_supervisor")
    parser.add_argument("--rounds", type=int, default=2, help="rounds of the mix counted (default 2)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--server-dir", type=Path, default=ROOT, help="checkout whose code is measured")
    parser.add_argument("--timeout", type=int, default=1800, help="seconds each run may take under valgrind")
    parser.add_argument("--inner", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.inner:
        inner(args.inner, args.rounds, args.seed)
        return
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed (Debian: apt-get install valgrind; make browser-deps does)")
    if not (args.server_dir / "manage.py").is_file():
        raise SystemExit(f"--server-dir {args.server_dir}: no manage.py there")
    with tempfile.TemporaryDirectory(prefix="instructions-") as tmp:
        work = Path(tmp)
        collected = subprocess.run(
            [sys.executable, "manage.py", "collectstatic", "--no-input", "-v0"], cwd=args.server_dir,
            env={**os.environ, "DEBUG": "0", "SECRET_KEY": "collect-" + "x" * 40, "STATIC_ROOT": str(work / "static")},
            capture_output=True, text=True)
        if collected.returncode != 0:
            raise SystemExit(f"collectstatic failed:\n{collected.stderr[-3000:]}")
        print(f"server code: {args.server_dir}; {args.rounds} rounds after a warm-up of 2\n")
        print("| user | requests counted | instructions per request (millions) |")
        print("|---|---:|---:|")
        for username in args.users.split(","):
            base, _ = count(args, username, 0, work)
            total, requests = count(args, username, args.rounds, work)
            print(f"| {username} | {requests} | {(total - base) / requests / 1e6:.2f} |", flush=True)


if __name__ == "__main__":
    main()
