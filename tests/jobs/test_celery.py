"""The Celery set-up: brokers reachable, in-process without one, the beat schedule's tasks exist."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import uuid
from urllib.parse import urlsplit

import pytest
from celery.schedules import crontab
from django.conf import settings
from kombu import Connection

from mediation.celery import app
from mediation.reports.models import SummaryState
from mediation.tasks import refresh_statistics
from tests.factories import register

BROKERS = [os.environ.get("CELERY_TEST_REDIS_URL", "redis://127.0.0.1:6379/14"),
           os.environ.get("CELERY_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672//")]


def _listening(url: str) -> bool:
    parts = urlsplit(url)
    try:
        socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 0), timeout=1).close()
    except OSError:
        return False
    return True


@pytest.mark.parametrize("url", BROKERS, ids=["redis", "rabbitmq"])
def test_each_broker_carries_a_message(url):
    if not _listening(url):
        pytest.skip(f"no broker listening at {urlsplit(url).netloc}")
    name = f"test-ping-{uuid.uuid4().hex[:8]}"
    with Connection(url, connect_timeout=3) as conn:
        conn.ensure_connection(max_retries=1)
        queue = conn.SimpleQueue(name, queue_opts={"auto_delete": True})
        try:
            queue.put({"ping": name}, serializer="json")
            message = queue.get(timeout=5)
            assert message.payload == {"ping": name}
            message.ack()
        finally:
            queue.close()


def _settings_with(env: dict[str, str]) -> dict:
    code = ("import json; from mediation import settings as s; print(json.dumps({'eager': s.CELERY_TASK_ALWAYS_EAGER,"
            " 'broker': s.CELERY_BROKER_URL, 'accept': s.CELERY_ACCEPT_CONTENT}))")
    clean = {k: v for k, v in os.environ.items() if not k.startswith("CELERY_")}
    out = subprocess.run([sys.executable, "-c", code], env={**clean, "SECRET_KEY": "x", **env},
                         capture_output=True, text=True, check=True, cwd=settings.BASE_DIR)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_tasks_run_in_process_without_a_broker_and_on_workers_with_one():
    assert _settings_with({}) == {"eager": True, "broker": "memory://", "accept": ["json"]}
    url = "amqp://guest:guest@127.0.0.1:5672//"
    assert _settings_with({"CELERY_BROKER_URL": url}) == {"eager": False, "broker": url, "accept": ["json"]}


def test_idempotent_tasks_are_acknowledged_late_and_limited_in_time():
    assert app.conf.task_acks_late and app.conf.task_reject_on_worker_lost
    assert app.conf.task_serializer == "json" and app.conf.accept_content == ["json"]
    assert 0 < app.conf.task_soft_time_limit < app.conf.task_time_limit
    assert app.conf.broker_transport_options["visibility_timeout"] > app.conf.task_time_limit
    assert app.conf.timezone == "Asia/Shanghai"


def test_every_scheduled_task_exists():
    app.loader.import_default_modules()
    for entry in settings.CELERY_BEAT_SCHEDULE.values():
        assert entry["task"] in app.tasks, entry["task"]
    digest = settings.CELERY_BEAT_SCHEDULE["daily-digest"]["schedule"]
    assert isinstance(digest, crontab)
    assert "crontab: 30 8 * * *" in repr(digest)  # 08:30 every day, Beijing time (CELERY_TIMEZONE)


@pytest.mark.django_db
def test_the_statistics_refresh_task_rebuilds_the_summary(world):
    case = register(world.mediator_a, world.town_a)
    refresh_statistics.delay()
    assert SummaryState.objects.get(pk=1).case_watermark == case.pk
