"""Load test: mediators and supervisors at once against gunicorn, as in production, on DATABASE_URL.

Usage (a database filled with `manage.py seed_demo` and `manage.py generate_cases`, see docs/demo.md):

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/mediation_bench \\
        .venv/bin/python bench/load.py --users 16 --duration 60

One command does it all:

1. reads the plan from the database (through the project's own selectors and permission checks):
   the cases each mediator can see and their employers' names for searches, the cases being
   worked (for session records), the open instalments of effective agreements (for payments),
   fresh parties for new cases; and gives each supervisor who must use a second factor
   (``OTP_REQUIRED``, on when DEBUG is off) a TOTP device, so they sign in with password and code
   like everyone in production (the device's key stays in the plan);
2. collects the static files into a temporary directory and starts gunicorn with the project's
   production configuration (``deploy/gunicorn.conf.py``: DEBUG off, its worker and thread
   defaults unless ``--workers``/``--threads``) on a free local port, as if behind the TLS proxy
   (``SECURE_PROXY_SSL_HEADER=1`` and the proxy's ``X-Forwarded-Proto: https``; only
   ``SECURE_COOKIES=0``, so that the client sends its cookies over the local plain connection);
3. runs the users of bench/locustfile.py through locust's library API: they sign in through the
   login page, then, once every user is in and after ``--warmup`` seconds, the figures are reset
   and ``--duration`` seconds are measured — closed loop, no think time (unless ``--think``);
4. samples each gunicorn process's resident memory from /proc meanwhile, and the machine's CPU;
5. prints Markdown tables (per kind of request and overall: requests, failures, req/s, p50, p95,
   p99; peak memory per worker) and the circumstances: machine load, workers × threads, cases in
   the database, the server's code.

Exits 1 if any request failed (a 5xx, a lost session, a write that did not take) or a user could not
sign in. ``--server-dir`` runs the server (and the plan's reads) from another checkout of the
project, e.g. a ``git worktree`` of an older commit, with the same virtual environment.

Writes are real: each run adds cases, session records and payments to the database it runs on.
Timings are reported, never gated (the targets are in docs/performance.md). The module is a little
over 600 lines because the command is the whole benchmark in one place: the plan, the server, the
run, the accounting from /proc and the report; the users themselves are in bench/locustfile.py.
"""
from __future__ import annotations

import argparse
import datetime
import importlib
import json
import math
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
MEDIATORS = "jinping_mediator,xikou_mediator,yuelin_mediator,district_mediator"
SUPERVISORS = "district_supervisor,jinping_supervisor,yuelin_supervisor,xikou_supervisor"


# --------------------------------------------------------------------------- the plan (Django side)

