"""Payments under the agreement, their correction, and amounts as the pages show them (issue 10, point 5).

劳动争议调解仲裁法 art. 14: the agreement binds the parties from the day it is signed by both
and by the mediator and sealed (its ``effective_on``); art. 15: a party who does not perform it
within the agreed time may be taken to arbitration. So a payment under it is one that was made
(not in the future), under the agreement (not before it took effect), of what an instalment
asks, a larger sum only with the reason written down; and the record of it must be right, so a
slip is corrected with a reason, on the audit trail. Expectations are written by hand.
"""
from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from mediation import services as ms
from mediation.audit.models import AuditEvent
from mediation.models import Case, Instalment
from mediation.services import ClaimInput
from tests.factories import register
from tests.lifecycle import TODAY, case_in_state
from workflows import services as ws
from workflows.errors import ActionNotAllowed
from workflows.states import CaseState as S

#: The lifecycle's agreement takes effect on TODAY (2026-11-20) with two instalments of 6,000.00;
#: the tests run on 2026-11-25, Beijing time.
NOW = datetime.datetime(2026, 11, 25, 10, 0, tzinfo=datetime.timezone(datetime.timedelta(hours=8)))


@pytest.fixture
def on_25_november():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def settled(world, on_25_november):
    case = case_in_state(world, S.SETTLED)
    return case, case.effective_agreement().instalments.order_by("number").first()


def _unchanged(case: Case, instalment: Instalment, *, recovered: str = "0.00", paid_on=None) -> None:
    instalment.refresh_from_db()
    case.refresh_from_db()
    assert instalment.paid_on == paid_on
    assert case.amount_recovered == Decimal(recovered)


def _refused(field: str, call, **kwargs) -> str:
    with pytest.raises(ValidationError) as excinfo:
        call(**kwargs)
    return " ".join(excinfo.value.message_dict[field])


# --- recording a payment -------------------------------------------------------------

def test_art15_a_payment_dated_after_today_is_refused(world, settled):
    case, first = settled
    message = _refused("paid_on", ms.instalment_record_payment, instalment_id=first.pk, actor=world.mediator_a,
                       paid_on=datetime.date(2026, 11, 26), paid_amount="6000")
    assert "不能晚于今天（2026-11-25）" in message
    _unchanged(case, first)
    assert not AuditEvent.objects.filter(action="instalment.payment").exists()


def test_art14_a_payment_before_the_agreement_took_effect_is_refused(world, settled):
    case, first = settled
    message = _refused("paid_on", ms.instalment_record_payment, instalment_id=first.pk, actor=world.mediator_a,
                       paid_on=datetime.date(2026, 11, 19), paid_amount="6000")
    assert "不能早于调解协议生效日期（2026-11-20）" in message
    _unchanged(case, first)


def test_art14_a_payment_on_the_day_it_took_effect_or_today_is_recorded(world, settled):
    case, first = settled
    second = case.effective_agreement().instalments.get(number=2)
    ms.instalment_record_payment(instalment_id=first.pk, actor=world.mediator_a, paid_on=TODAY, paid_amount="6000")
    ms.instalment_record_payment(instalment_id=second.pk, actor=world.mediator_a,
                                 paid_on=datetime.date(2026, 11, 25), paid_amount="¥6,000.00")
    case.refresh_from_db()
    assert case.amount_recovered == Decimal("12000.00")


def test_more_than_the_instalment_without_a_note_is_refused(world, settled):
    case, first = settled
    message = _refused("paid_amount", ms.instalment_record_payment, instalment_id=first.pk, actor=world.mediator_a,
                       paid_on=TODAY, paid_amount="6,500.00")
    assert "6,500.00" in message and "6,000.00" in message and "履行说明" in message
    _unchanged(case, first)


def test_more_than_the_instalment_with_a_note_is_recorded_and_the_note_kept(world, settled):
    case, first = settled
    ms.instalment_record_payment(instalment_id=first.pk, actor=world.mediator_a, paid_on=TODAY,
                                 paid_amount="6,500.00", note="含迟延履行的利息500元")
    first.refresh_from_db()
    case.refresh_from_db()
    assert (first.paid_amount, first.payment_note) == (Decimal("6500.00"), "含迟延履行的利息500元")
    assert case.amount_recovered == Decimal("6500.00")
    event = AuditEvent.objects.get(action="instalment.payment")
    assert event.new is not None and event.new["payment_note"] == "含迟延履行的利息500元"


