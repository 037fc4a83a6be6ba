"""JSON logs with a request id and no personal data; Sentry only with a DSN (docs/operations.md, Logs).

A log line is written for whoever runs the servers, not for the people in the cases: the
Personal Information Protection Law (art. 6, 51) asks that personal information be limited to
what the purpose needs and protected, and a search by ID number puts that number in the query
string. So lines carry paths, never query strings or bodies, and users by id, never by name.
"""
from __future__ import annotations

import io
import json
import logging
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from mediation.error_reports import strip_request_data
from mediation.logs import JsonFormatter

ROOT = Path(__file__).resolve().parents[2]
ID_NUMBER = "110101199003074578"  # a valid resident ID number (GB 11643 check digit)
PHONE = "13800138000"


@pytest.fixture
def log_lines():
    """The lines the configured console handler writes (the real formatter and filter), parsed."""
    handlers = [h for h in logging.getLogger().handlers
                if isinstance(h, logging.StreamHandler) and isinstance(h.formatter, JsonFormatter)]
    assert handlers, "the console handler does not write JSON (LOG_FORMAT=text in the environment?)"
    buffer = io.StringIO()
    previous = [h.setStream(buffer) for h in handlers]
    texts: list[str] = []

    def read() -> list[dict]:
        texts[:] = buffer.getvalue().splitlines()
        return [json.loads(line) for line in texts if line.strip()]

    read.raw = lambda: buffer.getvalue()  # type: ignore[attr-defined]
    yield read
    for handler, stream in zip(handlers, previous, strict=True):
        handler.setStream(stream)


@pytest.mark.django_db
def test_a_request_id_from_the_proxy_goes_back_and_onto_the_requests_log_lines(client, log_lines):
    response = client.get("/no-such-page/", HTTP_X_REQUEST_ID="edge-7f3a9c01")
    assert response.status_code == 404
    assert response["X-Request-ID"] == "edge-7f3a9c01"
    lines = [line for line in log_lines() if line.get("logger") == "django.request"]
    assert lines, "Django logs a 404 on django.request"
    assert lines[0]["request_id"] == "edge-7f3a9c01"
    assert lines[0]["level"] == "WARNING" and "/no-such-page/" in lines[0]["message"]
    assert "time" in lines[0]


@pytest.mark.django_db
@pytest.mark.parametrize("given", ["", "short", "has spaces in it", "x" * 65, "semi;colon-12345", "ünïcode-12345"])
def test_a_malformed_request_id_is_replaced_by_a_new_one(client, given):
    response = client.get("/healthz", HTTP_X_REQUEST_ID=given)
    assert re.fullmatch(r"[0-9a-f]{32}", response["X-Request-ID"])
    assert client.get("/healthz")["X-Request-ID"] != response["X-Request-ID"]


@pytest.mark.django_db
def test_a_query_string_with_an_id_number_never_reaches_the_log(client, log_lines):
    client.get(f"/no-such-page/?id_number={ID_NUMBER}&phone={PHONE}")
    raw = log_lines.raw()
    assert "django.request" in raw  # the request was logged...
    assert ID_NUMBER not in raw and PHONE not in raw  # ...without its query string


@pytest.mark.django_db
def test_a_signed_in_user_is_logged_by_id_not_by_name(client, world, log_lines):
    client.force_login(world.mediator_a)
    client.get(f"/no-such-page/?q={ID_NUMBER}")
    lines = [line for line in log_lines() if line.get("logger") == "django.request"]
    assert lines and lines[0]["user_id"] == world.mediator_a.pk
    raw = log_lines.raw()
    assert world.mediator_a.username not in raw and ID_NUMBER not in raw
    for name in (world.mediator_a.first_name, world.mediator_a.last_name):
        assert not name or name not in raw


def test_the_formatter_keeps_only_its_fields():
    # A library's extra (Django puts the request object on django.request records) is dropped.
    record = logging.LogRecord("django.request", logging.WARNING, __file__, 1, "Not Found: %s", ("/x/",), None)
    record.request = f"<WSGIRequest: GET '/x/?id_number={ID_NUMBER}'>"
    record.status_code = 404
    line = json.loads(JsonFormatter().format(record))
    assert line["message"] == "Not Found: /x/" and line["status_code"] == 404
    assert "request" not in line and ID_NUMBER not in json.dumps(line)


def test_gunicorns_error_line_loses_the_query_string():
    record = logging.LogRecord("gunicorn.error", logging.ERROR, __file__, 1, "Error handling request %s",
                               (f"/cases/?q={ID_NUMBER}",), None)
    line = json.loads(JsonFormatter().format(record))
    assert line["message"] == "Error handling request /cases/"


