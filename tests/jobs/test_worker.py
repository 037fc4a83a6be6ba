"""Background jobs on a real Celery worker (Redis), reading and writing the test database."""
from __future__ import annotations

import hashlib
import io
import time

import pytest
from django.conf import settings
from django.urls import reverse
from openpyxl import load_workbook

import tests.jobs.runners  # noqa: F401 -- registers the test-only job kinds here too
from jobs import services
from jobs.models import Job
from mediation.audit.models import AuditEvent
from mediation.reports import ledger
from tests.factories import register
from tests.lifecycle import case_in_state
from workflows.states import CaseState as S

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

NUMBER = [c.key for c in ledger.COLUMNS].index("number")


def wait_finished(job: Job, timeout: float = 30) -> Job:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job.refresh_from_db()
        if job.finished:
            return job
        time.sleep(0.1)
    pytest.fail(f"job {job.pk} still {job.status} after {timeout} s")


def wait_for(found, timeout: float = 10):
    """What ``found()`` returns once it is not None (another process is about to write it)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = found()
        if value is not None:
            return value
        time.sleep(0.1)
    pytest.fail(f"nothing found after {timeout} s")


def test_a_ledger_export_becomes_a_job_the_owner_downloads_and_no_one_else(world, client, celery_worker):
    in_a = [case_in_state(world, S.JOINT_MEDIATION), case_in_state(world, S.SELF_RESOLUTION)]
    in_b = register(world.mediator_b, world.town_b)
    client.force_login(world.supervisor_a)

    response = client.post(reverse("reports:ledger_export"))
    assert response.status_code == 302 and response["Location"] == reverse("jobs:list")
    job = wait_finished(Job.objects.get(owner=world.supervisor_a))
    assert (job.status, job.progress, job.attempts, job.kind) == (Job.Status.DONE, 100, 1, "ledger")
    assert {k: v for k, v in job.parameters.items() if k != "reach"} == {"filters": {}, "query_string": ""}
    assert job.expires_at is not None and job.finished_at is not None
    # Its owner is told (the notification centre, once), with nothing about any party.
    from notifications.models import Notification

    # The worker tells the owner right after it marks the job done (a moment later, in its own process).
    told = wait_for(lambda: Notification.objects.filter(user=world.supervisor_a, key=f"job:{job.pk}:done").first())
    assert f"#{job.pk}" in told.body and all(c.number not in told.body for c in in_a)

    listed = client.get(reverse("jobs:list"))
    assert listed.status_code == 200 and reverse("jobs:download", args=[job.pk]) in listed.content.decode()
    download = client.get(reverse("jobs:download", args=[job.pk]))
    assert download.status_code == 200
    data = b"".join(download.streaming_content)
    assert hashlib.sha256(data).hexdigest() == job.file_sha256 and len(data) == job.file_size
    sheet = load_workbook(io.BytesIO(data)).active
    assert sheet is not None
    rows = list(sheet.iter_rows(values_only=True))[1:]
    # The owner's scope, as the case list shows it: township A's cases, never township B's.
    assert {r[NUMBER] for r in rows} == {c.number for c in in_a}
    assert in_b.number not in {r[NUMBER] for r in rows}
    assert AuditEvent.objects.filter(action="export.download", actor_id=world.supervisor_a.pk).count() == 1

    # Another supervisor: the job is not theirs, so it does not exist for them.
    client.force_login(world.supervisor_b)
    assert client.get(reverse("jobs:download", args=[job.pk])).status_code == 404
    assert reverse("jobs:download", args=[job.pk]) not in client.get(reverse("jobs:list")).content.decode()


def test_a_transient_failure_is_retried_and_a_lasting_one_reported(world, celery_worker):
    recovers = services.job_start(owner=world.supervisor_a, kind="test_flaky", parameters={"fail_times": 1})
    never = services.job_start(owner=world.supervisor_a, kind="test_flaky", parameters={"fail_times": 99})
    recovers, never = wait_finished(recovers), wait_finished(never)

    assert (recovers.status, recovers.attempts, recovers.error) == (Job.Status.DONE, 2, "")
    with recovers.file.open("rb") as fh:
        assert fh.read() == b"attempt 2"

    assert never.status == Job.Status.FAILED
    assert never.attempts == settings.JOBS_MAX_ATTEMPTS
    assert f"已尝试 {settings.JOBS_MAX_ATTEMPTS} 次" in never.error
    assert not never.file