def test_an_instalment_is_recorded_once_then_corrected(world, settled):
    case, first = settled
    ms.instalment_record_payment(instalment_id=first.pk, actor=world.mediator_a, paid_on=TODAY, paid_amount="6000")
    with pytest.raises(ActionNotAllowed):
        ms.instalment_record_payment(instalment_id=first.pk, actor=world.mediator_a, paid_on=TODAY,
                                     paid_amount="100")
    _unchanged(case, first, recovered="6000.00", paid_on=TODAY)


def test_nothing_paid_is_not_a_payment(world, settled):
    case, first = settled
    _refused("paid_amount", ms.instalment_record_payment, instalment_id=first.pk, actor=world.mediator_a,
             paid_on=TODAY, paid_amount="0")
    _unchanged(case, first)


# --- correcting it -----------------------------------------------------------------------

@pytest.fixture
def paid(world, settled):
    case, first = settled
    ms.instalment_record_payment(instalment_id=first.pk, actor=world.mediator_a, paid_on=TODAY, paid_amount="6000")
    return case, first


def test_a_correction_is_on_the_trail_with_the_reason_and_the_values_before_and_after(world, paid):
    case, first = paid
    ms.instalment_correct_payment(instalment_id=first.pk, actor=world.mediator_a,
                                  paid_on=datetime.date(2026, 11, 21), paid_amount="5,000",
                                  reason="银行回单显示11月21日实付5000元")
    first.refresh_from_db()
    case.refresh_from_db()
    assert (first.paid_on, first.paid_amount) == (datetime.date(2026, 11, 21), Decimal("5000.00"))
    assert case.amount_recovered == Decimal("5000.00")
    event = AuditEvent.objects.get(action="instalment.payment_correct")
    assert event.reason == "银行回单显示11月21日实付5000元"
    assert event.actor_id == world.mediator_a.pk and event.case_id == case.pk
    assert event.old == {"paid_on": "2026-11-20", "paid_amount": "6000.00", "amount_recovered": "6000.00",
                         "number": 1}
    assert event.new == {"paid_on": "2026-11-21", "paid_amount": "5000.00", "amount_recovered": "5000.00",
                         "number": 1, "cleared": False}


def test_a_correction_needs_a_reason(world, paid):
    case, first = paid
    message = _refused("reason", ms.instalment_correct_payment, instalment_id=first.pk, actor=world.mediator_a,
                       paid_on=TODAY, paid_amount="5000", reason="  ")
    assert "理由" in message
    _unchanged(case, first, recovered="6000.00", paid_on=TODAY)
    assert not AuditEvent.objects.filter(action="instalment.payment_correct").exists()


@pytest.mark.parametrize(("paid_on", "amount", "note", "field"), [
    (datetime.date(2026, 11, 26), "6000", "", "paid_on"),  # art. 15: not in the future
    (datetime.date(2026, 11, 19), "6000", "", "paid_on"),  # art. 14: not before it took effect
    (TODAY, "7000", "", "paid_amount"),  # above the instalment without a note
    (TODAY, "1e3", "", "paid_amount"),  # not an amount
])
def test_a_correction_is_held_to_the_rules_of_a_payment(world, paid, paid_on, amount, note, field):
    case, first = paid
    _refused(field, ms.instalment_correct_payment, instalment_id=first.pk, actor=world.mediator_a,
             paid_on=paid_on, paid_amount=amount, note=note, reason="更正")
    _unchanged(case, first, recovered="6000.00", paid_on=TODAY)


def test_a_payment_recorded_by_mistake_is_cleared_with_a_reason(world, paid):
    case, first = paid
    ms.instalment_correct_payment(instalment_id=first.pk, actor=world.mediator_a, paid_on=None, paid_amount=None,
                                  reason="误登记在第1期，款项未到账")
    first.refresh_from_db()
    case.refresh_from_db()
    assert (first.paid_on, first.paid_amount) == (None, None)
    assert case.amount_recovered == Decimal("0.00")
    event = AuditEvent.objects.get(action="instalment.payment_correct")
    assert event.old is not None and event.old["paid_amount"] == "6000.00"
    assert event.new is not None and event.new["paid_amount"] is None and event.new["cleared"]
    # And the instalment can be recorded again.
    ms.instalment_record_payment(instalment_id=first.pk, actor=world.mediator_a, paid_on=TODAY, paid_amount="6000")


def test_an_unpaid_instalment_has_nothing_to_correct(world, settled):
    case, first = settled
    with pytest.raises(ActionNotAllowed):
        ms.instalment_correct_payment(instalment_id=first.pk, actor=world.mediator_a, paid_on=TODAY,
                                      paid_amount="6000", reason="更正")