# --- Sentry ------------------------------------------------------------------------------------------

def sentry_state(**env: str) -> dict:
    """Load the production settings in a fresh interpreter and report the Sentry client's options."""
    script = (
        "import json, django, sentry_sdk\n"
        "django.setup()\n"
        "client = sentry_sdk.get_client()\n"
        "options = client.options if client.is_active() else {}\n"
        "print(json.dumps({'initialised': sentry_sdk.is_initialized(),\n"
        "  'send_default_pii': options.get('send_default_pii'),\n"
        "  'include_local_variables': options.get('include_local_variables'),\n"
        "  'max_request_body_size': options.get('max_request_body_size'),\n"
        "  'before_send': getattr(options.get('before_send'), '__qualname__', None),\n"
        "  'before_send_transaction': getattr(options.get('before_send_transaction'), '__qualname__', None)}))\n"
    )
    clean = {k: v for k, v in os.environ.items() if not k.startswith("SENTRY_") and k != "DATABASE_URL"}
    clean.update(DJANGO_SETTINGS_MODULE="mediation.settings", SECRET_KEY="test-only-not-secret",
                 MEDIATION_VAR_DIR=str(ROOT / "var"), **env)
    clean.pop("DEBUG", None)
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=clean, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_sentry_is_not_initialised_without_a_dsn():
    assert sentry_state()["initialised"] is False


def test_sentry_with_a_dsn_sends_no_personal_data():
    # A DSN whose host never answers: initialising sends nothing.
    state = sentry_state(SENTRY_DSN="http://public@127.0.0.1:9/1")
    assert state == {"initialised": True, "send_default_pii": False, "include_local_variables": False,
                     "max_request_body_size": "never", "before_send": "strip_request_data",
                     # Performance events skip before_send and carry the request too.
                     "before_send_transaction": "strip_request_data"}


def test_before_send_strips_the_request_and_keeps_the_user_id_only():
    event = {
        "request": {
            "method": "GET",
            "url": f"https://cases.example.org/cases/?q={ID_NUMBER}",
            "query_string": f"q={ID_NUMBER}",
            "data": {"phone": PHONE},
            "cookies": {"sessionid": "abc"},
            "headers": {"Cookie": "sessionid=abc", "Authorization": "Basic eA==", "X-Request-ID": "edge-7f3a9c01",
                        "Referer": f"https://cases.example.org/cases/?q={ID_NUMBER}"},
            "env": {"REMOTE_ADDR": "10.0.0.9"},
        },
        "user": {"id": 42, "username": "wangfang", "email": "w@example.org", "ip_address": "10.0.0.9"},
    }
    cleaned = strip_request_data(event, {})
    assert cleaned["request"] == {"method": "GET", "url": "https://cases.example.org/cases/",
                                  "headers": {"X-Request-ID": "edge-7f3a9c01"}}
    assert cleaned["user"] == {"id": 42}
    for secret in (ID_NUMBER, PHONE, "sessionid", "wangfang", "10.0.0.9"):
        assert secret not in json.dumps(cleaned)


def test_exception_texts_and_breadcrumbs_do_not_leave():
    """A database error's text can quote a value (DETAIL: Key (id_number)=(…)); a breadcrumb, a log line."""
    event = {"exception": {"values": [{"type": "IntegrityError",
                                       "value": f"DETAIL: Key (id_number)=({ID_NUMBER}) already exists."}]},
             "breadcrumbs": {"values": [{"message": f"searched {ID_NUMBER}"}]},
             "logentry": {"message": f"case of {ID_NUMBER}"},
             "request": {"url": f"https://cases.example.org/cases/?q={ID_NUMBER}", "query_string": f"q={ID_NUMBER}"}}
    cleaned = strip_request_data(event, {})
    assert ID_NUMBER not in json.dumps(cleaned)
    assert cleaned["exception"]["values"][0]["type"] == "IntegrityError"


def test_a_celery_tasks_lines_carry_the_task_id_and_name(log_lines):
    from mediation.celery import app

    @app.task(name="tests.operations.log_something")
    def log_something() -> None:
        logging.getLogger("jobs.tasks").info("exporting")

    result = log_something.apply(task_id="7d1c2a4e-task")
    assert result.successful()
    lines = [line for line in log_lines() if line.get("message") == "exporting"]
    assert lines and lines[0]["task_id"] == "7d1c2a4e-task"
    assert lines[0]["task_name"] == "tests.operations.log_something"
