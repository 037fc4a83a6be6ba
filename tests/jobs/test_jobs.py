"""Background jobs in-process (no broker: Celery runs each task at once, as in `make demo`)."""
from __future__ import annotations

import csv
import io
import zipfile
from datetime import timedelta

import pytest
import time_machine
from django.conf import settings
from django.core.files.storage import default_storage
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from jobs import notify, services
from jobs.models import Job
from jobs.tasks import expire_files, run_job
from mediation.audit.models import AuditEvent
from mediation.celery import app
from mediation.models import Membership
from mediation.reports import ledger
from tests.factories import register
from tests.lifecycle import case_in_state
from workflows.states import CaseState as S

NUMBER = [c.key for c in ledger.COLUMNS].index("number")


@pytest.fixture
def background(monkeypatch):
    """The web exports behave as with a broker configured; the job still runs in-process."""
    monkeypatch.setattr("mediation.reports.views.background_enabled", lambda: True)
    monkeypatch.setattr("mediation.documents.views.background_enabled", lambda: True)


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")


def ledger_job(user, **filters) -> Job:
    from mediation.permissions import reach_signature

    # As services.job_start records it: the reach of the owner's rights when the job was asked for.
    job = Job.objects.create(owner=user, kind=Job.Kind.LEDGER,
                             parameters={"filters": filters, "reach": reach_signature(user)})
    run_job.delay(job.pk)
    job.refresh_from_db()
    return job


def test_without_a_broker_tasks_run_in_process_and_the_exports_stream(world, client):
    assert app.conf.task_always_eager and not services.background_enabled()
    client.force_login(world.supervisor_a)
    assert client.get(reverse("reports:ledger_export")).streaming
    assert not Job.objects.exists()


def test_the_ledger_button_starts_a_job_with_the_filters_and_never_a_search_text(
        world, client, media, background, django_capture_on_commit_callbacks):
    settled, other = case_in_state(world, S.SETTLED), case_in_state(world, S.JOINT_MEDIATION)
    client.force_login(world.supervisor_a)
    # A GET (a bookmarked link) never creates a job; the page's button is a POST.
    assert client.get(reverse("reports:ledger_export"), {"state": "settled"}).streaming
    assert not Job.objects.exists()
    assert "后台生成" in client.get(reverse("reports:ledger"), {"state": "settled"}).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("reports:ledger_export") + "?state=settled")
    assert response.status_code == 302
    job = Job.objects.get()
    assert job.parameters["filters"] == {"state": "settled"} and job.status == Job.Status.DONE
    with job.file.open("rb") as fh:
        sheet = load_workbook(fh).active
        assert sheet is not None
        rows = list(sheet.iter_rows(values_only=True))[1:]
    assert [r[NUMBER] for r in rows] == [settled.number] and other.number not in str(rows)
    # A search for a name or ID number is not kept in a job: that export streams at once.
    searched = client.post(reverse("reports:ledger_export") + "?q=张")
    assert searched.streaming and Job.objects.count() == 1


def test_the_case_file_export_becomes_a_job_with_the_owners_scope(
        world, client, media, background, django_capture_on_commit_callbacks):
    mine, theirs = case_in_state(world, S.JOINT_MEDIATION), register(world.mediator_b, world.town_b)
    client.force_login(world.supervisor_a)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("documents:export"), {"state": "", "received_from": "", "received_to": ""})
    assert response.status_code == 302 and response["Location"] == reverse("jobs:list")
    job = Job.objects.get(owner=world.supervisor_a, kind=Job.Kind.CASE_FILES)
    assert job.status == Job.Status.DONE, job.error
    data = b"".join(client.get(reverse("jobs:download", args=[job.pk])).streaming_content)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        manifest = list(csv.DictReader(io.StringIO(archive.read("manifest.csv").decode("utf-8-sig"))))
    assert [row["case"] for row in manifest] == [mine.number]
    assert theirs.number not in data.decode("latin-1")


def test_a_finished_job_is_not_run_again(world, media):
    job = ledger_job(world.supervisor_a)
    assert (job.status, job.attempts) == (Job.Status.DONE, 1)
    name, sha256 = job.file.name, job.file_sha256
    assert run_job.apply(args=(job.pk,)).get() == "skipped"
    job.refresh_from_db()
    assert (job.attempts, job.file.name, job.file_sha256) == (1, name, sha256)


def test_a_job_runs_with_its_owners_rights_at_run_time(world, media):
    # A mediator may not use the ledger (statistics readers only): the job fails with the reason.
    job = ledger_job(world.mediator_a)
    assert job.status == Job.Status.FAILED and "没有导出案件台账的权限" in job.error and not job.file