def test_after_performance_is_confirmed_only_a_full_payment_may_stand(world, on_25_november):
    """Performed (all instalments paid, confirmed): a wrong date is put right, an amount that would
    leave the instalment short, or clearing it, would contradict the confirmed performance."""
    case = case_in_state(world, S.PERFORMED)
    first = case.effective_agreement().instalments.get(number=1)
    for amount in ("5000", None):
        _refused("paid_amount", ms.instalment_correct_payment, instalment_id=first.pk, actor=world.mediator_a,
                 paid_on=TODAY if amount else None, paid_amount=amount, reason="更正")
    ms.instalment_correct_payment(instalment_id=first.pk, actor=world.mediator_a,
                                  paid_on=datetime.date(2026, 11, 21), paid_amount="6000", reason="日期录错")
    first.refresh_from_db()
    assert first.paid_on == datetime.date(2026, 11, 21)


# --- on the case page ---------------------------------------------------------------------

def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_correction_url_hides_the_case_from_an_outsider_and_refuses_the_auditor(world, paid):
    case, first = paid
    url = reverse("payment_correct", kwargs={"pk": case.pk, "instalment_id": first.pk})
    data = {"paid_on": "2026-11-20", "paid_amount": "5000", "reason": "更正"}
    assert _client(world.mediator_b).post(url, data).status_code == 404
    assert _client(world.auditor_a).post(url, data).status_code == 403
    _unchanged(case, first, recovered="6000.00", paid_on=TODAY)


def test_the_case_page_offers_the_correction_and_applies_it(world, paid):
    case, first = paid
    client = _client(world.mediator_a)
    url = reverse("payment_correct", kwargs={"pk": case.pk, "instalment_id": first.pk})
    assert url in client.get(reverse("case_detail", args=[case.pk])).content.decode()
    refused = client.post(url, {"paid_on": "2026-11-20", "paid_amount": "5000", "reason": ""})
    assert refused.status_code == 400
    _unchanged(case, first, recovered="6000.00", paid_on=TODAY)
    done = client.post(url, {"paid_on": "2026-11-20", "paid_amount": "5000", "reason": "实付5000元"})
    assert done.status_code == 302
    _unchanged(case, first, recovered="5000.00", paid_on=TODAY)


def test_the_case_page_clears_a_payment_recorded_by_mistake(world, paid):
    case, first = paid
    client = _client(world.mediator_a)
    url = reverse("payment_correct", kwargs={"pk": case.pk, "instalment_id": first.pk})
    # Neither cleared nor a new amount: the form asks for the amount, nothing is written.
    refused = client.post(url, {"paid_on": "2026-11-20", "paid_amount": "", "reason": "误登记"})
    assert refused.status_code == 400 and "请填写实际履行金额" in refused.content.decode()
    _unchanged(case, first, recovered="6000.00", paid_on=TODAY)
    done = client.post(url, {"paid_on": "2026-11-20", "paid_amount": "6000", "clear": "on", "reason": "误登记"})
    assert done.status_code == 302
    _unchanged(case, first, recovered="0.00", paid_on=None)


def test_a_refused_payment_says_why_on_the_field_and_writes_nothing(world, settled):
    case, first = settled
    url = reverse("payment_record", kwargs={"pk": case.pk, "instalment_id": first.pk})
    response = _client(world.mediator_a).post(url, {"paid_on": "2026-11-26", "paid_amount": "6000"})
    assert response.status_code == 400
    assert "实际履行日期不能晚于今天（2026-11-25）" in response.content.decode()
    _unchanged(case, first)


def test_the_note_is_shown_next_to_the_payment(world, settled):
    case, first = settled
    url = reverse("payment_record", kwargs={"pk": case.pk, "instalment_id": first.pk})
    client = _client(world.mediator_a)
    assert client.post(url, {"paid_on": "2026-11-20", "paid_amount": "18000",
                             "payment_note": "一次性付清其余各期"}).status_code == 302
    page = client.get(reverse("case_detail", args=[case.pk])).content.decode()
    assert "一次性付清其余各期" in page and "18,000.00" in page


def test_amounts_on_the_case_page_have_thousands_separators(world):
    case = register(world.mediator_a, world.town_a, claims=[ClaimInput("拖欠工资", "12345.60", "wages")])
    page = _client(world.mediator_a).get(reverse("case_detail", args=[case.pk])).content.decode()
    assert "12,345.60" in page
    assert "12345.60" not in page and "12345.6" not in page
    listing = _client(world.mediator_a).get(reverse("case_list")).content.decode()
    assert "12,345.60" in listing


