"""Lifecycle moves through the API: the web form's checks and service, the same history and audit rows,
and idempotency keys."""
from __future__ import annotations

from django.test import Client
from django.urls import reverse

from api.models import IdempotencyRecord
from mediation.audit.models import AuditEvent
from tests.factories import register
from workflows.clocks import local_date
from workflows.models import TransitionLog


def _accept(case) -> dict:
    return {"reason": "", "arguments": {"consent_confirmed": True, "consent_note": "电话征询，同意调解",
                                        "consent_recorded_on": local_date(case.received_at).isoformat()}}


def _trail(case) -> list[list]:
    logs = [(t.transition, t.from_state, t.to_state, t.actor_id, t.reason)
            for t in TransitionLog.objects.filter(case=case).order_by("pk")]
    events = [(e.action, e.actor_id) for e in AuditEvent.objects.filter(case_id=case.pk).order_by("pk")]
    return [logs, events]


def test_a_move_leaves_the_same_history_and_audit_rows_as_the_web_form(world, api_as):
    by_web, by_api = register(world.mediator_a, world.town_a), register(world.mediator_a, world.town_a)
    web = Client()
    web.force_login(world.mediator_a)
    data = _accept(by_web)["arguments"]
    assert web.post(reverse("case_transition", args=[by_web.pk, "accept"]),
                    {**data, "consent_confirmed": "on"}).status_code == 302
    response = api_as(world.mediator_a).post_json(f"/api/v1/cases/{by_api.pk}/transitions/accept/", _accept(by_api))
    assert response.status_code == 200, response.content
    assert response.json()["state"] == "joint_mediation"  # 锦屏街道 is line 2
    by_web.refresh_from_db()
    by_api.refresh_from_db()
    assert by_api.state == by_web.state == "joint_mediation"
    assert _trail(by_api) == _trail(by_web)
    assert [row[:4] for row in _trail(by_api)[0]] == [("accept", "registered", "joint_mediation", world.mediator_a.pk)]


def test_the_moves_offered_are_those_the_user_may_make(world, api_as):
    case = register(world.mediator_a, world.town_a)
    names = {m["name"] for m in api_as(world.mediator_a, "read").get(
        f"/api/v1/cases/{case.pk}/transitions/").json()}
    assert names == {"accept", "reject", "withdraw"}  # registered: DOMAIN.md §3
    assert api_as(world.auditor_a, "read").get(f"/api/v1/cases/{case.pk}/transitions/").json() == []


def test_a_reader_is_refused_before_the_input_is_read(world, api_as):
    case = register(world.mediator_a, world.town_a)
    response = api_as(world.auditor_a).post_json(f"/api/v1/cases/{case.pk}/transitions/accept/", {})
    assert response.status_code == 403 and response["Content-Type"] == "application/problem+json"
    assert response.json()["detail"] == "您没有对本案件执行“受理”的权限。"


def test_a_move_the_state_does_not_allow_is_a_409_and_an_unknown_one_404(world, api_as):
    case = register(world.mediator_a, world.town_a)
    client = api_as(world.mediator_a)
    refused = client.post_json(f"/api/v1/cases/{case.pk}/transitions/confirm_performance/", {})
    assert refused.status_code == 409 and refused["Content-Type"] == "application/problem+json"
    assert client.post_json(f"/api/v1/cases/{case.pk}/transitions/fly_away/", {}).status_code == 404
    stale = client.post_json(f"/api/v1/cases/{case.pk}/transitions/accept/",
                             {**_accept(case), "expected_state": "joint_mediation"})
    assert stale.status_code == 409
    case.refresh_from_db()
    assert case.state == "registered"


def test_the_same_key_and_body_replay_the_first_answer(world, api_as):
    case = register(world.mediator_a, world.town_a)
    client = api_as(world.mediator_a)
    url = f"/api/v1/cases/{case.pk}/transitions/accept/"
    first = client.post_json(url, _accept(case), headers={"Idempotency-Key": "k-1"})
    again = client.post_json(url, _accept(case), headers={"Idempotency-Key": "k-1"})
    assert first.status_code == again.status_code == 200
    assert again.json() == first.json() and again["Idempotency-Replayed"] == "true"
    assert TransitionLog.objects.filter(case=case, transition="accept").count() == 1
    # Without the key the move is tried again, and the state no longer allows it.
    assert client.post_json(url, _accept(case)).status_code == 409


def test_the_same_key_with_another_body_is_422(world, api_as):
    case = register(world.mediator_a, world.town_a)
    client = api_as(world.mediator_a)
    url = f"/api/v1/cases/{case.pk}/transitions/withdraw/"
    invalid = client.post_json(url, {"reason": ""}, headers={"Idempotency-Key": "k-2"})
    assert invalid.status_code == 422
    replay = client.post_json(url, {"reason": ""}, headers={"Idempotency-Key": "k-2"})
    assert replay.status_code == 422 and replay.json() == invalid.json()
    assert replay["Content-Type"] == "application/problem+json"
    other = client.post_json(url, {"reason": "申请人已撤回", "arguments": {"applicant_withdrew": True}},
                             headers={"Idempotency-Key": "k-2"})
    assert other.status_code == 422 and other["Content-Type"] == "application/problem+json"
    case.refresh_from_db()
    assert case.state == "registered"


def test_keys_are_per_user_and_kept_a_day(world, api_as, settings):
    import datetime

    import time_machine
    from django.utils import timezone

    first, second = register(world.mediator_a, world.town_a), register(world.mediator_a, world.town_a)
    mine = api_as(world.mediator_a)
    assert mine.post_json(f"/api/v1/cases/{first.pk}/transitions/accept/", _accept(first),
                          headers={"Idempotency-Key": "same"}).status_code == 200
    # Another user's same key is theirs alone.
    theirs = api_as(world.mediator_a2)
    assert theirs.post_json(f"/api/v1/cases/{second.pk}/transitions/accept/", _accept(second),
                            headers={"Idempotency-Key": "same"}).status_code == 200
    with time_machine.travel(timezone.now() + datetime.timedelta(hours=24, minutes=1)):
        # A day later the key is free again: a new request, not a replay of the first.
        response = mine.post_json(f"/api/v1/cases/{first.pk}/transitions/withdraw/", {"reason": ""},
                                  headers={"Idempotency-Key": "same"})
        assert response.status_code == 422 and "Idempotency-Replayed" not in response
    assert IdempotencyRecord.objects.filter(user=world.mediator_a, key="same").count() == 1
