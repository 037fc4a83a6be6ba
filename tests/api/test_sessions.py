"""Mediation sessions (调解笔录) through the API: the case page's form and service, its audit row,
and its refusals. DOMAIN.md §5: mediators record sessions; a session is recorded only while the case
is being worked (§3: the working states)."""
from __future__ import annotations

from django.test import Client
from django.urls import reverse

from api.models import IdempotencyRecord
from mediation.audit.models import AuditEvent
from mediation.models import MediationSession
from tests.factories import reads_logged, register
from tests.lifecycle import accepted


def url(case) -> str:
    return f"/api/v1/cases/{case.pk}/sessions/"


SESSION = {"held_at": "2026-11-21T09:30", "place": "锦屏街道调解室", "attendees": "申请人王建军；被申请人人事经理陈某",
           "record": "双方就拖欠工资数额核对一致，被申请人同意分两期支付。", "result": "达成初步意向"}


def _events(case) -> list[tuple[str, int | None]]:
    return [(e.action, e.actor_id) for e in AuditEvent.objects.filter(case_id=case.pk, action="session.record")]


def test_a_mediator_records_a_session_and_everyone_who_reads_the_case_lists_it(world, api_as):
    case = accepted(world, world.town_a)
    response = api_as(world.mediator_a).post_json(url(case), SESSION)
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["held_at"] == "2026-11-21T09:30:00+08:00" and body["place"] == "锦屏街道调解室"
    assert body["result"] == "达成初步意向" and body["organisation"] == "锦屏街道劳动争议调解中心"
    assert body["mediators"] == [world.mediator_a.get_full_name()]
    session = MediationSession.objects.get(case=case)
    assert session.recorded_by == world.mediator_a and session.record == SESSION["record"]
    assert _events(case) == [("session.record", world.mediator_a.pk)]
    listed = api_as(world.auditor_a, "read").get(url(case))
    assert listed.status_code == 200 and [s["id"] for s in listed.json()] == [session.pk]
    # An auditor's read is on the audit trail, as on the web.
    assert reads_logged(case, world.auditor_a, "sessions") == 1


def test_the_same_audit_row_as_the_case_pages_form(world, api_as):
    by_web, by_api = accepted(world, world.town_a), accepted(world, world.town_a)
    web = Client()
    web.force_login(world.mediator_a)
    assert web.post(reverse("session_new", args=[by_web.pk]), SESSION).status_code == 302
    assert api_as(world.mediator_a).post_json(url(by_api), SESSION).status_code == 201
    web_row, api_row = (AuditEvent.objects.get(case_id=c.pk, action="session.record") for c in (by_web, by_api))
    assert (api_row.actor_id, set((api_row.new or {}))) == (web_row.actor_id, set((web_row.new or {})))
    assert (api_row.new or {})["record"] == (web_row.new or {})["record"] == SESSION["record"]


def test_a_registered_case_is_not_yet_mediated_409(world, api_as):
    case = register(world.mediator_a, world.town_a)
    response = api_as(world.mediator_a).post_json(url(case), SESSION)
    assert response.status_code == 409 and response["Content-Type"] == "application/problem+json"
    assert response.json()["detail"] == "案件当前状态为“已登记”，不能记录调解。"
    assert not MediationSession.objects.exists()


def test_bad_input_is_a_422_and_nothing_is_written(world, api_as):
    case = accepted(world, world.town_a)
    client = api_as(world.mediator_a)
    response = client.post_json(url(case), {**SESSION, "place": "", "held_at": "明天上午"})
    assert response.status_code == 422 and response["Content-Type"] == "application/problem+json"
    errors = {e["field"]: e["detail"] for e in response.json()["errors"]}
    assert set(errors) == {"place", "held_at"} and errors["place"] == "这个字段是必填项。"
    for body in ([SESSION], {"record": None}, {**SESSION, "place": ["x"]}):
        assert client.post_json(url(case), body).status_code == 422
    assert not MediationSession.objects.exists() and not _events(case)


def test_who_may_not_record_is_refused(world, api_as):
    case = accepted(world, world.town_a)
    outsider = api_as(world.mediator_b)
    assert outsider.get(url(case)).status_code == 404
    assert outsider.post_json(url(case), SESSION).status_code == 404
    auditor = api_as(world.auditor_a).post_json(url(case), SESSION)
    assert auditor.status_code == 403 and auditor.json()["detail"] == "您没有对本案件执行此操作的权限。"
    assert api_as(world.mediator_a, "read").post_json(url(case), SESSION).status_code == 403
    # The district's administrator reads every case but mediates none (DOMAIN.md §5).
    assert api_as(world.admin, "read").get(url(case)).status_code == 200
    assert api_as(world.admin).post_json(url(case), SESSION).status_code == 403
    assert not MediationSession.objects.exists()


def test_a_retry_with_the_same_key_records_once(world, api_as):
    case = accepted(world, world.town_a)
    client = api_as(world.mediator_a)
    first = client.post_json(url(case), SESSION, headers={"Idempotency-Key": "s-1"})
    again = client.post_json(url(case), SESSION, headers={"Idempotency-Key": "s-1"})
    assert first.status_code == again.status_code == 201 and again.json() == first.json()
    assert again["Idempotency-Replayed"] == "true"
    assert MediationSession.objects.filter(case=case).count() == 1 and len(_events(case)) == 1
    assert IdempotencyRecord.objects.filter(key="s-1").count() == 1
