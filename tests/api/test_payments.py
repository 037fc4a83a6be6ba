"""Payments on the agreement's instalments through the API: the case page's form and service.

The lifecycle's agreement takes effect on 2026-11-20 with two instalments of 6,000.00; the tests run
on 2026-11-25, Beijing time. 劳动争议调解仲裁法 art. 14–15: a payment is one made (not in the future)
under the effective agreement; more than the instalment asks needs the reason written down.
"""
from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from mediation import services as ms
from mediation.audit.models import AuditEvent
from mediation.models import Instalment
from tests.lifecycle import accepted, case_in_state, mediator_for
from workflows.states import CaseState as S

NOW = datetime.datetime(2026, 11, 25, 10, 0, tzinfo=datetime.timezone(datetime.timedelta(hours=8)))


@pytest.fixture
def settled(world):
    with time_machine.travel(NOW, tick=False):
        case = case_in_state(world, S.SETTLED)
        yield case, case.effective_agreement().instalments.order_by("number").first()


def pay_url(case, instalment) -> str:
    return f"/api/v1/cases/{case.pk}/instalments/{instalment.pk}/pay/"


def _payments(case) -> list[tuple[str, int | None]]:
    return [(e.action, e.actor_id) for e in AuditEvent.objects.filter(case_id=case.pk, action="instalment.payment")]


def _unpaid(case, instalment) -> None:
    instalment.refresh_from_db()
    case.refresh_from_db()
    assert instalment.paid_on is None and case.amount_recovered == Decimal("0.00")
    assert not _payments(case)


def test_the_instalments_are_listed_and_a_payment_recorded(world, api_as, settled):
    case, first = settled
    listed = api_as(world.auditor_a, "read").get(f"/api/v1/cases/{case.pk}/instalments/").json()
    assert [(i["number"], i["amount"], i["due_on"], i["paid_on"]) for i in listed] == [
        (1, "6000.00", "2026-12-20", None), (2, "6000.00", "2027-01-19", None)]
    response = api_as(world.mediator_a).post_json(pay_url(case, first), {"paid_on": "2026-11-24",
                                                                         "paid_amount": "6,000"})
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["paid_on"], body["paid_amount"], body["outstanding"]) == ("2026-11-24", "6000.00", "0.00")
    case.refresh_from_db()
    assert case.amount_recovered == Decimal("6000.00")
    assert _payments(case) == [("instalment.payment", world.mediator_a.pk)]


def test_a_part_payment_leaves_the_rest_owed(world, api_as, settled):
    case, first = settled
    response = api_as(world.mediator_a).post_json(pay_url(case, first), {"paid_on": "2026-11-24",
                                                                         "paid_amount": 5800})
    assert response.status_code == 200
    assert (response.json()["paid_amount"], response.json()["outstanding"]) == ("5800.00", "200.00")


def test_the_same_audit_row_as_the_case_pages_form(world, api_as, settled):
    case, first = settled
    second = case.effective_agreement().instalments.get(number=2)
    web = Client()
    web.force_login(world.mediator_a)
    assert web.post(reverse("payment_record", args=[case.pk, first.pk]),
                    {"paid_on": "2026-11-24", "paid_amount": "6000"}).status_code == 302
    assert api_as(world.mediator_a).post_json(pay_url(case, second), {"paid_on": "2026-11-24",
                                                                      "paid_amount": "6000"}).status_code == 200
    web_row, api_row = AuditEvent.objects.filter(case_id=case.pk, action="instalment.payment").order_by("pk")
    web_old, web_new, api_old, api_new = web_row.old or {}, web_row.new or {}, api_row.old or {}, api_row.new or {}
    assert (api_row.actor_id, set(api_old), set(api_new)) == (web_row.actor_id, set(web_old), set(web_new))
    # Each row says what it changed: the second payment brought the recovered amount from 6,000 to 12,000.
    assert (web_old["amount_recovered"], web_new["amount_recovered"]) == ("0.00", "6000.00")
    assert (api_old["amount_recovered"], api_new["amount_recovered"]) == ("6000.00", "12000.00")


def test_bad_input_is_a_422_in_the_forms_words_and_nothing_is_written(world, api_as, settled):
    case, first = settled
    client = api_as(world.mediator_a)
    future = client.post_json(pay_url(case, first), {"paid_on": "2026-11-26", "paid_amount": "6000"})
    assert future.status_code == 422
    assert future.json()["errors"] == [{"field": "paid_on", "detail": "实际履行日期不能晚于今天（2026-11-25）。",
                                        "code": "invalid"}]
    more = client.post_json(pay_url(case, first), {"paid_on": "2026-11-24", "paid_amount": "6500"})
    assert more.status_code == 422 and [e["field"] for e in more.json()["errors"]] == ["paid_amount"]
    assert "高于第 1 期应付的 6,000.00 元" in more.json()["errors"][0]["detail"]
    for body in ({"paid_on": "2026-11-24", "paid_amount": "六千"}, {"paid_on": "24/11", "paid_amount": "1"},
                 {"paid_amount": [6000]}, "6000"):
        assert client.post_json(pay_url(case, first), body).status_code == 422, body
    _unpaid(case, first)


def test_a_payment_before_the_agreement_is_effective_is_409(world, api_as):
    with time_machine.travel(NOW, tick=False):
        case = accepted(world, world.town_a)
        draft = ms.agreement_draft(case_id=case.pk, actor=mediator_for(world, case), dispute_summary="拖欠工资",
                                   terms=["分期支付"],
                                   instalments=[ms.InstalmentInput(amount="100", due_on=NOW.date())])
        instalment = draft.instalments.get()
        response = api_as(world.mediator_a).post_json(pay_url(case, instalment), {"paid_on": "2026-11-24",
                                                                                  "paid_amount": "100"})
    assert response.status_code == 409 and response.json()["detail"] == "协议尚未生效，不能登记履行。"
    _unpaid(case, instalment)


def test_who_may_not_record_a_payment_is_refused(world, api_as, settled):
    case, first = settled
    other = case_in_state(world, S.JOINT_MEDIATION)
    body = {"paid_on": "2026-11-24", "paid_amount": "6000"}
    assert api_as(world.mediator_b).post_json(pay_url(case, first), body).status_code == 404
    assert api_as(world.supervisor_b).get(f"/api/v1/cases/{case.pk}/instalments/").status_code == 404
    # An instalment of another case, through a case the user works: not found there.
    assert api_as(world.mediator_a).post_json(f"/api/v1/cases/{other.pk}/instalments/{first.pk}/pay/",
                                              body).status_code == 404
    assert api_as(world.auditor_a).post_json(pay_url(case, first), body).status_code == 403
    assert api_as(world.mediator_a, "read").post_json(pay_url(case, first), body).status_code == 403
    assert api_as(world.mediator_a).post_json(f"/api/v1/cases/{case.pk}/instalments/99999999/pay/",
                                              body).status_code == 404
    _unpaid(case, first)


def test_a_retry_with_the_same_key_pays_once(world, api_as, settled):
    case, first = settled
    client = api_as(world.mediator_a)
    body = {"paid_on": "2026-11-24", "paid_amount": "3000"}
    responses = [client.post_json(pay_url(case, first), body, headers={"Idempotency-Key": "pay-1"})
                 for _ in range(2)]
    assert [r.status_code for r in responses] == [200, 200] and responses[1]["Idempotency-Replayed"] == "true"
    first.refresh_from_db()
    assert first.paid_amount == Decimal("3000.00") and len(_payments(case)) == 1
    assert Instalment.objects.get(pk=first.pk).outstanding == Decimal("3000.00")