def test_an_agreement_above_the_claims_draws_a_remark_not_a_refusal(world):
    case = register(world.mediator_a, world.town_a, claims=[ClaimInput("拖欠工资", "10000", "wages")])
    ws.case_accept(case_id=case.pk, actor=world.mediator_a)
    ms.agreement_draft(case_id=case.pk, actor=world.mediator_a, dispute_summary="拖欠工资", terms=["支付工资及利息"],
                       instalments=[ms.InstalmentInput(amount="12,000", due_on=TODAY)])
    remark = "协议金额 ¥12,000.00 高于请求金额 ¥10,000.00，请确认（如含利息、经济补偿等）。"
    client = _client(world.mediator_a)
    assert remark in client.get(reverse("case_detail", args=[case.pk])).content.decode()
    assert remark in client.get(reverse("agreement_edit", args=[case.pk])).content.decode()


def test_an_agreement_within_the_claims_draws_no_remark(world):
    case = case_in_state(world, S.JOINT_MEDIATION)  # claims 12,000.00
    ms.agreement_draft(case_id=case.pk, actor=world.mediator_a, dispute_summary="拖欠工资", terms=["支付工资"],
                       instalments=[ms.InstalmentInput(amount="12000", due_on=TODAY)])
    page = _client(world.mediator_a).get(reverse("case_detail", args=[case.pk])).content.decode()
    assert "高于请求金额" not in page


# --- paying an instalment in parts -----------------------------------------------------

D = datetime.date


def test_a_part_payment_leaves_the_rest_owed_and_a_further_payment_completes_it(world, settled):
    """Art. 15: the agreement is performed when what it asks is paid, in one payment or several.
    5,800.00 of the first 6,000.00 leaves 200.00 owed; paying those 200.00 on a later day makes
    the instalment whole (latest date, the total, each payment in the note), and the recovered
    amount counts both."""
    case, first = settled
    ms.instalment_record_payment(instalment_id=first.pk, actor=world.mediator_a, paid_on=D(2026, 11, 21),
                                 paid_amount="5,800.00")
    first.refresh_from_db()
    assert first.outstanding == Decimal("200.00")
    ms.instalment_record_payment(instalment_id=first.pk, actor=world.mediator_a, paid_on=D(2026, 11, 24),
                                 paid_amount="200")
    first.refresh_from_db()
    case.refresh_from_db()
    assert (first.paid_on, first.paid_amount, first.outstanding) == (D(2026, 11, 24), Decimal("6000.00"), 0)
    assert first.payment_note == "2026-11-21 付 5,800.00 元；2026-11-24 付 200.00 元"
    assert case.amount_recovered == Decimal("6000.00")
    payments = AuditEvent.objects.filter(case_id=case.pk, action="instalment.payment").order_by("pk")
    assert [(e.new or {}).get("paid_amount") for e in payments] == ["5800.00", "6000.00"]


def test_a_further_payment_is_checked_against_what_is_still_owed(world, settled):
    case, first = settled
    ms.instalment_record_payment(instalment_id=first.pk, actor=world.mediator_a, paid_on=D(2026, 11, 22),
                                 paid_amount="5800")
    more = {"instalment_id": first.pk, "actor": world.mediator_a}
    assert "尚欠的 200.00 元" in _refused("paid_amount", ms.instalment_record_payment, **more, paid_on=D(2026, 11, 24),
                                          paid_amount="300")
    assert "不能早于本期上次履行的日期（2026-11-22）" in _refused(
        "paid_on", ms.instalment_record_payment, **more, paid_on=D(2026, 11, 21), paid_amount="200")
    _unchanged(case, first, recovered="5800.00", paid_on=D(2026, 11, 22))
    ms.instalment_record_payment(**more, paid_on=D(2026, 11, 24), paid_amount="200")
    with pytest.raises(ActionNotAllowed):
        ms.instalment_record_payment(**more, paid_on=D(2026, 11, 25), paid_amount="1")


def test_a_part_paid_instalment_past_its_date_is_on_the_follow_through_list(world, settled):
    from mediation.selectors import follow_through

    case, first = settled
    ms.instalment_record_payment(instalment_id=first.pk, actor=world.mediator_a, paid_on=D(2026, 11, 21),
                                 paid_amount="5800")
    late = first.due_on + datetime.timedelta(days=1)
    assert [c.pk for c in follow_through(user=world.supervisor_a, today=late)["instalment_overdue"]] == [case.pk]
