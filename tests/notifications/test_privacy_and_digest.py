"""No personal data in any channel; the digest on working days only (2026 State Council notice)."""
from __future__ import annotations

import dataclasses
import datetime
import logging

import pytest
import time_machine
from django.core import mail

from mediation.services import EmployerInput, PersonInput, case_register
from notifications import services
from notifications.models import Notification, NotificationPreference
from notifications.sms import LocmemSmsBackend
from tests.factories import registration, valid_credit_code, valid_id_number
from tests.notifications.conftest import beijing
from workflows import services as ws

pytestmark = pytest.mark.django_db

NAME, EMPLOYER, PHONE = "欧阳翠花", "宁波奇异果智能科技有限公司", "13957412345"


def _distinctive_case(world):
    id_number = valid_id_number()
    with time_machine.travel(beijing(2026, 9, 17), tick=False):
        data = dataclasses.replace(
            registration(world.town_a, received_at=beijing(2026, 9, 17),
                         employer=EmployerInput(name=EMPLOYER, credit_code=valid_credit_code())),
            applicants=[PersonInput(name=NAME, id_number=id_number, phone=PHONE)])
        case = case_register(actor=world.mediator_a, data=data)
    with time_machine.travel(beijing(2026, 9, 18), tick=False):
        ws.case_accept(case_id=case.pk, actor=world.mediator_a)
    return case, id_number


def _by_every_channel(user, mobile: str) -> None:
    user.email = f"{user.username}@example.org"
    user.save()
    NotificationPreference.objects.create(user=user, by_email=True, by_sms=True, mobile=mobile)


def test_no_channel_carries_a_partys_name_id_number_or_phone(world, settings, caplog):
    settings.SMS_BACKEND = "notifications.sms.ConsoleSmsBackend"
    case, id_number = _distinctive_case(world)
    _by_every_channel(world.mediator_a, "13600000000")
    caplog.set_level(logging.DEBUG)
    for day in (5, 8, 9, 10):
        services.deadline_sweep(today=datetime.date(2026, 10, day))
        services.daily_digest(today=datetime.date(2026, 10, day))
    settings.SMS_BACKEND = "notifications.sms.LocmemSmsBackend"
    Notification.objects.all().delete()
    services.deadline_sweep(today=datetime.date(2026, 10, 8))
    services.daily_digest(today=datetime.date(2026, 10, 9))

    texts = [n.subject + n.body for n in Notification.objects.all()]
    texts += [str(m.subject) + str(m.body) for m in mail.outbox]
    texts += [text for _phone, text in LocmemSmsBackend.outbox]
    texts += [r.getMessage() for r in caplog.records]
    assert mail.outbox and LocmemSmsBackend.outbox and any("SMS to" in t for t in texts)
    assert any(case.number in t for t in texts)
    for secret in (NAME, EMPLOYER, id_number, PHONE, "13600000000"):
        assert not [t for t in texts if secret in t], secret


def _digests(user) -> list[Notification]:
    return list(Notification.objects.filter(user=user, threshold="digest"))


@pytest.mark.parametrize("day", [
    datetime.date(2026, 10, 5),   # Monday, National Day holiday (1–7 October)
    datetime.date(2026, 11, 21),  # an ordinary Saturday
])
def test_the_digest_does_nothing_on_a_day_off(world, day):
    _distinctive_case(world)
    _by_every_channel(world.mediator_a, "13600000000")
    assert services.daily_digest(today=day).reached == 0
    assert _digests(world.mediator_a) == [] and mail.outbox == []


def test_the_digest_goes_out_on_a_swapped_working_saturday_once_per_user(world):
    case, _id = _distinctive_case(world)
    _by_every_channel(world.mediator_a, "13600000000")
    NotificationPreference.objects.create(user=world.mediator_a2, digest=False)
    case.mediators.add(world.mediator_a2)
    saturday = datetime.date(2026, 10, 10)  # a working day under the 2026 notice; the period ended 8 October
    services.daily_digest(today=saturday)
    services.daily_digest(today=saturday)
    (digest,) = _digests(world.mediator_a)
    assert case.number in digest.body and "调解期限" in digest.body
    assert _digests(world.mediator_a2) == []
    assert [m.subject for m in mail.outbox if m.to == [world.mediator_a.email]] == [digest.subject]
    assert _digests(world.mediator_b) == []
