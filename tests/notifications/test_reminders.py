"""When reminders fall due and who gets them, from the rules (DOMAIN.md §4, docs/clocks.md).

Dates are worked out by hand from the law and the State Council's 2026 holiday notice
(国办发明电〔2025〕7号): National Day 1–7 October 2026 off, Saturday 10 October a working day.
"""
from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
import time_machine
from django.core import mail

from mediation import services as ms
from notifications import services
from notifications.models import Notification
from tests.factories import register
from tests.lifecycle import case_in_state
from tests.notifications.conftest import beijing
from workflows import services as ws
from workflows.states import CaseState as S

pytestmark = pytest.mark.django_db


def _accepted_on(world, received: datetime.datetime, accepted: datetime.datetime):
    with time_machine.travel(received, tick=False):
        case = register(world.mediator_a, world.town_a, received_at=received)
    with time_machine.travel(accepted, tick=False):
        return ws.case_accept(case_id=case.pk, actor=world.mediator_a)


def _reminders(kind: str, case) -> list[tuple[str, str]]:
    return sorted(Notification.objects.filter(key__startswith=f"{kind}:{case.pk}:")
                  .values_list("user__username", "threshold"))


def test_mediation_period_reminders_fall_on_the_days_the_law_gives_across_national_day(world):
    # Accepted Friday 18 September 2026. 人社部令第17号: mediation concludes within 15 days of
    # acceptance; 民法典 art. 201: the day of acceptance is not counted → 3 October, a National
    # Day holiday; art. 203: the period ends on the first working day after it → Thursday 8 October.
    case = _accepted_on(world, beijing(2026, 9, 17), beijing(2026, 9, 18))
    user = world.mediator_a.username
    expected_key = f"mediation:{case.pk}:{case.pk}:2026-10-08"

    services.deadline_sweep(today=datetime.date(2026, 10, 4))
    assert _reminders("mediation", case) == []
    # Calendar days, as the period itself counts: three days before 8 October is 5 October.
    services.deadline_sweep(today=datetime.date(2026, 10, 5))
    assert _reminders("mediation", case) == [(user, "before_3")]
    assert Notification.objects.get(key__startswith="mediation:").key == expected_key
    services.deadline_sweep(today=datetime.date(2026, 10, 7))
    assert _reminders("mediation", case) == [(user, "before_3")]
    services.deadline_sweep(today=datetime.date(2026, 10, 8))
    assert _reminders("mediation", case) == [(user, "before_3"), (user, "on_day")]
    services.deadline_sweep(today=datetime.date(2026, 10, 9))
    assert _reminders("mediation", case) == [(user, "before_3"), (user, "on_day"), (user, "overdue")]


def test_acceptance_thresholds_count_working_days_like_the_acceptance_period(world):
    # Received Wednesday 30 September 2026. Accept within 3 working days (人社部令第17号), the
    # day of receipt not counted: 8 October (1), 9 October (2), Saturday 10 October, a swapped
    # working day (3). Three working days before 10 October is 30 September itself — the
    # reminder is there at once, not on 7 October as calendar days would have it.
    with time_machine.travel(beijing(2026, 9, 30), tick=False):
        case = register(world.mediator_a, world.town_a, received_at=beijing(2026, 9, 30))
    services.deadline_sweep(today=datetime.date(2026, 10, 1))
    got = Notification.objects.filter(key=f"acceptance:{case.pk}:{case.pk}:2026-10-10")
    assert set(got.values_list("threshold", flat=True)) == {"before_3"}
    # Nobody is assigned before acceptance: the organisation's mediators are told, not another town's.
    told = set(got.values_list("user_id", flat=True))
    assert {world.mediator_a.pk, world.mediator_a2.pk} <= told
    assert world.mediator_b.pk not in told and world.supervisor_b.pk not in told
    services.deadline_sweep(today=datetime.date(2026, 10, 9))
    assert set(got.values_list("threshold", flat=True)) == {"before_3"}
    services.deadline_sweep(today=datetime.date(2026, 10, 10))
    assert set(got.values_list("threshold", flat=True)) == {"before_3", "on_day"}


def test_a_sweep_that_first_sees_a_deadline_on_its_last_day_sends_only_on_the_day(world):
    case = _accepted_on(world, beijing(2026, 9, 17), beijing(2026, 9, 18))
    services.deadline_sweep(today=datetime.date(2026, 10, 8))
    assert _reminders("mediation", case) == [(world.mediator_a.username, "on_day")]


