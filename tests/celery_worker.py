"""A real Celery worker for tests: a subprocess on the machine's Redis, pointed at the test database.

Use it from a conftest::

    from tests.celery_worker import celery_worker  # noqa: F401 -- the fixture

and mark the tests ``@pytest.mark.django_db(transaction=True, serialized_rollback=True)``
(the worker reads only committed rows; the serialized rollback brings back the rows the
migrations load, such as the organisation levels, after each test's flush) and
``@pytest.mark.postgres`` (an SQLite test database lives in memory, where no other process
can reach it; the fixture skips there).

Test-only modules the worker should import (job kinds, tasks) go in ``EXTRA_INCLUDES``.

Each fixture gets a queue and a worker name of its own, so several test runs may share
one Redis database; ``CELERY_TEST_REDIS_URL`` chooses it (default ``redis://127.0.0.1:6379/14``).
While the fixture is active, this process's Celery app sends tasks to that broker and
queue instead of running them in-process; afterwards the settings' values are back.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import kombu.pools
import pytest
from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent
REDIS_URL = os.environ.get("CELERY_TEST_REDIS_URL", "redis://127.0.0.1:6379/14")
#: Modules the worker imports besides the apps' tasks (``-I``), e.g. test-only job kinds.
EXTRA_INCLUDES: list[str] = ["tests.jobs.runners"]


@dataclass
class Worker:
    hostname: str
    queue: str
    broker_url: str
    process: subprocess.Popen
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def _database_url() -> str:
    db = connection.settings_dict
    if db["ENGINE"] != "django.db.backends.postgresql":
        pytest.skip("a real worker needs PostgreSQL: another process cannot reach an in-memory SQLite database")
    user = quote(db.get("USER") or "", safe="")
    password = f":{quote(db['PASSWORD'], safe='')}" if db.get("PASSWORD") else ""
    auth = f"{user}{password}@" if user else ""
    port = f":{db['PORT']}" if db.get("PORT") else ""
    return f"postgres://{auth}{db.get('HOST') or '127.0.0.1'}{port}/{db['NAME']}"


def worker_env(broker_url: str, **extra: str) -> dict[str, str]:
    """The worker's environment: the project's settings on the test database, media root and broker."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "CELERY_"))}
    env.update({
        "DJANGO_SETTINGS_MODULE": "mediation.settings",
        "SECRET_KEY": "test-only-not-secret",
        "DEBUG": "0",
        "DATABASE_URL": _database_url(),
        "MEDIA_ROOT": str(settings.MEDIA_ROOT),
        "CELERY_BROKER_URL": broker_url,
        "SECURE_SSL_REDIRECT": "0",
        "PYTHONPATH": str(ROOT),
        **extra,
    })
    return env


def _reset_pool(app: Any) -> None:
    """Drop the app's broker connections and routes: the next message goes to the broker now configured."""
    app.__dict__["_pool"] = None
    # Cached on first use with the broker and default queue of the time: made anew on next use.
    app.__dict__.pop("amqp", None)
    app.__dict__.pop("control", None)
    kombu.pools.reset()  # closes and forgets every cached connection and producer pool


@pytest.fixture
def celery_worker(transactional_db: None) -> Iterator[Worker]:
    """Start ``celery worker`` (solo pool) on a queue of its own; stop it with a warm shutdown."""
    from mediation.celery import app

    queue = f"test-{uuid.uuid4().hex[:12]}"
    hostname = f"{queue}@localhost"
    log = Path(tempfile.mkstemp(prefix="celery-worker-", suffix=".log")[1])
    command = [sys.executable, "-m", "celery", "-A", "mediation", "worker", "--pool=solo", "--concurrency=1",
               "-Q", queue, "-n", hostname, "--without-gossip", "--without-mingle", "--loglevel=INFO",
               *[arg for module in EXTRA_INCLUDES for arg in ("-I", module)]]
    with log.open("wb") as out:
        process = subprocess.Popen(command, cwd=ROOT, env=worker_env(REDIS_URL, JOBS_RETRY_DELAY="0.2"),
                                   stdout=out, stderr=subprocess.STDOUT)
    saved = {k: app.conf[k] for k in ("broker_url", "task_always_eager", "task_default_queue")}
    app.conf.update(broker_url=REDIS_URL, task_always_eager=False, task_default_queue=queue)
    _reset_pool(app)
    worker = Worker(hostname=hostname, queue=queue, broker_url=REDIS_URL, process=process, log_path=log)
    try:
        for _attempt in range(30):
            if process.poll() is not None:
                pytest.fail(f"the Celery worker exited at start:\n{worker.log()}")
            if app.control.ping(destination=[hostname], timeout=0.5):
                break
        else:
            pytest.fail(f"the Celery worker did not answer a ping:\n{worker.log()}")
        yield worker
    finally:
        process.send_signal(signal.SIGTERM)  # warm shutdown: the task in hand finishes first
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        app.conf.update(saved)
        _reset_pool(app)
        log.unlink(missing_ok=True)
