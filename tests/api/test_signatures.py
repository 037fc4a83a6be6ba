"""Signatures and seals on the agreement through the API. DOMAIN.md §6 (art. 14): effective only once
signed or sealed by both parties, signed by the mediator and sealed by the organisation; each is
recorded from the signed paper, against the verification code printed on its signing version."""
from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from mediation import services as ms
from mediation.audit.models import AuditEvent
from mediation.models import Agreement, PartyRole, Signature
from tests.lifecycle import accepted, print_for_signing, signing_code

SIGNED_ON = "2026-11-20"


def url(case) -> str:
    return f"/api/v1/cases/{case.pk}/signatures/"


@pytest.fixture
def printed(world):
    """A case being mediated at 锦屏 with its draft printed for signing."""
    case = accepted(world, world.town_a)
    draft = ms.agreement_draft(case_id=case.pk, actor=world.mediator_a, dispute_summary="拖欠工资",
                               terms=["被申请人支付申请人工资人民币壹万贰仟元整。"])
    print_for_signing(world.mediator_a, draft)
    return case, draft


def _signed(case) -> list[tuple[str, int | None]]:
    return [(e.action, e.actor_id) for e in AuditEvent.objects.filter(case_id=case.pk, action="signature.record")]


def test_each_signature_is_recorded_and_the_last_makes_the_agreement_effective(world, api_as, printed):
    case, draft = printed
    client = api_as(world.mediator_a)
    code = signing_code(draft)
    signers = list(case.parties.exclude(role=PartyRole.AGENT).order_by("pk"))
    assert len(signers) == 2  # the applicant and the employer
    for party in signers:
        response = client.post_json(url(case), {"document_code": code, "kind": "party", "party": party.pk,
                                                "signed_on": SIGNED_ON})
        assert response.status_code == 201, response.content
        assert response.json()["status"] == "draft"
    client.post_json(url(case), {"document_code": code, "kind": "mediator", "signed_on": SIGNED_ON})
    last = client.post_json(url(case), {"agreement": draft.pk, "document_code": code, "kind": "seal",
                                        "signed_on": SIGNED_ON})
    assert last.status_code == 201
    body = last.json()
    assert (body["status"], body["effective_on"], body["missing_signatures"]) == ("effective", SIGNED_ON, [])
    assert [s["signer_name"] for s in body["signatures"]][-1] == "锦屏街道劳动争议调解中心"  # the seal's holder
    assert _signed(case) == [("signature.record", world.mediator_a.pk)] * 4
    listed = api_as(world.auditor_a, "read").get(url(case)).json()
    assert [(s["kind"], s["party"]) for s in listed] == [
        ("party", signers[0].pk), ("party", signers[1].pk), ("mediator", None), ("seal", None)]


def test_the_same_audit_row_as_the_case_pages_form(world, api_as, printed):
    case, draft = printed
    web = Client()
    web.force_login(world.mediator_a)
    code = signing_code(draft)
    assert web.post(reverse("signature_add", args=[case.pk, draft.pk]),
                    {"document_code": code, "kind": "mediator", "signed_on": SIGNED_ON}).status_code == 302
    assert api_as(world.mediator_a).post_json(url(case), {"document_code": code, "kind": "seal",
                                                          "signed_on": SIGNED_ON}).status_code == 201
    web_row, api_row = AuditEvent.objects.filter(case_id=case.pk, action="signature.record").order_by("pk")
    assert (api_row.actor_id, api_row.old, set(api_row.new or {})) == (web_row.actor_id, web_row.old,
                                                                        set(web_row.new or {}))


def test_a_code_that_is_not_the_current_signing_versions_is_422_and_nothing_is_written(world, api_as, printed):
    case, _draft = printed
    client = api_as(world.mediator_a)
    response = client.post_json(url(case), {"document_code": "AAAA-BBBB-CCCC-DDDD", "kind": "mediator",
                                            "signed_on": SIGNED_ON})
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["document_code"]
    assert response.json()["errors"][0]["detail"].startswith("验证码与本协议当前签署版不符。")
    for body in ({"document_code": "x", "kind": "thumbprint", "signed_on": SIGNED_ON},
                 {"document_code": "x", "kind": "mediator", "signed_on": "20 Nov"},
                 {"document_code": "x", "kind": "party", "party": "甲", "signed_on": SIGNED_ON}):
        assert client.post_json(url(case), body).status_code == 422, body
    assert not Signature.objects.exists() and not _signed(case)


def test_without_a_printed_signing_version_or_a_draft_it_is_409(world, api_as):
    case = accepted(world, world.town_a)
    client = api_as(world.mediator_a)
    body = {"document_code": "x", "kind": "mediator", "signed_on": SIGNED_ON}
    assert client.post_json(url(case), body).json()["detail"] == "本案没有待签署的调解协议草稿。"
    ms.agreement_draft(case_id=case.pk, actor=world.mediator_a, dispute_summary="拖欠工资", terms=["一次付清。"])
    unprinted = client.post_json(url(case), body)
    assert unprinted.status_code == 409 and "签署版" in unprinted.json()["detail"]
    assert not Signature.objects.exists()


def test_who_may_not_record_is_refused(world, api_as, printed):
    case, draft = printed
    body = {"document_code": signing_code(draft), "kind": "mediator", "signed_on": SIGNED_ON}
    assert api_as(world.mediator_b).post_json(url(case), body).status_code == 404
    assert api_as(world.supervisor_b).get(url(case)).status_code == 404
    assert api_as(world.auditor_a).post_json(url(case), body).status_code == 403
    assert api_as(world.mediator_a, "read").post_json(url(case), body).status_code == 403
    other = accepted(world, world.town_a)  # an agreement named through another case: not found there
    assert api_as(world.mediator_a).post_json(url(other), {**body, "agreement": draft.pk}).status_code == 404
    assert not Signature.objects.exists()
    assert Agreement.objects.get(pk=draft.pk).status == "draft"


def test_a_retry_with_the_same_key_records_once(world, api_as, printed):
    case, draft = printed
    client = api_as(world.mediator_a)
    body = {"document_code": signing_code(draft), "kind": "mediator", "signed_on": SIGNED_ON}
    first = client.post_json(url(case), body, headers={"Idempotency-Key": "sig-1"})
    again = client.post_json(url(case), body, headers={"Idempotency-Key": "sig-1"})
    assert first.status_code == again.status_code == 201 and again["Idempotency-Replayed"] == "true"
    assert Signature.objects.filter(agreement=draft).count() == 1 and len(_signed(case)) == 1
