"""Registration through the API: the intake page's form, duplicate check, numbering and audit rows.

Expectations by hand: the first case of 锦屏 (prefix 锦调) in a year is 锦调〔year〕0001号
(CASE_NUMBER_FORMAT); the claims 18,600 and 9,300.50 come to 27,900.50; an applicant with an open
case against the same employer asks for confirmation (the web shows a warning and a second submit),
and only cases the user may read are named.
"""
from __future__ import annotations

import uuid

from django.test import Client
from django.urls import reverse
from django.utils import timezone

from api.models import IdempotencyRecord
from mediation.audit.models import AuditEvent
from mediation.models import Case, CaseNumberSequence
from tests.factories import valid_credit_code, valid_id_number
from tests.web.test_flows import intake_post

URL = "/api/v1/cases/"


def application(world, **overrides) -> dict:
    """An oral application of two workers against 宁波甬兴电器 at 锦屏, as the intake page takes it."""
    data = {
        "organisation": world.town_a.pk, "application_form": "oral",
        "received_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"), "channel": "walk_in",
        "categories": ["wages", "compensation"], "dispute_summary": "公司拖欠三个月工资", "reasons": "多次催讨未果",
        "employer_name": "宁波甬兴电器有限公司", "employer_credit_code": valid_credit_code(),
        "employer_legal_representative": "陈建国", "employer_address": "奉化区锦屏街道", "employer_industry": "制造业",
        "applicants": [
            {"name": "王建军", "sex": "M", "id_number": valid_id_number(), "phone": "13805740001"},
            {"name": "李秀英", "sex": "F", "id_number": valid_id_number(), "phone": "13805740002"}],
        "claims": [{"description": "拖欠工资", "category": "wages", "amount": "18,600"},
                   {"description": "经济补偿金", "category": "compensation", "amount": 9300.50}],
    }
    data.update(overrides)
    return data


def _events(case: Case) -> list[tuple[str, int | None]]:
    return [(e.action, e.actor_id) for e in AuditEvent.objects.filter(case_id=case.pk).order_by("pk")]


def _nothing_written() -> None:
    assert not Case.objects.exists()
    assert not AuditEvent.objects.filter(action="case.register").exists()
    assert not CaseNumberSequence.objects.filter(last_value__gt=0).exists()


def test_a_mediator_registers_a_case_as_the_intake_page_does(world, api_as):
    application_sent = application(world)
    response = api_as(world.mediator_a).post_json(URL, application_sent)
    assert response.status_code == 201, response.content
    body = response.json()
    case = Case.objects.get()
    year = timezone.localtime(case.received_at).year
    assert body["id"] == case.pk and body["number"] == f"锦调〔{year}〕0001号"
    assert body["state"] == "registered" and body["state_label"] == "已登记"
    assert body["organisation"] == {"id": world.town_a.pk, "name": "锦屏街道劳动争议调解中心"}
    assert body["applicants"] == ["王建军", "李秀英"] and body["amount_claimed"] == "27900.50"
    assert response["Location"].endswith(f"/api/v1/cases/{case.pk}/")
    assert case.created_by == world.mediator_a and case.application_form == "oral"
    assert sorted(c.code for c in case.categories.all()) == ["compensation", "wages"]
    assert _events(case) == [("case.register", world.mediator_a.pk)]
    # The answer is a list row: names, never an ID number or a phone.
    for applicant in application_sent["applicants"]:
        assert applicant["id_number"] not in response.content.decode()
        assert applicant["phone"] not in response.content.decode()


def test_the_same_audit_rows_as_the_web_intake(world, api_as):
    web = Client()
    web.force_login(world.mediator_a)
    assert web.post(reverse("case_intake"), intake_post(world)).status_code == 302
    by_web = Case.objects.get()
    assert api_as(world.mediator_a).post_json(URL, application(world)).status_code == 201
    by_api = Case.objects.exclude(pk=by_web.pk).get()
    assert _events(by_api) == _events(by_web) == [("case.register", world.mediator_a.pk)]
    web_row, api_row = (AuditEvent.objects.get(case_id=c.pk).new or {} for c in (by_web, by_api))
    assert set(web_row) == set(api_row)
    assert api_row["applicants"] == web_row["applicants"] == ["王建军", "李秀英"]
    assert by_api.number.endswith("0002号")  # one sequence for both ways in


def test_an_open_case_of_the_same_applicant_asks_for_confirmation(world, api_as):
    first = application(world)
    assert api_as(world.mediator_a).post_json(URL, first).status_code == 201
    held = Case.objects.get()
    again = {**first, "received_at": first["received_at"], "dispute_summary": "又拖欠一个月工资"}
    client = api_as(world.mediator_a2)
    response = client.post_json(URL, again)
    assert response.status_code == 422 and response["Content-Type"] == "application/problem+json"
    [error] = response.json()["errors"]
    assert error["field"] == "confirm_duplicate" and held.number in error["detail"]
    assert Case.objects.count() == 1
    confirmed = client.post_json(URL, {**again, "confirm_duplicate": True})
    assert confirmed.status_code == 201
    assert confirmed.json()["number"].endswith("0002号")


