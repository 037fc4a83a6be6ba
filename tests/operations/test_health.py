"""/healthz and /readyz (docs/operations.md, Health checks).

What a probe must do comes from how probes are used: a liveness probe must not depend on the
database (a database outage must not get every web process restarted), a readiness probe must
fail when any dependency a request needs is gone, and both are called from inside the container
or by the balancer, over plain HTTP, under an address that is not one of the site's host names.
"""
from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest
from django.db import connection
from django.db.utils import OperationalError

ID_NUMBER = "110101199003074578"  # a valid resident ID number (GB 11643 check digit)


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def body(response) -> dict:
    return json.loads(response.content)


# --- /healthz -------------------------------------------------------------------------------------

def test_healthz_answers_without_touching_the_database(client):
    # No django_db mark: pytest-django refuses any connection or query, so a 200 here proves none.
    response = client.get("/healthz")
    assert response.status_code == 200
    assert body(response) == {"status": "ok"}
    assert response["Cache-Control"] == "no-store"


def test_probes_skip_the_host_check_and_the_https_redirect(client, settings):
    settings.ALLOWED_HOSTS = ["cases.example.org"]
    settings.SECURE_SSL_REDIRECT = True
    # An ordinary page under the container's own address is refused (the host check is on)...
    assert client.get("/accounts/login/", HTTP_HOST="10.0.0.7:8000").status_code == 400
    # ...and on the site's name over plain HTTP it is redirected to HTTPS...
    assert client.get("/accounts/login/", HTTP_HOST="cases.example.org").status_code == 301
    # ...but the probe is answered, as it comes: plain HTTP, the container's address.
    response = client.get("/healthz", HTTP_HOST="10.0.0.7:8000")
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"


# --- /readyz ---------------------------------------------------------------------------------------

@pytest.mark.django_db
def test_readyz_is_200_when_everything_answers(client, settings):
    settings.ALLOWED_HOSTS = ["cases.example.org"]
    response = client.get("/readyz", HTTP_HOST="127.0.0.1:8000")
    assert response.status_code == 200, response.content
    result = body(response)
    assert result["status"] == "ok" and result["failed"] == []
    assert {"database", "fonts", "media"} <= set(result["checks"])
    assert response["Cache-Control"] == "no-store"


@pytest.fixture
def database_down(monkeypatch):
    """The default database unreachable: PostgreSQL on a port nobody listens on; SQLite refusing to connect."""
    if connection.vendor == "postgresql":
        saved = dict(connection.settings_dict)
        connection.close()
        connection.settings_dict.update(HOST="127.0.0.1", PORT=str(closed_port()), PASSWORD="s3cret-pw")
        yield
        connection.close()
        connection.settings_dict.clear()
        connection.settings_dict.update(saved)
    else:
        # An in-memory SQLite test database cannot be closed and reopened elsewhere.
        def refuse():
            raise OperationalError("unable to open database file")

        monkeypatch.setattr(connection, "ensure_connection", refuse)
        yield


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_readyz_is_503_naming_the_database_when_it_is_down(client, database_down):
    response = client.get("/readyz")
    assert response.status_code == 503
    result = body(response)
    assert result["status"] == "fail"
    assert result["failed"] == ["database"]
    assert result["checks"]["database"]["status"] == "fail"
    # The other checks still ran and are reported on their own.
    assert result["checks"]["media"]["status"] == "ok"
    # No connection details reach the caller.
    text = response.content.decode()
    assert "s3cret-pw" not in text and "127.0.0.1" not in text and "port" not in text.lower()


@pytest.mark.django_db
def test_readyz_is_503_naming_media_when_storage_is_not_writable(client, settings, tmp_path):
    # Below a regular file no directory can be made: not writable even for root (CI runs as root).
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    settings.MEDIA_ROOT = blocker / "media"
    response = client.get("/readyz")
    assert response.status_code == 503
    result = body(response)
    assert result["failed"] == ["media"]
    assert result["checks"]["database"]["status"] == "ok"
    assert str(tmp_path) not in response.content.decode()


@pytest.mark.django_db
def test_readyz_leaves_nothing_in_media(client, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    assert client.get("/readyz").status_code == 200
    assert [p for p in Path(tmp_path).rglob("*") if p.is_file()] == []


@pytest.mark.django_db
def test_readyz_is_503_naming_fonts_when_they_are_not_built(client, monkeypatch, tmp_path):
    monkeypatch.setenv("MEDIATION_FONT_DIR", str(tmp_path))
    response = client.get("/readyz")
    assert response.status_code == 503
    assert body(response)["failed"] == ["fonts"]


@pytest.mark.django_db
def test_readyz_checks_the_broker_only_when_one_is_configured(client, settings):
    settings.CELERY_BROKER_URL = "memory://"  # no broker: tasks run in-process
    assert "broker" not in body(client.get("/readyz"))["checks"]
    pytest.importorskip("kombu")
    settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{closed_port()}/0"
    response = client.get("/readyz")
    assert response.status_code == 503
    assert body(response)["failed"] == ["broker"]


@pytest.mark.django_db
def test_readyz_is_200_with_the_machines_redis(client, settings):
    pytest.importorskip("redis")
    with socket.socket() as probe:
        probe.settimeout(1)
        if probe.connect_ex(("127.0.0.1", 6379)) != 0:
            pytest.skip("no Redis on 127.0.0.1:6379")
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:6379/0"
    response = client.get("/readyz")
    assert response.status_code == 200, response.content
    assert body(response)["checks"]["broker"]["status"] == "ok"


def test_probes_answer_only_reads(client):
    # A POST to a probe is an ordinary request (no view there): never runs the checks.
    assert client.post("/readyz").status_code == 404