def test_a_download_checks_the_owners_rights_again_and_is_audited(world, client, media):
    job = ledger_job(world.supervisor_a)
    client.force_login(world.supervisor_a)
    assert client.get(reverse("jobs:download", args=[job.pk])).status_code == 200
    event = AuditEvent.objects.get(action="export.download")
    assert event.new is not None
    assert (event.actor_id, event.new["job"], event.new["sha256"]) == (world.supervisor_a.pk, job.pk, job.file_sha256)
    Membership.objects.filter(user=world.supervisor_a).update(role="mediator")
    from mediation import permissions

    permissions.sync_role_groups(world.supervisor_a)
    assert client.get(reverse("jobs:download", args=[job.pk])).status_code == 403


def test_a_file_made_before_the_owner_moved_organisation_is_not_handed_out(world, client, media):
    """The same role in another township: the file holds the old township's cases (issue 12: scoped)."""
    from mediation import permissions

    case_in_state(world, S.SETTLED)
    job = ledger_job(world.supervisor_a)
    Membership.objects.filter(user=world.supervisor_a).update(organisation=world.town_b)
    permissions.sync_role_groups(world.supervisor_a)
    client.force_login(world.supervisor_a)
    response = client.get(reverse("jobs:download", args=[job.pk]))
    assert response.status_code == 403 and "重新导出" in response.content.decode()
    assert not AuditEvent.objects.filter(action="export.download").exists()


def test_a_file_gone_from_storage_is_a_clear_not_found(world, client, media):
    job = ledger_job(world.supervisor_a)
    assert job.file.name
    default_storage.delete(job.file.name)
    client.force_login(world.supervisor_a)
    response = client.get(reverse("jobs:download", args=[job.pk]))
    assert response.status_code == 404
    job.refresh_from_db()
    assert not job.file


def test_other_users_jobs_are_not_found(world, client, media):
    job = ledger_job(world.supervisor_a)
    client.force_login(world.supervisor_b)
    assert client.get(reverse("jobs:download", args=[job.pk])).status_code == 404
    page = client.get(reverse("jobs:list"))
    assert page.status_code == 200 and list(page.context["jobs"]) == []


def test_files_expire_on_access_and_by_the_periodic_task(world, client, media):
    first, second = ledger_job(world.supervisor_a), ledger_job(world.supervisor_a)
    assert first.expires_at and first.finished_at
    assert first.expires_at - first.finished_at == timedelta(days=settings.JOBS_EXPIRE_DAYS)
    names = [str(first.file.name), str(second.file.name)]
    with time_machine.travel(timezone.now() + timedelta(days=settings.JOBS_EXPIRE_DAYS, minutes=1)):
        client.force_login(world.supervisor_a)
        assert client.get(reverse("jobs:download", args=[first.pk])).status_code == 404
        assert not default_storage.exists(names[0])
        assert expire_files.delay().get() == 1
    assert not default_storage.exists(names[1])
    second.refresh_from_db()
    assert not second.file and second.status == Job.Status.DONE


def test_the_owner_is_told_when_a_job_finishes_without_any_personal_data(world, media, mailoutbox):
    from notifications.models import Notification

    case = case_in_state(world, S.SETTLED)
    done, failed = ledger_job(world.supervisor_a), ledger_job(world.mediator_a)
    told = {n.user: n for n in Notification.objects.filter(key__startswith="job:")}
    assert set(told) == {world.supervisor_a, world.mediator_a}
    assert f"#{done.pk}" in told[world.supervisor_a].body and "已完成" in told[world.supervisor_a].body
    assert f"#{failed.pk}" in told[world.mediator_a].body and failed.error in told[world.mediator_a].body
    assert reverse("jobs:list") in told[world.supervisor_a].body
    # Once per event: telling again changes nothing.
    assert notify.job_finished(done) and Notification.objects.filter(key__startswith="job:").count() == 2
    person = case.applicants().first().person
    for n in told.values():
        assert case.number not in n.body and person.name not in n.body
    for mail in mailoutbox:
        assert person.name not in mail.body and person.id_number not in mail.body


def test_a_notification_failure_does_not_undo_the_job(world, media, monkeypatch):
    import notifications.services

    def broken(*args, **kwargs):
        raise RuntimeError("mail server down")

    monkeypatch.setattr(notifications.services, "notify", broken)
    job = ledger_job(world.supervisor_a)
    assert job.status == Job.Status.DONE and notify.job_finished(job) is False


def test_a_job_left_running_by_a_dead_worker_is_taken_over_and_the_old_attempt_cannot_finish(world, media):
    job = Job.objects.create(owner=world.supervisor_a, kind=Job.Kind.LEDGER, parameters={"filters": {}})
    stale = services.job_claim(job.pk)  # the worker that then died
    assert stale is not None and stale.attempts == 1
    assert run_job.apply(args=(job.pk,)).get() == "done"  # the task delivered again
    job.refresh_from_db()
    assert (job.status, job.attempts) == (Job.Status.DONE, 2)
    services.job_fail(stale, "stale")
    services.job_progress_set(stale, 10)
    job.refresh_from_db()
    assert (job.status, job.progress, job.error) == (Job.Status.DONE, 100, "")
