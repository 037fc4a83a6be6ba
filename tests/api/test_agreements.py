"""The mediation agreement through the API: its versions read, the draft written by the agreement
editor's form and service. DOMAIN.md §6: numbered terms, instalments; one copy per signing party and
one for the file; once effective it is never edited (a correction is a new version)."""
from __future__ import annotations

from django.test import Client
from django.urls import reverse

from mediation.audit.models import AuditEvent
from mediation.models import Agreement
from tests.factories import register
from tests.lifecycle import accepted, case_in_state
from workflows.states import CaseState as S

DRAFT = {"dispute_summary": "被申请人拖欠申请人2026年8月至10月工资",
         "terms": ["被申请人分两期支付申请人工资人民币壹万贰仟元整。", "双方就本争议再无其他纠纷。"],
         "instalments": [{"amount": "6,000", "due_on": "2026-12-20", "method": "bank"},
                         {"amount": 6000, "due_on": "2027-01-19", "method": "cash"}]}


def draft_url(case) -> str:
    return f"/api/v1/cases/{case.pk}/agreements/draft/"


def put(client, url, body, **extra):
    return client.put(url, body, content_type="application/json", **extra)


def _drafts(case) -> list[tuple[str, int | None]]:
    return [(e.action, e.actor_id) for e in AuditEvent.objects.filter(case_id=case.pk, action="agreement.draft")]


def test_a_mediator_drafts_the_agreement_then_rewrites_it(world, api_as):
    case = accepted(world, world.town_a)
    client = api_as(world.mediator_a)
    response = put(client, draft_url(case), DRAFT)
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["version"], body["status"], body["status_label"]) == (1, "draft", "草稿")
    assert [(t["number"], t["text"]) for t in body["terms"]] == [(1, DRAFT["terms"][0]), (2, DRAFT["terms"][1])]
    assert [(i["number"], i["amount"], i["method"]) for i in body["instalments"]] == [
        (1, "6000.00", "bank"), (2, "6000.00", "cash")]
    # One applicant and the employer sign: one copy each and one for the file.
    assert body["copies"] == 3 and body["signing_code"] is None
    assert body["missing_signatures"]  # nobody has signed yet
    assert _drafts(case) == [("agreement.draft", world.mediator_a.pk)]
    rewritten = put(client, draft_url(case), {**DRAFT, "terms": ["一次性支付壹万贰仟元整。"], "instalments": []})
    assert rewritten.status_code == 200 and rewritten.json()["id"] == body["id"]
    assert [t["text"] for t in rewritten.json()["terms"]] == ["一次性支付壹万贰仟元整。"]
    assert Agreement.objects.filter(case=case).count() == 1 and len(_drafts(case)) == 2
    listed = api_as(world.auditor_a, "read").get(f"/api/v1/cases/{case.pk}/agreements/").json()
    assert [(a["id"], a["status"]) for a in listed] == [(body["id"], "draft")]


def test_the_same_audit_row_as_the_agreement_editor(world, api_as):
    by_web, by_api = accepted(world, world.town_a), accepted(world, world.town_a)
    web = Client()
    web.force_login(world.mediator_a)
    form = {"dispute_summary": DRAFT["dispute_summary"], "claims_summary": "", "waived": "", "copies": "",
            "terms-TOTAL_FORMS": "2", "terms-INITIAL_FORMS": "0", "terms-0-text": DRAFT["terms"][0],
            "terms-1-text": DRAFT["terms"][1], "instalments-TOTAL_FORMS": "2", "instalments-INITIAL_FORMS": "0",
            "instalments-0-amount": "6,000", "instalments-0-due_on": "2026-12-20", "instalments-0-method": "bank",
            "instalments-1-amount": "6000", "instalments-1-due_on": "2027-01-19", "instalments-1-method": "cash"}
    assert web.post(reverse("agreement_edit", args=[by_web.pk]), form).status_code == 302
    assert put(api_as(world.mediator_a), draft_url(by_api), DRAFT).status_code == 201
    web_row, api_row = (AuditEvent.objects.get(case_id=c.pk, action="agreement.draft") for c in (by_web, by_api))
    assert api_row.actor_id == web_row.actor_id
    api_new, web_new = api_row.new or {}, web_row.new or {}
    assert {k: v for k, v in api_new.items() if k != "case"} == {k: v for k, v in web_new.items() if k != "case"}


def test_the_draft_is_written_only_where_the_editor_allows(world, api_as):
    client = api_as(world.mediator_a)
    registered = register(world.mediator_a, world.town_a)
    refused = put(client, draft_url(registered), DRAFT)
    assert refused.status_code == 409 and refused.json()["detail"] == "案件当前状态为“已登记”，不能起草调解协议。"
    settled = case_in_state(world, S.SETTLED)
    effective = put(client, draft_url(settled), DRAFT)
    assert effective.status_code == 409  # effective: a correction is a new version (agreement_correct)
    assert Agreement.objects.filter(case=registered).count() == 0
    assert Agreement.objects.filter(case=settled).count() == 1


def test_bad_input_is_a_422_and_nothing_is_written(world, api_as):
    case = accepted(world, world.town_a)
    client = api_as(world.mediator_a)
    response = put(client, draft_url(case), {**DRAFT, "terms": [], "dispute_summary": "",
                                             "instalments": [{"amount": "六千", "due_on": "2026-12-20",
                                                              "method": "bank"}]})
    assert response.status_code == 422
    fields = {e["field"]: e["detail"] for e in response.json()["errors"]}
    assert set(fields) == {"dispute_summary", "terms", "instalments.0.amount"}
    # The service's own rule: one copy per signing party and one for the file.
    copies = put(client, draft_url(case), {**DRAFT, "copies": 2})
    assert copies.status_code == 422
    assert copies.json()["errors"] == [{"field": "copies", "code": "invalid",
                                        "detail": "份数不能少于 3 份：签字盖章的当事人各执一份，调解组织留存一份。"}]
    assert put(client, draft_url(case), {**DRAFT, "terms": "全部"}).status_code == 422
    assert put(client, draft_url(case), ["x"]).status_code == 422
    assert not Agreement.objects.filter(case=case).exists() and not _drafts(case)


def test_who_may_not_draft_is_refused(world, api_as):
    case = accepted(world, world.town_a)
    assert put(api_as(world.mediator_b), draft_url(case), DRAFT).status_code == 404
    assert api_as(world.supervisor_b, "read").get(f"/api/v1/cases/{case.pk}/agreements/").status_code == 404
    auditor = put(api_as(world.auditor_a), draft_url(case), DRAFT)
    assert auditor.status_code == 403 and auditor.json()["detail"] == "您没有办理本案件的权限。"
    assert put(api_as(world.mediator_a, "read"), draft_url(case), DRAFT).status_code == 403
    assert not Agreement.objects.exists()


def test_a_retry_with_the_same_key_writes_once(world, api_as):
    case = accepted(world, world.town_a)
    client = api_as(world.mediator_a)
    first = put(client, draft_url(case), DRAFT, headers={"Idempotency-Key": "a-1"})
    again = put(client, draft_url(case), DRAFT, headers={"Idempotency-Key": "a-1"})
    assert (first.status_code, again.status_code) == (201, 201) and again.json() == first.json()
    assert again["Idempotency-Replayed"] == "true" and len(_drafts(case)) == 1