def test_another_townships_open_case_is_neither_named_nor_asked_about(world, api_as):
    first = application(world)
    assert api_as(world.mediator_a).post_json(URL, first).status_code == 201
    held = Case.objects.get()
    response = api_as(world.mediator_b).post_json(URL, {**first, "organisation": world.town_b.pk})
    assert response.status_code == 201, response.content
    assert held.number not in response.content.decode()
    assert response.json()["number"].startswith("溪调")


def test_bad_input_is_a_422_with_the_forms_messages_and_nothing_is_written(world, api_as):
    data = application(world)
    data["applicants"][1]["id_number"] = "330283199001011230"  # wrong check digit
    data["claims"][0]["amount"] = "一万"
    data["dispute_summary"] = ""
    response = api_as(world.mediator_a).post_json(URL, data)
    assert response.status_code == 422 and response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["type"] == "urn:labour-mediation:problem:unprocessable" and body["title"] == "无法处理该请求"
    fields = {e["field"]: e["detail"] for e in body["errors"]}
    assert set(fields) == {"applicants.1.id_number", "claims.0.amount", "dispute_summary"}
    assert fields["dispute_summary"] == "这个字段是必填项。"
    assert body["detail"] == "提交的内容有 3 处错误。"
    _nothing_written()


def test_the_errors_speak_the_requests_language(world, api_as):
    response = api_as(world.mediator_a, language="en").post_json(URL, application(world, dispute_summary=""))
    assert response.status_code == 422 and response["Content-Language"] == "en"
    assert response.json()["errors"] == [
        {"field": "dispute_summary", "detail": "This field is required.", "code": "invalid"}]
    _nothing_written()


def test_a_malformed_body_is_a_422_never_a_500(world, api_as):
    client = api_as(world.mediator_a)
    for body in ([1, 2], {"applicants": "王建军"}, application(world, applicants=[{"name": ["x"]}]),
                 application(world, claims=[{"description": "工资", "amount": {"x": 1}}]),
                 application(world, organisation="锦屏"), application(world, received_at="yesterday")):
        response = client.post_json(URL, body)
        assert response.status_code == 422, (body, response.content)
        assert response["Content-Type"] == "application/problem+json"
    _nothing_written()


def test_who_may_not_register_is_refused(world, api_as):
    refused = api_as(world.auditor_a).post_json(URL, application(world))
    assert refused.status_code == 403 and refused.json()["detail"] == "您没有登记案件的权限。"
    read_only = api_as(world.mediator_a, "read").post_json(URL, application(world))
    assert read_only.status_code == 403 and read_only.json()["detail"] == "该访问令牌只能读取，不能修改。"
    # An organisation beyond the user's reach is not among the form's choices.
    elsewhere = api_as(world.mediator_a).post_json(URL, application(world, organisation=world.town_b.pk))
    assert elsewhere.status_code == 422 and [e["field"] for e in elsewhere.json()["errors"]] == ["organisation"]
    _nothing_written()


def test_a_retry_with_the_same_key_registers_once(world, api_as):
    client = api_as(world.mediator_a)
    data = application(world)
    first = client.post_json(URL, data, headers={"Idempotency-Key": "intake-1"})
    again = client.post_json(URL, data, headers={"Idempotency-Key": "intake-1"})
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json() and again["Idempotency-Replayed"] == "true"
    assert Case.objects.count() == 1 and AuditEvent.objects.filter(action="case.register").count() == 1
    assert IdempotencyRecord.objects.filter(user=world.mediator_a, key="intake-1").count() == 1


def test_the_same_intake_token_is_one_case(world, api_as):
    client = api_as(world.mediator_a)
    data = application(world, intake_token=str(uuid.uuid4()))
    first = client.post_json(URL, data)
    again = client.post_json(URL, data)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json() and Case.objects.count() == 1
    # As on the web: a colleague who may read the case is shown it ...
    assert api_as(world.mediator_a2).post_json(URL, data).json()["id"] == first.json()["id"]
    # ... and another township's mediator is refused without a word about it.
    other = api_as(world.mediator_b).post_json(URL, {**data, "organisation": world.town_b.pk})
    assert other.status_code == 422 and [e["field"] for e in other.json()["errors"]] == ["intake_token"]
    assert first.json()["number"] not in other.content.decode()
    assert Case.objects.count() == 1 and AuditEvent.objects.filter(action="case.register").count() == 1


def test_the_kept_answer_holds_no_id_number_or_phone(world, api_as):
    # The answer kept under an Idempotency-Key (24 hours, at rest) is the list row: names, as the web
    # list shows them to every reader of the case, never an ID number or a phone, whole or masked.
    data = application(world)
    client = api_as(world.mediator_a)
    assert client.post_json(URL, data, headers={"Idempotency-Key": "intake-pd"}).status_code == 201
    refused = client.post_json(URL, {**data, "applicants": [{**data["applicants"][0], "id_number": "330"}]},
                               headers={"Idempotency-Key": "intake-pd-2"})
    assert refused.status_code == 422
    kept = " ".join(str(r.body) for r in IdempotencyRecord.objects.filter(user=world.mediator_a))
    assert "王建军" in kept  # the list row's applicant names are there
    assert "****" not in kept  # nor a masked one (330***********1234, 138****5678)
    for applicant in data["applicants"]:
        assert applicant["id_number"] not in kept and applicant["phone"] not in kept
