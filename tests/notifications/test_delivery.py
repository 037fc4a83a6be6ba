"""Exactly once: two sweeps at the same time, and a sweep that dies half way."""
from __future__ import annotations

import datetime
from collections import Counter

import pytest
import time_machine
from django.core import mail

from notifications import services
from notifications.models import Notification, NotificationPreference
from notifications.sms import LocmemSmsBackend
from tests.factories import register
from tests.notifications.conftest import beijing
from tests.workflows.test_concurrency import postgres_only, run_in_threads
from workflows import services as ws

SWEEP_DAY = datetime.date(2026, 10, 8)  # the mediation period's last day (see test_reminders)


def _several_cases_due(world, n: int = 4) -> None:
    for user, mobile in ((world.mediator_a, "13900000001"), (world.mediator_a2, "13900000002")):
        user.email = f"{user.username}@example.org"
        user.save()
        NotificationPreference.objects.create(user=user, by_email=True, by_sms=True, mobile=mobile)
    for _i in range(n):
        with time_machine.travel(beijing(2026, 9, 17), tick=False):
            case = register(world.mediator_a, world.town_a, received_at=beijing(2026, 9, 17))
        with time_machine.travel(beijing(2026, 9, 18), tick=False):
            ws.case_accept(case_id=case.pk, actor=world.mediator_a)
        case.mediators.add(world.mediator_a2)


def _each_sent_once() -> None:
    rows = list(Notification.objects.select_related("user"))
    assert rows and all(n.status == Notification.Status.SENT for n in rows)
    mails = Counter((m.to[0], m.subject) for m in mail.outbox)
    assert mails == Counter((n.user.email, n.subject) for n in rows)
    texts = Counter(LocmemSmsBackend.outbox)
    assert texts == Counter((n.user.notification_preference.mobile, n.subject) for n in rows
                            if n.user.notification_preference.by_sms)


@postgres_only
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_sweeps_at_once_send_each_reminder_once(world):
    _several_cases_due(world)

    def sweep():
        return services.deadline_sweep(today=SWEEP_DAY)

    results = run_in_threads(sweep, [(), ()])
    assert not any(isinstance(r, BaseException) for r in results), results
    _each_sent_once()
    assert sum(r.sent for r in results) == Notification.objects.count()


class WorkerDied(BaseException):
    """What a killed worker looks like to the code that was running: nothing after it runs."""


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_sweep_that_dies_half_way_leaves_the_rest_pending_and_the_next_one_sends_only_those(
        world, monkeypatch):
    _several_cases_due(world)
    real_send_mail = services.send_mail
    calls = {"n": 0}

    def dies_on_the_third(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            raise WorkerDied
        return real_send_mail(*args, **kwargs)

    monkeypatch.setattr(services, "send_mail", dies_on_the_third)
    with pytest.raises(WorkerDied):
        services.deadline_sweep(today=SWEEP_DAY)
    assert Notification.objects.filter(status=Notification.Status.SENT).count() == 2
    assert Notification.objects.filter(status=Notification.Status.PENDING).exists()
    sent_before = list(mail.outbox)

    monkeypatch.setattr(services, "send_mail", real_send_mail)
    services.deadline_sweep(today=SWEEP_DAY)
    assert mail.outbox[:2] == sent_before
    _each_sent_once()


@pytest.mark.django_db
def test_a_refused_address_stays_pending_without_stopping_the_others(world, monkeypatch):
    _several_cases_due(world, n=1)
    # E-mail is a2's only channel here: when it fails, nothing reached them, so the reminder waits.
    NotificationPreference.objects.filter(user=world.mediator_a2).update(by_sms=False)
    real_send_mail = services.send_mail

    def refuses_a2(subject, body, sender, to):
        if to == [world.mediator_a2.email]:
            raise OSError("connection refused")
        return real_send_mail(subject, body, sender, to)

    monkeypatch.setattr(services, "send_mail", refuses_a2)
    result = services.deadline_sweep(today=SWEEP_DAY)
    assert result.failed >= 1 and result.sent >= 1
    assert set(Notification.objects.filter(status="pending").values_list("user_id", flat=True)) == {
        world.mediator_a2.pk}
    monkeypatch.setattr(services, "send_mail", real_send_mail)
    services.deadline_sweep(today=SWEEP_DAY)
    _each_sent_once()


def test_a_channel_that_keeps_failing_does_not_repeat_the_one_that_worked(world, monkeypatch):
    """E-mail delivered, SMS refused (a number the gateway rejects): the reminder counts as sent, and
    later sweeps do not mail it again every 15 minutes."""
    _several_cases_due(world, n=1)

    def refuses(phone, text):
        raise OSError("gateway refused the number")

    monkeypatch.setattr(services.sms, "send_sms", refuses)
    for _sweep in range(3):
        services.deadline_sweep(today=SWEEP_DAY)
    rows = list(Notification.objects.select_related("user"))
    assert rows and all(n.status == Notification.Status.SENT for n in rows)
    assert Counter((m.to[0], m.subject) for m in mail.outbox) == Counter((n.user.email, n.subject) for n in rows)


def test_a_reminder_waiting_for_someone_who_lost_the_case_is_dropped(world, monkeypatch):
    """Only users who can see the case hear of it (docs/operations.md, Reminders): a reminder made while
    the case was theirs and not yet delivered is not sent after it moved away."""
    from mediation.models import Membership

    _several_cases_due(world, n=1)
    monkeypatch.setattr(services, "deliver_pending", lambda: (0, 0))
    services.deadline_sweep(today=SWEEP_DAY)
    monkeypatch.undo()
    waiting = Notification.objects.filter(user=world.mediator_a2).count()
    assert waiting
    from mediation.models import Case

    for case in Case.objects.all():
        case.mediators.remove(world.mediator_a2)
    Membership.objects.filter(user=world.mediator_a2).update(organisation=world.town_b)
    services.deliver_pending()
    assert not Notification.objects.filter(user=world.mediator_a2).exists()
    assert all(m.to != [world.mediator_a2.email] for m in mail.outbox)
