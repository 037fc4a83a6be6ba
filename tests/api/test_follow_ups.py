"""Follow-up visits (回访) through the API. DOMAIN.md §3: a settled case is followed up before it
closes (a performed one needs the visit first); §5: mediators record follow-ups."""
from __future__ import annotations

import datetime

import pytest
import time_machine

from mediation.audit.models import AuditEvent
from mediation.models import FollowUp
from tests.lifecycle import accepted, case_in_state
from workflows.states import CaseState as S

NOW = datetime.datetime(2026, 11, 25, 10, 0, tzinfo=datetime.timezone(datetime.timedelta(hours=8)))

VISIT = {"visited_on": "2026-11-24", "method": "phone", "contact": "申请人王建军",
         "content": "被申请人已按期支付第一期款项，申请人表示满意。", "satisfied": True}


def url(case) -> str:
    return f"/api/v1/cases/{case.pk}/follow-ups/"


@pytest.fixture
def settled(world):
    with time_machine.travel(NOW, tick=False):
        yield case_in_state(world, S.SETTLED)


def test_a_mediator_records_a_follow_up_on_a_settled_case(world, api_as, settled):
    response = api_as(world.mediator_a).post_json(url(settled), VISIT)
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["visited_on"], body["method"], body["method_label"]) == ("2026-11-24", "phone", "电话回访")
    assert body["satisfied"] is True and body["contact"] == "申请人王建军"
    visit = FollowUp.objects.get(case=settled)
    assert visit.recorded_by == world.mediator_a
    assert [(e.action, e.actor_id) for e in AuditEvent.objects.filter(case_id=settled.pk, action="followup.record")] \
        == [("followup.record", world.mediator_a.pk)]
    listed = api_as(world.supervisor_a, "read").get(url(settled)).json()
    assert [f["id"] for f in listed] == [visit.pk]


def test_a_case_still_being_mediated_has_nothing_to_follow_up_409(world, api_as):
    case = accepted(world, world.town_a)
    response = api_as(world.mediator_a).post_json(url(case), VISIT)
    assert response.status_code == 409 and "不能登记回访" in response.json()["detail"]
    assert not FollowUp.objects.exists()


def test_bad_input_is_a_422_and_nothing_is_written(world, api_as, settled):
    response = api_as(world.mediator_a).post_json(url(settled), {**VISIT, "method": "fax", "content": ""})
    assert response.status_code == 422
    assert {e["field"] for e in response.json()["errors"]} == {"method", "content"}
    assert not FollowUp.objects.exists()
    assert not AuditEvent.objects.filter(action="followup.record").exists()


def test_who_may_not_record_is_refused(world, api_as, settled):
    assert api_as(world.mediator_b).post_json(url(settled), VISIT).status_code == 404
    assert api_as(world.supervisor_b, "read").get(url(settled)).status_code == 404
    assert api_as(world.auditor_a).post_json(url(settled), VISIT).status_code == 403
    assert not FollowUp.objects.exists()


def test_a_retry_with_the_same_key_records_once(world, api_as, settled):
    client = api_as(world.mediator_a)
    first = client.post_json(url(settled), VISIT, headers={"Idempotency-Key": "f-1"})
    again = client.post_json(url(settled), VISIT, headers={"Idempotency-Key": "f-1"})
    assert first.status_code == again.status_code == 201 and again.json() == first.json()
    assert FollowUp.objects.filter(case=settled).count() == 1
    assert AuditEvent.objects.filter(case_id=settled.pk, action="followup.record").count() == 1
