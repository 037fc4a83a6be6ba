"""批量生成文书: one document of a per-case kind for every case in the supervisor's scope, as a job.

Expectations from DOMAIN.md: an acceptance notice (受理通知书) exists only for a case that was
accepted; a supervisor works the cases of their organisation and below, never another town's;
a mediator may not export (SUPERVISORS_ONLY, as the case-file export).
"""
from __future__ import annotations

import csv
import hashlib
import io
import zipfile

import pytest
from django.urls import reverse

from jobs.models import Job
from mediation.documents.models import DocumentKind, IssuedDocument
from tests.factories import register
from tests.lifecycle import case_in_state
from workflows import services as ws
from workflows.states import CaseState as S

BLANK = {"bulk-state": "", "bulk-received_from": "", "bulk-received_to": ""}


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")


def read_zip(data: bytes) -> tuple[list[dict[str, str]], dict[str, bytes]]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        manifest = list(csv.DictReader(io.StringIO(archive.read("manifest.csv").decode("utf-8-sig"))))
        files = {name: archive.read(name) for name in archive.namelist() if name != "manifest.csv"}
    return manifest, files


def test_a_supervisor_bulk_issues_acceptance_notices_for_their_scope(
        world, client, media, django_capture_on_commit_callbacks):
    accepted = [case_in_state(world, S.JOINT_MEDIATION), case_in_state(world, S.SETTLED)]
    never_accepted = case_in_state(world, S.REGISTERED)
    # 溪口's case, accepted there: outside 锦屏's supervisor's scope.
    theirs = register(world.mediator_b, world.town_b)
    ws.case_accept(case_id=theirs.pk, actor=world.mediator_b)
    client.force_login(world.supervisor_a)
    page = client.get(reverse("documents:export")).content.decode()
    assert "批量生成文书" in page and 'value="acceptance_notice"' in page
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("documents:bulk_issue"), {"bulk-kind": "acceptance_notice", **BLANK})
    assert response.status_code == 302 and response["Location"] == reverse("jobs:list")
    job = Job.objects.get(owner=world.supervisor_a, kind=Job.Kind.BULK_ISSUE)
    assert job.status == Job.Status.DONE and job.progress == 100, job.error
    assert job.parameters["document_kind"] == "acceptance_notice"

    notices = IssuedDocument.objects.filter(kind=DocumentKind.ACCEPTANCE_NOTICE)
    # One registered notice per accepted case in scope, issued by the supervisor; none elsewhere.
    assert sorted(notices.values_list("case_id", flat=True)) == sorted(c.pk for c in accepted)
    assert set(notices.values_list("author_id", flat=True)) == {world.supervisor_a.pk}
    assert not notices.filter(case__in=[never_accepted, theirs]).exists()

    data = b"".join(client.get(reverse("jobs:download", args=[job.pk])).streaming_content)
    manifest, files = read_zip(data)
    by_case = {row["case"]: row for row in manifest}
    assert theirs.number not in by_case
    assert by_case[never_accepted.number]["file"] == "" and by_case[never_accepted.number]["sha256"] == ""
    assert by_case[never_accepted.number]["status"].startswith("未生成")
    assert "受理通知书" in by_case[never_accepted.number]["status"]
    issued = [row for row in manifest if row["status"] == "ok"]
    assert len(files) == len(issued) == notices.count()
    for row in issued:
        assert row["type"] == "受理通知书"
        registered = IssuedDocument.objects.get(verification_code=row["verification_code"].replace("-", ""))
        assert registered.kind == DocumentKind.ACCEPTANCE_NOTICE and registered.case.number == row["case"]
        assert hashlib.sha256(files[row["file"]]).hexdigest() == registered.sha256 == row["sha256"]
        assert files[row["file"]].startswith(b"%PDF-")


def test_the_filters_narrow_the_cases(world, client, media, django_capture_on_commit_callbacks):
    mediating, settled = case_in_state(world, S.JOINT_MEDIATION), case_in_state(world, S.SETTLED)
    client.force_login(world.supervisor_a)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("documents:bulk_issue"),
                    {**BLANK, "bulk-kind": "application_record", "bulk-state": S.SETTLED})
    job = Job.objects.get()
    assert job.status == Job.Status.DONE, job.error
    applications = IssuedDocument.objects.filter(kind=DocumentKind.APPLICATION_RECORD)
    assert list(applications.values_list("case_id", flat=True)) == [settled.pk]
    assert not IssuedDocument.objects.filter(case=mediating).exists()


def test_a_mediator_cannot_start_it(world, client, media):
    case_in_state(world, S.JOINT_MEDIATION)
    for user in (world.mediator_a, world.auditor_a):
        client.force_login(user)
        response = client.post(reverse("documents:bulk_issue"), {"bulk-kind": "acceptance_notice", **BLANK})
        assert response.status_code == 403
    assert not Job.objects.exists() and not IssuedDocument.objects.exists()


@pytest.mark.parametrize("kind", ["agreement", "case_file", "session_record", "nonsense", ""])
def test_a_kind_that_is_not_one_per_case_is_refused_on_the_form(world, client, media, kind,
                                                                  django_capture_on_commit_callbacks):
    case_in_state(world, S.JOINT_MEDIATION)
    client.force_login(world.supervisor_a)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("documents:bulk_issue"), {"bulk-kind": kind, **BLANK})
    assert response.status_code == 400
    errors = response.context["bulk_form"].errors["kind"]
    assert errors and ("不能批量生成" in errors[0] or "必填" in errors[0] or "required" in errors[0])
    assert not Job.objects.exists() and not IssuedDocument.objects.exists()


def test_a_job_with_a_kind_not_one_per_case_fails_with_a_reason(world, media):
    from jobs.tasks import run_job

    case_in_state(world, S.JOINT_MEDIATION)
    job = Job.objects.create(owner=world.supervisor_a, kind=Job.Kind.BULK_ISSUE,
                             parameters={"filters": {}, "document_kind": "agreement"})
    run_job.apply(args=(job.pk,))
    job.refresh_from_db()
    assert job.status == Job.Status.FAILED and "不能批量生成" in job.error
    assert not IssuedDocument.objects.exists()


def test_an_empty_scope_starts_no_job(world, client, media):
    client.force_login(world.supervisor_a)
    response = client.post(reverse("documents:bulk_issue"), {"bulk-kind": "acceptance_notice", **BLANK})
    assert response.status_code == 302 and response["Location"] == reverse("documents:export")
    assert not Job.objects.exists()
