"""Ledger export jobs through the API: started with the case list's filters, polled, downloaded as
我的导出 hands the file out (the owner's rights checked again; docs/api.md, docs/operations.md)."""
from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook

from jobs.models import Job
from mediation import permissions
from mediation.audit.models import AuditEvent
from mediation.models import Membership
from mediation.reports import ledger
from tests.factories import register
from tests.lifecycle import case_in_state
from workflows.states import CaseState as S

START = "/api/v1/exports/ledger/"
NUMBER = [c.key for c in ledger.COLUMNS].index("number")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")


def numbers(data: bytes) -> list[str]:
    sheet = load_workbook(io.BytesIO(data)).active
    assert sheet is not None
    return [str(row[NUMBER]) for row in list(sheet.iter_rows(values_only=True))[1:]]


def test_a_supervisor_exports_the_ledger_of_their_filtered_cases(world, api_as, media,
                                                                 django_capture_on_commit_callbacks):
    joint = case_in_state(world, S.JOINT_MEDIATION)  # 锦屏街道
    register(world.mediator_a, world.town_a)  # registered: filtered out
    waiting = case_in_state(world, S.REGISTERED)
    register(world.mediator_b, world.town_b)  # 溪口镇: beyond the supervisor's reach
    client = api_as(world.supervisor_a)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post_json(START, {"state": "joint_mediation"})
    assert response.status_code == 202, response.content
    job = Job.objects.get()
    assert response.json()["id"] == job.pk and response["Location"].endswith(f"/api/v1/exports/{job.pk}/")
    assert job.owner == world.supervisor_a and job.parameters["filters"] == {"state": "joint_mediation"}

    polled = client.get(f"/api/v1/exports/{job.pk}/").json()
    assert polled["status"] == "done" and polled["downloadable"] and polled["progress"] == 100

    download = client.get(f"/api/v1/exports/{job.pk}/download/")
    assert download.status_code == 200 and download["Content-Type"] == XLSX
    assert download["Content-Disposition"].startswith("attachment;")
    data = b"".join(download.streaming_content)
    assert data[:2] == b"PK" and numbers(data) == [joint.number] and waiting.number not in numbers(data)
    event = AuditEvent.objects.get(action="export.download")
    assert event.new is not None and event.actor_id == world.supervisor_a.pk and event.new["job"] == job.pk
    assert AuditEvent.objects.filter(action="export.ledger", actor_id=world.supervisor_a.pk).count() == 1


def test_the_district_ledger_holds_every_township(world, api_as, media, django_capture_on_commit_callbacks):
    mine, theirs = register(world.mediator_a, world.town_a), register(world.mediator_b, world.town_b)
    client = api_as(world.district_supervisor)
    with django_capture_on_commit_callbacks(execute=True):
        job_id = client.post_json(START, {}).json()["id"]
    data = b"".join(client.get(f"/api/v1/exports/{job_id}/download/").streaming_content)
    assert sorted(numbers(data)) == sorted([mine.number, theirs.number])


def test_mediators_may_not_export_and_a_read_token_may_not_start(world, api_as, media):
    assert api_as(world.mediator_a).post_json(START, {}).status_code == 403
    assert api_as(world.supervisor_a, "read").post_json(START, {}).status_code == 403
    assert not Job.objects.exists()


def test_another_users_job_does_not_exist(world, api_as, media, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        job_id = api_as(world.supervisor_a).post_json(START, {}).json()["id"]
    other = api_as(world.supervisor_b)
    for path in (f"/api/v1/exports/{job_id}/", f"/api/v1/exports/{job_id}/download/"):
        response = other.get(path)
        assert response.status_code == 404 and response["Content-Type"] == "application/problem+json"
    assert not AuditEvent.objects.filter(action="export.download").exists()


def test_a_file_made_before_the_owner_moved_is_refused(world, api_as, media, django_capture_on_commit_callbacks):
    client = api_as(world.supervisor_a)
    with django_capture_on_commit_callbacks(execute=True):
        job_id = client.post_json(START, {}).json()["id"]
    Membership.objects.filter(user=world.supervisor_a).update(organisation=world.town_b)
    permissions.sync_role_groups(world.supervisor_a)
    response = client.get(f"/api/v1/exports/{job_id}/download/")
    assert response.status_code == 403 and "重新导出" in response.json()["detail"]


def test_a_job_still_running_has_no_file_yet(world, api_as, media):
    client = api_as(world.supervisor_a)
    job_id = client.post_json(START, {}).json()["id"]  # queued: the worker takes it after the commit
    assert client.get(f"/api/v1/exports/{job_id}/").json()["status"] == "queued"
    assert client.get(f"/api/v1/exports/{job_id}/download/").status_code == 404


@pytest.mark.parametrize("body, field", [
    ({"q": "张三"}, "q"),
    ({"received_from": "2026-02-30"}, "received_from"),
    ({"received_from": "2026-06-01", "received_to": "2026-01-01"}, None),
    ({"state": "nowhere"}, "state"),
    ({"organisation": "abc"}, "organisation"),
    ({"state": ["settled"]}, "state"),
    ({"overdue": "maybe"}, "overdue"),
])
def test_bad_filters_are_422_and_no_job_is_made(world, api_as, media, body, field):
    response = api_as(world.supervisor_a, language="en").post_json(START, body)
    assert response.status_code == 422, response.content
    assert response.json()["errors"][0]["field"] == field and response["Content-Language"] == "en"
    assert not Job.objects.exists()


def test_an_organisation_beyond_reach_is_refused_not_exported(world, api_as, media):
    response = api_as(world.supervisor_a).post_json(START, {"organisation": world.town_b.pk})
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "organisation"
    assert not Job.objects.exists()


def test_a_key_starts_one_job(world, api_as, media):
    client = api_as(world.supervisor_a)
    first = client.post_json(START, {"state": "registered"}, HTTP_IDEMPOTENCY_KEY="ledger-1")
    again = client.post_json(START, {"state": "registered"}, HTTP_IDEMPOTENCY_KEY="ledger-1")
    assert first.status_code == again.status_code == 202 and again["Idempotency-Replayed"] == "true"
    assert Job.objects.count() == 1
