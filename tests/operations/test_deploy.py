"""The deployment files (deploy/): the compose file, the systemd units, the image, the env template, gunicorn.

The compose file is checked by Debian's docker-compose, which validates a file against the Compose
specification without a Docker daemon (`config`); the units by `systemd-analyze verify`, which
loads them as systemd would and reports unknown keys, bad values and missing programs.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
ID_NUMBER = "110101199003074578"
SERVICES = ("mediation-web.service", "mediation-worker.service", "mediation-beat.service",
            "mediation-migrate.service")


# --- compose ----------------------------------------------------------------------------------------

@pytest.fixture
def compose_dir(tmp_path: Path) -> Path:
    """deploy/ as an operator sets it up: the env template copied to deploy/.env."""
    if shutil.which("docker-compose") is None:
        pytest.skip("Debian's docker-compose is not installed (make browser-deps installs it)")
    target = tmp_path / "deploy"
    target.mkdir()
    for name in ("compose.yaml", "Dockerfile"):
        shutil.copy(DEPLOY / name, target / name)
    shutil.copy(DEPLOY / "env.example", target / ".env")
    return target


def compose(directory: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["docker-compose", "-f", "compose.yaml", *args], cwd=directory, capture_output=True,
                          text=True, timeout=120)


def test_the_compose_file_validates(compose_dir):
    result = compose(compose_dir, "config", "--quiet")
    assert result.returncode == 0, result.stderr
    services = compose(compose_dir, "config", "--services").stdout.split()
    assert set(services) == {"migrate", "web", "worker", "beat", "db", "redis"}
    assert "media" in compose(compose_dir, "config", "--volumes").stdout.split()


def test_the_validation_catches_a_broken_compose_file(compose_dir):
    text = (compose_dir / "compose.yaml").read_text()
    (compose_dir / "compose.yaml").write_text(text.replace("    healthcheck:\n", "    healthcheck_typo:\n", 1))
    assert compose(compose_dir, "config", "--quiet").returncode != 0


def test_compose_wiring():
    yaml = pytest.importorskip("yaml")
    spec = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    services = spec["services"]
    for name in ("web", "worker", "beat"):
        service = services[name]
        # Migrations run once, before any of them starts.
        assert service["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}
        assert "media:/var/lib/mediation/media" in service["volumes"]
        assert service["env_file"] == ".env"
    assert services["migrate"]["command"][-2:] == ["migrate", "--no-input"]
    assert "/readyz" in " ".join(services["web"]["healthcheck"]["test"])
    # The image's own check (/healthz) is replaced where nothing serves HTTP.
    assert "/healthz" in (DEPLOY / "Dockerfile").read_text().split("HEALTHCHECK", 1)[1].split("\n\n")[0]
    assert services["beat"]["healthcheck"] == {"disable": True} == services["migrate"]["healthcheck"]
    assert "ping" in " ".join(services["worker"]["healthcheck"]["test"])
    assert "pg_isready" in " ".join(services["db"]["healthcheck"]["test"])
    assert "ping" in " ".join(services["redis"]["healthcheck"]["test"])


# --- systemd ----------------------------------------------------------------------------------------

@pytest.fixture
def installed_units(tmp_path: Path) -> Path:
    """The units with /srv/mediation (the install root) pointing at a copy whose programs exist."""
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze is not installed")
    root = tmp_path / "root"
    (root / ".venv" / "bin").mkdir(parents=True)
    for program in ("python", "gunicorn", "celery"):
        (root / ".venv" / "bin" / program).symlink_to(ROOT / ".venv" / "bin" / program)
    units = tmp_path / "units"
    units.mkdir()
    for unit in (DEPLOY / "systemd").iterdir():
        (units / unit.name).write_text(unit.read_text().replace("/srv/mediation", str(root)))
    return units


def verify(units: Path) -> subprocess.CompletedProcess:
    files = sorted(str(path) for path in units.iterdir())
    return subprocess.run(["systemd-analyze", "verify", *files], capture_output=True, text=True, timeout=120)


def test_every_systemd_unit_passes_systemd_analyze_verify(installed_units):
    assert sorted(p.name for p in installed_units.iterdir()) == sorted([*SERVICES, "mediation.target"])
    result = verify(installed_units)
    # verify exits 0 on an unknown key, reporting it on stderr: any message is a failure.
    assert result.returncode == 0 and result.stderr.strip() == "", result.stderr


def test_verify_catches_a_mistyped_hardening_option(installed_units):
    unit = installed_units / "mediation-web.service"
    unit.write_text(unit.read_text().replace("ProtectSystem=strict", "ProtectSystm=strict"))
    assert "ProtectSystm" in verify(installed_units).stderr


@pytest.mark.parametrize("name", SERVICES)
def test_each_service_runs_sandboxed_as_its_own_user(name):
    lines = set((DEPLOY / "systemd" / name).read_text().splitlines())
    assert {"User=mediation", "Group=mediation", "EnvironmentFile=/etc/mediation/env", "NoNewPrivileges=yes",
            "ProtectSystem=strict", "ProtectHome=yes", "PrivateTmp=yes", "PrivateDevices=yes"} <= lines


# --- the image --------------------------------------------------------------------------------------

def makefile_variable(name: str) -> list[str]:
    match = re.search(rf"^{name}\s*:?=\s*(.*)$", (ROOT / "Makefile").read_text(), re.MULTILINE)
    assert match, name
    return match.group(1).split()


def test_the_image_installs_the_makefiles_system_packages_and_runs_unprivileged():
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.11-slim-bookworm$", dockerfile, re.MULTILINE)  # Debian 12, Python 3.11
    installed = set(re.findall(r"[a-z0-9][a-z0-9.+-]+", dockerfile.split("apt-get install", 1)[1].split("&&")[0]))
    assert set(makefile_variable("SYSTEM_PACKAGES")) <= installed
    assert "build_fonts" in dockerfile and "collectstatic --no-input" in dockerfile
    users = re.findall(r"^USER (\S+)$", dockerfile, re.MULTILINE)
    assert users and users[-1] not in ("root", "0")
    assert re.search(r"^\.venv", (ROOT / ".dockerignore").read_text(), re.MULTILINE)
    assert re.search(r"^var$", (ROOT / ".dockerignore").read_text(), re.MULTILINE)


# --- the env template ------------------------------------------------------------------------------

# os.environ.get("X"), os.environ["X"], env.get("X") / env["X"] (a mapping passed the environment), _env_bool("X")…
ENV_READ = re.compile(r"""(?:environ\.get\(|environ\[|\benv\.get\(|\benv\[|_env_bool\(|_env_list\()"""
                      r"""\s*['"]([A-Z][A-Z0-9_]+)['"]""")


def variables_read() -> set[str]:
    # The project's packages (the settings, and any module that reads the environment itself) and gunicorn's.
    packages = [top for top in ROOT.iterdir() if (top / "__init__.py").is_file() and top.name not in ("tests", "bench")]
    sources = [DEPLOY / "gunicorn.conf.py", *(path for package in packages for path in package.rglob("*.py"))]
    names = set()
    for path in sources:
        names.update(ENV_READ.findall(path.read_text(encoding="utf-8")))
    from mediation.documents.fonts import FONT_DIR_ENV

    names.add(FONT_DIR_ENV)
    return names - {"DJANGO_SETTINGS_MODULE"}


def test_the_env_template_names_every_variable_the_application_reads():
    template = (DEPLOY / "env.example").read_text()
    documented = set(re.findall(r"^#? ?([A-Z][A-Z0-9_]+)=", template, re.MULTILINE))
    assert {"SECRET_KEY", "DATABASE_URL", "CELERY_BROKER_URL", "SENTRY_DSN", "LOG_LEVEL"} <= variables_read()
    assert variables_read() - documented == set()


# --- gunicorn ---------------------------------------------------------------------------------------

def gunicorn_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GUNICORN_", "SENTRY_"))}
    env.pop("DEBUG", None)
    env.update(DJANGO_SETTINGS_MODULE="mediation.settings", SECRET_KEY="test-only-not-secret",
               ALLOWED_HOSTS="cases.example.org", **extra)
    return env


def test_gunicorn_takes_its_settings_from_the_environment():
    env = gunicorn_env(GUNICORN_WORKERS="3", GUNICORN_THREADS="4", FORWARDED_ALLOW_IPS="10.0.0.1",
                       GUNICORN_BIND="127.0.0.1:8123")
    result = subprocess.run([str(ROOT / ".venv" / "bin" / "gunicorn"), "--print-config", "-c",
                             str(DEPLOY / "gunicorn.conf.py"), "mediation.wsgi:application"],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    config = dict(re.findall(r"^(\w+)\s+= (.*)$", result.stdout, re.MULTILINE))
    assert config["workers"] == "3" and config["threads"] == "4"
    assert config["forwarded_allow_ips"] == "['10.0.0.1']" and config["bind"] == "['127.0.0.1:8123']"
    assert int(config["max_requests"]) > 0 and int(config["max_requests_jitter"]) > 0
    assert int(config["graceful_timeout"]) > 0
    # The path without the query string (%(U)s); never the request line (%(r)s) or the query (%(q)s).
    assert "%(U)s" in config["access_log_format"]
    assert "%(r)s" not in config["access_log_format"] and "%(q)s" not in config["access_log_format"]


@pytest.mark.parametrize(("database_url", "per_core"), [
    ("", 1), ("sqlite:////srv/mediation/var/mediation.sqlite3", 1),
    ("postgres://mediation@127.0.0.1:5432/mediation", 1), ("postgres://mediation@localhost/mediation", 1),
    ("postgres:///mediation", 1), ("postgres://%2Fvar%2Frun%2Fpostgresql/mediation", 1),
    ("postgres://mediation@127.0.0.2/mediation", 1), ("postgres://mediation@[::1]:5432/mediation", 1),
    ("postgres://mediation@db.union.internal:5432/mediation", 2), ("postgres://mediation@10.1.2.3/mediation", 2),
])
def test_gunicorns_processes_by_default_leave_room_for_a_database_on_the_same_cores(database_url, per_core):
    """docs/operations.md: one process per core and one more when the database runs on the same
    machine (its processes need the cores too), two per core and one more when it runs elsewhere."""
    env = gunicorn_env(DATABASE_URL=database_url)
    if not database_url:  # not set: the embedded default (SQLite)
        env.pop("DATABASE_URL")
    result = subprocess.run([str(ROOT / ".venv" / "bin" / "gunicorn"), "--print-config", "-c",
                             str(DEPLOY / "gunicorn.conf.py"), "mediation.wsgi:application"],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    config = dict(re.findall(r"^(\w+)\s+= (.*)$", result.stdout, re.MULTILINE))
    assert config["workers"] == str(per_core * (os.cpu_count() or 1) + 1)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_gunicorns_access_line_is_json_with_the_request_id_and_no_query_string(tmp_path):
    port = free_port()
    env = gunicorn_env(GUNICORN_BIND=f"127.0.0.1:{port}", GUNICORN_WORKERS="1", MEDIATION_VAR_DIR=str(tmp_path))
    log = tmp_path / "gunicorn.log"
    with log.open("w") as output:
        server = subprocess.Popen([str(ROOT / ".venv" / "bin" / "gunicorn"), "-c", str(DEPLOY / "gunicorn.conf.py"),
                                   "mediation.wsgi:application"], cwd=ROOT, env=env, stdout=output,
                                  stderr=subprocess.STDOUT)
        try:
            request = urllib.request.Request(f"http://127.0.0.1:{port}/healthz?id_number={ID_NUMBER}",
                                             headers={"X-Request-ID": "edge-7f3a9c01"})
            deadline = time.monotonic() + 60
            while True:
                try:
                    with urllib.request.urlopen(request, timeout=5) as response:
                        assert response.status == 200 and response.headers["X-Request-ID"] == "edge-7f3a9c01"
                    break
                except OSError:
                    if time.monotonic() > deadline or server.poll() is not None:
                        raise
                    time.sleep(0.2)
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=60)
    text = log.read_text()
    lines = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
    access = [line for line in lines if line["logger"] == "gunicorn.access"]
    assert len(access) == 1, text
    assert access[0]["request_id"] == "edge-7f3a9c01"
    assert access[0]["path"] == "/healthz" and access[0]["status"] in ("200", 200)
    assert ID_NUMBER not in text


def test_the_wsgi_module_named_everywhere_exists():
    for path in [DEPLOY / "Dockerfile", DEPLOY / "compose.yaml", DEPLOY / "systemd" / "mediation-web.service"]:
        assert "mediation.wsgi:application" in path.read_text()
    result = subprocess.run([sys.executable, "-c", "import mediation.wsgi"], cwd=ROOT, env=gunicorn_env(),
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
