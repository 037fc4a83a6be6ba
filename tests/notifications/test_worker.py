"""The deadline sweep on a real Celery worker (Redis), racing a sweep in this process: each reminder once."""
from __future__ import annotations

import datetime
import re
import time

import pytest
import time_machine
from django.core import mail
from django.utils import timezone

from notifications import services
from notifications.models import Notification
from notifications.tasks import deadline_sweep
from tests.celery_worker import celery_worker  # noqa: F401 -- the fixture
from tests.factories import register
from tests.workflows.test_concurrency import run_in_threads
from workflows import services as ws

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def _overdue_cases(world, n: int = 3) -> None:
    """Cases accepted 40 days ago: the 15-day mediation period (劳动争议调解仲裁法 art. 14) is long overdue."""
    long_ago = timezone.now() - datetime.timedelta(days=40)
    for user in (world.mediator_a, world.mediator_a2):
        user.email = f"{user.username}@example.org"
        user.save()
    for _i in range(n):
        with time_machine.travel(long_ago, tick=False):
            case = register(world.mediator_a, world.town_a, received_at=long_ago)
            ws.case_accept(case_id=case.pk, actor=world.mediator_a)
        case.mediators.add(world.mediator_a2)


def test_a_worker_sweep_and_a_local_sweep_at_once_send_each_reminder_once(world, celery_worker):  # noqa: F811
    _overdue_cases(world)

    def on_the_worker():
        deadline_sweep.delay()

    def here():
        return services.deadline_sweep()

    results = run_in_threads(lambda which: which(), [(on_the_worker,), (here,)])
    assert not any(isinstance(r, Exception) for r in results), results
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if "succeeded" in celery_worker.log() and not Notification.objects.filter(
                status=Notification.Status.PENDING).exists():
            break
        time.sleep(0.2)
    else:
        pytest.fail(f"the sweep did not finish:\n{celery_worker.log()[-3000:]}")
    rows = list(Notification.objects.all())
    # Two overdue clocks per case (docs/clocks.md: the statutory 15 days from receipt, art. 14, and the
    # mediation period from acceptance), 3 cases, 2 mediators: one overdue reminder each, all sent.
    assert len(rows) == 2 * 3 * 2 and all(n.status == Notification.Status.SENT for n in rows)
    assert {n.threshold for n in rows} == {"overdue"}
    # Sent exactly once between the two processes: this process's mails plus the worker's sends (its
    # log names each notification it sent) are as many as the reminders, and no notification twice.
    local = len(mail.outbox)
    worker_sent = _sent_by(celery_worker.log())
    assert local + len(worker_sent) == len(rows) and len(set(worker_sent)) == len(worker_sent)
    # A later sweep on the worker finds nothing new to send.
    deadline_sweep.delay()
    deadline = time.monotonic() + 10
    while celery_worker.log().count("succeeded") < 2 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert Notification.objects.count() == len(rows)
    assert len(mail.outbox) == local and _sent_by(celery_worker.log()) == worker_sent


def _sent_by(log: str) -> list[int]:
    return [int(pk) for pk in re.findall(r"notification (\d+) sent \(", log)]