def test_a_mediator_of_another_township_never_gets_a_reminder_of_this_case(world):
    case = _accepted_on(world, beijing(2026, 9, 17), beijing(2026, 9, 18))
    # Even assigned by mistake, 溪口's mediator cannot see 锦屏's case: no reminder reaches them.
    case.mediators.add(world.mediator_b)
    for day in (5, 8, 9):
        services.deadline_sweep(today=datetime.date(2026, 10, day))
    users = set(Notification.objects.filter(case=case).values_list("user_id", flat=True))
    assert world.mediator_a.pk in users
    assert world.mediator_b.pk not in users and world.supervisor_b.pk not in users


def test_an_overdue_instalment_is_reminded_also_when_part_paid_and_not_once_paid(world):
    case = case_in_state(world, S.SETTLED)  # instalments of 6000.00 due 30 and 60 days after 2026-11-20
    first, second = case.effective_agreement().instalments.order_by("number")
    with time_machine.travel(beijing(first.due_on.year, first.due_on.month, first.due_on.day), tick=False):
        ms.instalment_record_payment(instalment_id=first.pk, actor=world.mediator_a, paid_on=first.due_on,
                                     paid_amount=Decimal("3000.00"))
    services.deadline_sweep(today=first.due_on + datetime.timedelta(days=1))
    assert Notification.objects.filter(key=f"instalment:{case.pk}:{first.pk}:{first.due_on.isoformat()}",
                                       threshold="overdue", user=world.mediator_a).exists()
    with time_machine.travel(beijing(second.due_on.year, second.due_on.month, second.due_on.day), tick=False):
        ms.instalment_record_payment(instalment_id=second.pk, actor=world.mediator_a, paid_on=second.due_on,
                                     paid_amount=Decimal("6000.00"))
    services.deadline_sweep(today=second.due_on + datetime.timedelta(days=1))
    assert not Notification.objects.filter(key__startswith=f"instalment:{case.pk}:{second.pk}:").exists()


def test_an_escalation_waiting_longer_than_the_setting_reaches_its_deciders_only(world, settings):
    with time_machine.travel(beijing(2026, 11, 20, 9), tick=False):
        case = case_in_state(world, S.ESCALATION_PENDING)  # 甬达 committee → 锦屏街道
    with time_machine.travel(beijing(2026, 11, 20, 20), tick=False):
        services.deadline_sweep()
    assert not Notification.objects.filter(key__startswith="escalation:").exists()
    with time_machine.travel(beijing(2026, 11, 21, 10), tick=False):
        services.deadline_sweep()
    told = set(Notification.objects.filter(key__startswith=f"escalation:{case.pk}:")
               .values_list("user_id", flat=True))
    assert world.supervisor_a.pk in told
    assert world.enterprise_mediator.pk not in told  # the requester never decides their own request
    assert world.supervisor_b.pk not in told and world.mediator_b.pk not in told


def test_each_reminder_is_sent_once_over_repeated_sweeps(world):
    world.mediator_a.email = "a@example.org"
    world.mediator_a.save()
    _accepted_on(world, beijing(2026, 9, 17), beijing(2026, 9, 18))
    first = services.deadline_sweep(today=datetime.date(2026, 10, 5))
    sent = len(mail.outbox)
    assert sent >= 1 and first.sent == Notification.objects.count()
    again = services.deadline_sweep(today=datetime.date(2026, 10, 5))
    assert again.sent == 0 and len(mail.outbox) == sent
    assert not Notification.objects.filter(status=Notification.Status.PENDING).exists()


def test_the_scheduled_tasks_run_the_sweep_and_the_digest_in_process_without_a_broker(world, settings):
    from notifications import tasks

    settings.CELERY_TASK_ALWAYS_EAGER = True
    _accepted_on(world, beijing(2026, 9, 17), beijing(2026, 9, 18))
    with time_machine.travel(beijing(2026, 10, 8, 8), tick=False):  # a Thursday, a working day
        tasks.deadline_sweep.delay()
        tasks.daily_digest.delay()
    assert Notification.objects.filter(user=world.mediator_a, threshold="on_day").exists()
    assert Notification.objects.filter(user=world.mediator_a, threshold="digest",
                                       key="digest:2026-10-08").exists()