def prepare(args: argparse.Namespace) -> dict[str, Any]:
    """Runs in a child process, in the server's checkout, with Django set up against DATABASE_URL."""
    import random
    import zoneinfo

    sys.path.insert(0, str(Path.cwd()))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mediation.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django_otp.plugins.otp_totp.models import TOTPDevice

    import mediation
    from accounts import otp as account_otp
    from mediation import permissions
    from mediation.demo import fake
    from mediation.models import Agreement, Case, Category, Channel, Employer, Instalment, Person
    from mediation.selectors import case_list_visible_to, escalations_awaiting
    from workflows.clocks import local_today
    from workflows.states import WORKING_STATES, CaseState

    users = get_user_model().objects
    today = local_today()
    plan: dict[str, Any] = {
        "seed": args.seed, "today": f"{today:%Y-%m-%d}", "mediators": [], "supervisors": [],
        "cases": Case.objects.count(), "database": connection.vendor,
        "server_code": str(Path(mediation.__file__).resolve().parent.parent),
        "otp_required": bool(settings.OTP_REQUIRED),
        "utc_offset_seconds": int((datetime.datetime.now(zoneinfo.ZoneInfo(settings.TIME_ZONE)).utcoffset()
                                   or datetime.timedelta()).total_seconds()),
        "categories": list(Category.objects.order_by("position").values_list("code", flat=True)),
    }
    plan["filters"] = (
        [f"state={s}" for s in (CaseState.REGISTERED, *WORKING_STATES[1:], CaseState.SETTLED, CaseState.CLOSED)]
        + [f"category={c}" for c in plan["categories"][:4]]
        + [f"channel={c}" for c in list(Channel.values)[:3]]
        + ["overdue=on", "sort=-due", "sort=amount", f"state={CaseState.SETTLED}&category={plan['categories'][0]}"])

    for username in args.mediators.split(","):
        user = users.get(username=username)
        visible = case_list_visible_to(user=user)
        n = visible.count()
        sample = list(visible.order_by("?").values_list("pk", "employer__name")[:args.sample])
        if not sample:
            raise SystemExit(f"{username} sees no case: generate some first (manage.py generate_cases)")
        working = [c for c in visible.filter(state__in=WORKING_STATES).order_by("?")[:args.sample]
                   if permissions.user_may(user, "work", c)]
        instalments = []
        for inst in (Instalment.objects.filter(agreement__case__in=visible, paid_on__isnull=True,
                                               agreement__status=Agreement.Status.EFFECTIVE,
                                               agreement__effective_on__lte=today,
                                               agreement__case__state=CaseState.SETTLED)
                     .select_related("agreement__case").order_by("?")[:args.sample]):
            if permissions.user_may(user, "work", inst.agreement.case):
                instalments.append([inst.agreement.case_id, inst.pk, f"{inst.amount:.2f}"])
        names = sorted({name for _, name in sample if name})
        plan["mediators"].append({
            "username": username, "visible": n, "pages": max(1, -(-n // 20)),
            "case_ids": [pk for pk, _ in sample], "working_case_ids": [c.pk for c in working],
            "instalments": instalments, "may_register": permissions.organisations_user_may_register_in(user).exists(),
            # Searches as people type them: the distinctive middle of a firm's name.
            "search_terms": [name.removeprefix("宁波市奉化区").removeprefix("宁波奉化").removeprefix("宁波")[:4]
                             for name in names[:50]],
        })
        if not working or not plan["mediators"][-1]["may_register"]:
            raise SystemExit(f"{username} has no case being worked or may not register: choose other --mediators")

    for username in args.supervisors.split(","):
        user = users.get(username=username)
        account: dict[str, Any] = {"username": username, "visible": case_list_visible_to(user=user).count(),
                                   "escalations": escalations_awaiting(user=user).count(), "otp": None}
        if permissions.needs_second_factor(user) or TOTPDevice.objects.filter(user=user, confirmed=True).exists():
            devices = list(TOTPDevice.objects.filter(user=user, confirmed=True))
            if len(devices) > 1:
                raise SystemExit(f"{username} has {len(devices)} TOTP devices: the load test signs in with one")
            if not devices and settings.OTP_REQUIRED:
                devices = [TOTPDevice.objects.create(user=user, name=account_otp.TOTP_DEVICE_NAME,
                                                     key=account_otp.new_key(), confirmed=True)]
            if devices:
                d = devices[0]
                d.throttle_reset()  # a failure left over from an earlier run would refuse the code
                account["otp"] = {"key": d.key, "step": d.step, "t0": d.t0, "digits": d.digits,
                                  "drift": d.drift, "last_t": d.last_t}
        plan["supervisors"].append(account)

    # New people and firms for each run (never one the database has: intake would ask to confirm a duplicate).
    ids = fake.UniqueIds(random.Random(time.time_ns()),
                         taken_ids=Person.objects.exclude(id_number=None).values_list("id_number", flat=True),
                         taken_codes=Employer.objects.exclude(credit_code=None).values_list("credit_code", flat=True))
    rng = ids.rng
    parties = []
    for _ in range(args.parties):
        sex = rng.choice("MF")
        firm = fake.employer(rng, ids)
        parties.append({"name": fake.person_name(rng, sex), "sex": sex, "id_number": ids.resident_id(sex),
                        "phone": fake.mobile(rng), "employer_name": firm.name, "credit_code": firm.credit_code,
                        "legal_representative": firm.legal_representative, "address": firm.address,
                        "amount": f"{rng.randrange(30, 400) * 100}"})
    plan["parties"] = parties
    return plan


# --------------------------------------------------------------------------- the machine (/proc)

def _read(path: str) -> str:
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read()
    except OSError:
        return ""


def children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        found += [int(p) for p in _read(str(task / "children")).split()]
    return found


def memory_kib(pid: int) -> dict[str, int]:
    values = {}
    for line in _read(f"/proc/{pid}/status").splitlines():
        key, _, rest = line.partition(":")
        if key in {"VmRSS", "VmHWM"}:
            values[key] = int(rest.split()[0])
    pss = next((line for line in _read(f"/proc/{pid}/smaps_rollup").splitlines() if line.startswith("Pss:")), "")
    if pss:
        values["Pss"] = int(pss.split()[1])
    return values


def cpu_seconds(pid: int) -> float:
    fields = _read(f"/proc/{pid}/stat").rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK") if len(fields) > 12 else 0.0


def machine_ticks() -> tuple[int, int]:
    fields = [int(x) for x in _read("/proc/stat").splitlines()[0].split()[1:]]
    idle = fields[3] + fields[4]
    return sum(fields[:8]) - idle, sum(fields[:8])


def reaped_cpu_seconds(pid: int) -> float:
    """CPU time of ``pid``'s children that have ended (PostgreSQL's backends, reaped by the postmaster)."""
    fields = _read(f"/proc/{pid}/stat").rpartition(")")[2].split()
    return (int(fields[13]) + int(fields[14])) / os.sysconf("SC_CLK_TCK") if len(fields) > 14 else 0.0


def postmaster() -> int | None:
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            stat = _read(f"/proc/{entry.name}/stat")
            name, ppid = stat[stat.find("(") + 1:stat.rfind(")")], stat.rpartition(")")[2].split()[1:2]
            if name == "postgres" and ppid and "postgres" not in _read(f"/proc/{ppid[0]}/stat")[:40]:
                return int(entry.name)
    return None


def busy_processes() -> dict[int, tuple[str, float]]:
    found = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            command = _read(f"/proc/{entry.name}/cmdline").replace("\0", " ").strip()
            if command:
                found[int(entry.name)] = (command, cpu_seconds(int(entry.name)))
    return found


# --------------------------------------------------------------------------- server

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_env(args: argparse.Namespace, work: Path) -> dict[str, str]:
    env = {**os.environ, "DEBUG": "0", "SECRET_KEY": "load-test-" + os.urandom(16).hex(),
           "ALLOWED_HOSTS": "127.0.0.1,localhost", "SECURE_PROXY_SSL_HEADER": "1", "SECURE_COOKIES": "0",
           "STATIC_ROOT": str(work / "static"), "MEDIA_ROOT": os.environ.get("MEDIA_ROOT", str(work / "media")),
           "MEDIATION_VAR_DIR": str(work / "var"), "LOG_FORMAT": "json"}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    env.pop("CELERY_BROKER_URL", None)  # nothing measured here queues a task; never fill a real queue
    if args.otp_required:
        env["OTP_REQUIRED"] = args.otp_required
    else:
        env.pop("OTP_REQUIRED", None)  # production's default: on (DEBUG is off)
    if args.workers:
        env["GUNICORN_WORKERS"] = str(args.workers)
    if args.threads:
        env["GUNICORN_THREADS"] = str(args.threads)
    env["PYTHONPATH"] = str(args.server_dir) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


def start_server(args: argparse.Namespace, env: dict[str, str], log: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {**env, "GUNICORN_BIND": f"127.0.0.1:{port}"}
    config = args.server_dir / "deploy" / "gunicorn.conf.py"
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--config", str(config), "--chdir", str(args.server_dir),
         "mediation.wsgi:application"], cwd=args.server_dir, env=env, stdout=log.open("wb"),
        stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    import urllib.request

    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"gunicorn stopped ({server.returncode}):\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(base + "/healthz", timeout=2) as r:
                if r.status == 200:
                    return server, base
        except OSError:
            time.sleep(0.3)
    server.terminate()
    raise SystemExit(f"gunicorn did not answer /healthz in 120 s:\n{log.read_text()[-3000:]}")


def gunicorn_config(server_dir: Path, env: dict[str, str]) -> dict[str, str]:
    """What gunicorn makes of the server's deploy/gunicorn.conf.py and the environment ``env``
    (``GUNICORN_CMD_ARGS`` included), as its own ``--print-config`` says."""
    result = subprocess.run([sys.executable, "-m", "gunicorn", "--print-config", "--config",
                             str(server_dir / "deploy" / "gunicorn.conf.py"), "mediation.wsgi:application"],
                            cwd=server_dir, env=env, capture_output=True, text=True, timeout=120, check=True)
    return dict(re.findall(r"^(\w+)\s+= (.*)$", result.stdout, re.MULTILINE))


def git_describe(directory: Path) -> str:
    done = subprocess.run(["git", "-C", str(directory), "log", "-1", "--format=%h %cs %s"],
                          capture_output=True, text=True)
    dirty = subprocess.run(["git", "-C", str(directory), "status", "--porcelain", "--untracked-files=no"],
                           capture_output=True, text=True).stdout.strip()
    line = done.stdout.strip() or "?"
    return (line if len(line) <= 80 else line[:79] + "…") + (" (with uncommitted changes)" if dirty else "")


# --------------------------------------------------------------------------- the run

def percentile(ordered: list[float], p: float) -> float:
    """Nearest-rank percentile of sorted values."""
    if not ordered:
        return float("nan")
    return ordered[max(0, min(len(ordered) - 1, math.ceil(p / 100 * len(ordered)) - 1))]


def run(args: argparse.Namespace) -> int:
    import locust  # noqa: F401  (gevent's monkey-patching, before any subprocess or socket is made)

    work = Path(tempfile.mkdtemp(prefix="load-"))
    try:
        return run_in(args, work)
    finally:
        if args.keep_log:
            print(f"\ngunicorn log: {work / 'gunicorn.log'}")
        else:
            shutil.rmtree(work, ignore_errors=True)


def run_in(args: argparse.Namespace, work: Path) -> int:
    env = server_env(args, work)
    started = time.time()

    # 1. The plan, read by the server's own code.
    plan_file = work / "plan.json"
    done = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--prepare-into", str(plan_file),
                           "--seed", str(args.seed), "--mediators", args.mediators, "--supervisors", args.supervisors,
                           "--sample", str(args.sample), "--parties", str(args.parties)],
                          cwd=args.server_dir, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        print(done.stdout, done.stderr[-4000:], sep="\n", file=sys.stderr)
        return 2
    plan = json.loads(plan_file.read_text(encoding="utf-8"))
    supervisors = 0 if args.users < 2 else max(1, round(args.users * 0.2))
    plan["think"] = args.think
    if args.payment_date:
        plan["today"] = args.payment_date
    plan["mix"] = {"mediator_users": args.users - supervisors, "supervisor_users": supervisors}
    if args.keep_plan:
        Path(args.keep_plan).write_text(json.dumps(plan, ensure_ascii=False), encoding="utf-8")

    # 2. Static files (the production storage wants its manifest), then gunicorn.
    subprocess.run([sys.executable, "manage.py", "collectstatic", "--no-input", "-v0"], cwd=args.server_dir,
                   env=env, check=True)
    log = work / "gunicorn.log"
    server, base = start_server(args, env, log)
    try:
        return measure(args, plan, server, base, started, log, env)
    finally:
        server.terminate()
        try:
            server.wait(timeout=40)
        except subprocess.TimeoutExpired:
            server.kill()


class Family:
    """CPU time of a parent process's children during the window (``ours`` picks them by command line).

    Children are sampled while the window runs; those that end are reaped by the parent, whose
    reaped-children time then holds their whole lives: what was seen of each is taken out of it, and
    what is left (children too short-lived to be seen: PostgreSQL's backends when DB_CONN_MAX_AGE is 0,
    one a request) is counted as ours.
    """

    def __init__(self, parent: int, ours: str = "") -> None:
        self.parent, self.ours = parent, ours
        self.seen: dict[int, list[Any]] = {}  # pid: [ours?, CPU when first seen, CPU when last seen]
        self.reaped0 = reaped_cpu_seconds(parent)
        self.sample(first=True)

    def sample(self, first: bool = False) -> list[int]:
        alive = children(self.parent)
        for pid in alive:
            used = cpu_seconds(pid)
            if pid not in self.seen:
                command = _read(f"/proc/{pid}/cmdline").replace("\0", " ")
                self.seen[pid] = [self.ours in command, used if first else 0.0, used]
            self.seen[pid][2] = used
        return alive

    def seconds(self) -> float:
        alive = set(self.sample())
        ended = [v for pid, v in self.seen.items() if pid not in alive]
        unseen = max(0.0, reaped_cpu_seconds(self.parent) - self.reaped0 - sum(v[2] for v in ended))
        return unseen + sum(last - first for ours, first, last in self.seen.values() if ours)


class Machine:
    """What the machine did during the window: gunicorn's memory and CPU, PostgreSQL's CPU, the rest."""

    def __init__(self, master: int) -> None:
        self.master = master
        self.peaks: dict[int, dict[str, int]] = {}
        url = urlsplit(os.environ["DATABASE_URL"])
        self.database = url.path.lstrip("/") if url.scheme.startswith("postgres") else ""

    def sample(self) -> None:
        for pid in [self.master, *self.workers.sample()]:
            peak = self.peaks.setdefault(pid, {})
            for key, value in memory_kib(pid).items():
                peak[key] = max(peak.get(key, 0), value)
        if self.postgres_backends:
            self.postgres_backends.sample()

    def start(self) -> None:
        self.load_start = os.getloadavg()
        self.procs_before = busy_processes()
        self.ticks_before = machine_ticks()
        self.own_before = sum(os.times()[:2])
        self.master_before = cpu_seconds(self.master)
        self.workers = Family(self.master)
        pg = postmaster() if self.database else None
        self.postgres_backends = Family(pg, ours=f" {self.database} ") if pg else None
        self.sample()
        self.t0 = time.monotonic()

    def stop(self) -> None:
        self.elapsed = time.monotonic() - self.t0
        self.own_cpu = sum(os.times()[:2]) - self.own_before
        ticks = machine_ticks()
        self.gunicorn = (self.workers.seconds() + cpu_seconds(self.master) - self.master_before) / self.elapsed
        # The backends of this database (PostgreSQL names the database in each backend's title).
        self.postgres = self.postgres_backends.seconds() / self.elapsed if self.postgres_backends else 0.0
        self.load_end = os.getloadavg()
        self.worker_dirs = sorted({os.readlink(f"/proc/{pid}/cwd") for pid in children(self.master)
                                   if os.path.exists(f"/proc/{pid}/cwd")})
        cores = os.cpu_count() or 1
        self.busy = (ticks[0] - self.ticks_before[0]) / max(1, ticks[1] - self.ticks_before[1]) * cores
        self.driver = self.own_cpu / self.elapsed
        self.rest = max(0.0, self.busy - self.gunicorn - self.postgres - self.driver)
        mine = {self.master, os.getpid(), *self.workers.seen,
                *(self.postgres_backends.seen if self.postgres_backends else ())}
        before, after = self.procs_before, busy_processes()
        self.others = sorted(((after[pid][1] - before[pid][1]) / self.elapsed, after[pid][0]) for pid in after
                             if pid in before and pid not in mine)[::-1]


def signed_in(args: argparse.Namespace, locustfile: Any, log: Path) -> bool:
    """Wait until every user has signed in; say who could not."""
    import gevent  # type: ignore[import-untyped]

    deadline = time.monotonic() + args.sign_in_timeout
    while len(locustfile.READY) + len(locustfile.SIGN_IN_FAILED) < args.users and time.monotonic() < deadline:
        gevent.sleep(0.2)
    if len(locustfile.READY) == args.users:
        return True
    print("users that could not sign in:", *locustfile.SIGN_IN_FAILED or ["(timed out)"], sep="\n  ",
          file=sys.stderr)
    print(log.read_text()[-3000:], file=sys.stderr)
    return False


def kinds_expected(locustfile: Any) -> set[str]:
    kinds = {kind for cls in (locustfile.MediatorUser, locustfile.SupervisorUser) if cls.fixed_count
             for kind in cls.weights}
    if "intake" in kinds:
        kinds.add("intake form")  # the intake is two requests: the form, then the post
    return kinds


def measure(args: argparse.Namespace, plan: dict[str, Any], server: subprocess.Popen, base: str,
            started: float, log: Path, env: dict[str, str]) -> int:
    import gevent
    from locust.env import Environment

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    locustfile = importlib.import_module("locustfile")

    locustfile.configure(plan)
    times: dict[str, list[float]] = {}
    failures: dict[str, int] = {}
    errors: dict[str, int] = {}
    measuring = {"on": False}

    def on_request(request_type: str, name: str, response_time: float, response_length: int,
                   exception: BaseException | None = None, **_kw: Any) -> None:
        if measuring["on"]:
            times.setdefault(name, []).append(response_time)
        elif name.startswith("sign in"):
            return  # a sign-in that fails stops its user, which is reported below
        if exception is not None:
            if measuring["on"]:
                failures[name] = failures.get(name, 0) + 1
            key = f"{name}{'' if measuring['on'] else ' (warm-up)'}: {exception}"[:300]
            errors[key] = errors.get(key, 0) + 1

    environment = Environment(user_classes=[locustfile.MediatorUser, locustfile.SupervisorUser], host=base)
    environment.events.request.add_listener(on_request)
    runner = environment.create_local_runner()
    load_before = os.getloadavg()
    runner.start(args.users, spawn_rate=args.users)
    if not signed_in(args, locustfile, log):
        runner.quit()
        return 1
    gevent.sleep(args.warmup)

    machine = Machine(server.pid)
    machine.start()
    measuring["on"] = True
    expected = kinds_expected(locustfile)
    while (left := args.duration - (time.monotonic() - machine.t0)) > 0 or (
            args.every_kind and not expected <= times.keys() and left > -120):
        gevent.sleep(min(args.sample_every, max(left, args.sample_every)))
        machine.sample()
    measuring["on"] = False
    machine.stop()
    runner.quit()

    report(args, plan, env, times, failures, machine, load_before, started)
    for note, n in locustfile.NOTES.items():
        print(f"- note: {note} ({n}×)")
    if errors:
        print("\nFailures (the 10 most frequent):")
        for error, n in sorted(errors.items(), key=lambda item: -item[1])[:10]:
            print(f"- {n}× {error}")
    return 1 if errors or not times else 0


KINDS = ["case page", "case list", "case list, filtered", "case list, search", "case list, later page",
         "home", "escalations", "session", "payment", "intake form", "intake"]


def report(args: argparse.Namespace, plan: dict[str, Any], env: dict[str, str], times: dict[str, list[float]],
           failures: dict[str, int], machine: Machine, load_before: tuple[float, float, float],
           started: float) -> None:
    elapsed = machine.elapsed
    names = [n for n in KINDS if n in times] + sorted(n for n in times if n not in KINDS)
    everything = sorted(t for n in names for t in times[n])
    print(f"## Load test: {args.users} users, {elapsed:.0f} s measured "
          f"({datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC)\n")
    print("| request | requests | failures | req/s | share | p50 ms | p95 ms | p99 ms |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for name in [*names, "all"]:
        ordered = everything if name == "all" else sorted(times[name])
        failed = sum(failures.values()) if name == "all" else failures.get(name, 0)
        print(f"| {'**all**' if name == 'all' else name} | {len(ordered):,} | {failed} | "
              f"{len(ordered) / elapsed:.1f} | {len(ordered) / max(1, len(everything)):.0%} | "
              f"{percentile(ordered, 50):.0f} | {percentile(ordered, 95):.0f} | {percentile(ordered, 99):.0f} |")

    print("\n| gunicorn process | peak RSS MiB | peak PSS MiB | RSS high-water mark MiB |")
    print("|---|---:|---:|---:|")
    for pid, peak in sorted(machine.peaks.items(), key=lambda item: (item[0] != machine.master, item[0])):
        print(f"| {'master' if pid == machine.master else 'worker'} {pid} | {peak.get('VmRSS', 0) / 1024:.0f} | "
              f"{peak.get('Pss', 0) / 1024:.0f} | {peak.get('VmHWM', 0) / 1024:.0f} |")

    cores = os.cpu_count() or 1
    config = gunicorn_config(args.server_dir, env)
    workers, threads = int(config["workers"]), int(config["threads"])
    pacing = (f"think time 0–{2 * args.think:g} s (mean {args.think:g} s)" if args.think
              else "closed loop, no think time")
    used = {role: [a["username"] for a in plan[role + "s"]][:plan["mix"][role + "_users"]]
            for role in ("mediator", "supervisor")}
    reach = "; ".join([f"{a['username']} {a['visible']:,} cases" for a in plan["mediators"]
                       if a["username"] in used["mediator"]]
                      + [f"{a['username']} {a['visible']:,} cases, {a['escalations']} escalations awaiting"
                         for a in plan["supervisors"] if a["username"] in used["supervisor"]])
    print(f"""
- server: gunicorn {workers} workers × {threads} thread{"s" if threads > 1 else ""} (deploy/gunicorn.conf.py; \
{len(machine.peaks) - 1} worker processes seen in the window), DEBUG off, code {plan["server_code"]} \
(workers' directory {", ".join(machine.worker_dirs)}) at {git_describe(args.server_dir)}
- database: {plan["database"]}, {plan["cases"]:,} cases; \
DB_CONN_MAX_AGE {env.get("DB_CONN_MAX_AGE", "as the code sets")}; second factor required: {plan["otp_required"]}
- users: {plan["mix"]["mediator_users"]} mediators (signed in as {", ".join(used["mediator"])} in turn), \
{plan["mix"]["supervisor_users"]} supervisors ({", ".join(used["supervisor"])}); {pacing}; \
signed in through the login page{" and a TOTP code" if plan["otp_required"] else ""} before the window (not \
counted), then {args.warmup:g} s of warm-up
- what they see: {reach}
- machine: {cores} cores, load average {load_before[0]:.2f} before the users started, \
{machine.load_start[0]:.2f} at the window's start, {machine.load_end[0]:.2f} at its end; busy {machine.busy:.2f} \
of {cores} cores in the window: gunicorn {machine.gunicorn:.2f}, \
{f"PostgreSQL for this database {machine.postgres:.2f}, " if machine.database else ""}this load driver \
{machine.driver:.2f}, everything else {machine.rest:.2f}""")
    per_request = 1000 / max(1, len(everything)) * elapsed
    print(f"- CPU per request: gunicorn {machine.gunicorn * per_request:.0f} ms"
          + (f", PostgreSQL {machine.postgres * per_request:.0f} ms" if machine.database else "")
          + f": on {cores} cores of its own the server would top out near "
          f"{cores * 1000 / max(1.0, (machine.gunicorn + machine.postgres) * per_request):.0f} req/s with this mix")
    for share, command in machine.others[:3]:
        if share >= 0.05:
            print(f"  - {share:.2f} cores: {command[:110]}")
    print(f"- whole run {time.time() - started:.0f} s (plan, static files, start, sign-in, warm-up, window)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=16, help="concurrent users (default 16; 20 %% supervisors)")
    parser.add_argument("--duration", type=float, default=60, help="seconds measured (default 60)")
    parser.add_argument("--warmup", type=float, default=5, help="seconds run after sign-in, before measuring")
    parser.add_argument("--workers", type=int, default=0, help="gunicorn processes (default: the config's)")
    parser.add_argument("--threads", type=int, default=0, help="threads per process (default: the config's)")
    parser.add_argument("--server-dir", type=Path, default=ROOT, help="checkout whose code the server runs")
    parser.add_argument("--mediators", default=MEDIATORS, help=f"mediator accounts (default {MEDIATORS})")
    parser.add_argument("--supervisors", default=SUPERVISORS, help=f"supervisor accounts (default {SUPERVISORS})")
    parser.add_argument("--otp-required", default="", help="OTP_REQUIRED for the server (default: production's, on)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--sample", type=int, default=2000, help="cases sampled per account for the plan")
    parser.add_argument("--parties", type=int, default=0, help="fresh parties for new cases (default: enough)")
    parser.add_argument("--think", type=float, default=0.0,
                        help="mean seconds a user pauses between requests (default 0: closed loop, no think time)")
    parser.add_argument("--every-kind", action="store_true",
                        help="measure past --duration until every kind of request was made (at most 120 s more)")
    parser.add_argument("--payment-date", default="", help="date payments are recorded on (default: today)")
    parser.add_argument("--sample-every", type=float, default=0.5, help="seconds between memory samples")
    parser.add_argument("--sign-in-timeout", type=float, default=150)
    parser.add_argument("--keep-log", action="store_true", help="keep gunicorn's log (path printed)")
    parser.add_argument("--keep-plan", default="", help="also write the plan here (for locust's own command line)")
    parser.add_argument("--prepare-into", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    args.server_dir = args.server_dir.resolve()
    if not args.parties:
        # --every-kind may measure up to 120 s past --duration: enough people for that too, or intake
        # would come round to a person it already registered and be asked to confirm a duplicate.
        args.parties = int(50 + args.users * (args.duration + args.warmup + (120 if args.every_kind else 0)) * 2)
    if args.prepare_into:
        plan = prepare(args)
        Path(args.prepare_into).write_text(json.dumps(plan, ensure_ascii=False), encoding="utf-8")
        return 0
    if not os.environ.get("DATABASE_URL"):
        parser.error("set DATABASE_URL to the database to load")
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
