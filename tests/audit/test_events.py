"""Each kind of event writes one audit row, with the old and new values the rule says, and no
personal data in clear (DOMAIN.md §5; issue 9 item 6)."""
from __future__ import annotations

import datetime
import hashlib
import json
from decimal import Decimal
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from mediation import services as ms
from mediation.audit.models import AuditEvent
from mediation.models import Membership, Person, Referral, Role, Signature
from tests.factories import TEST_PASSWORD, UserFactory, register, registration, valid_id_number
from tests.lifecycle import TODAY, case_in_state, effective_agreement
from workflows import services as ws
from workflows.errors import ActionNotAllowed
from workflows.models import HolidayOverride
from workflows.states import CaseState as S


def rows(action: str, **filters) -> list[Any]:  # Any: ``old`` and ``new`` are JSON, read as dicts here
    return list(AuditEvent.objects.filter(action=action, **filters).order_by("pk"))


def one(action: str, **filters) -> Any:
    found = rows(action, **filters)
    assert len(found) == 1, (action, found)
    return found[0]


def text_of_trail() -> str:
    return json.dumps(list(AuditEvent.objects.values("actor_name", "old", "new", "reason")), ensure_ascii=False)


# --- the lifecycle ---------------------------------------------------------------------------------

def test_a_lifecycle_move_records_the_state_before_and_after_with_the_reason(world):
    case = register(world.mediator_a, world.town_a)

    ws.case_reject(case_id=case.pk, actor=world.mediator_a, reason="不属于劳动争议受理范围")

    event = one("case.reject")
    assert (event.actor_id, event.actor_name) == (world.mediator_a.pk, world.mediator_a.username)
    assert (event.case_id, event.case_number) == (case.pk, case.number)
    assert (event.object_type, event.object_id) == ("mediation.case", str(case.pk))
    assert event.old["state"] == "registered"
    assert event.new["state"] == "rejected"
    assert event.new["rejected_at"] and event.old["rejected_at"] is None
    assert event.reason == "不属于劳动争议受理范围"


def test_an_approved_escalation_records_the_move_to_the_new_organisation(world):
    case = case_in_state(world, S.ESCALATION_PENDING)

    ws.escalation_approve(case_id=case.pk, actor=world.supervisor_a, reason="同意", mediators=[world.mediator_a])

    event = one("case.approve_escalation")
    assert (event.old["state"], event.new["state"]) == ("escalation_pending", "joint_mediation")
    assert (event.old["organisation"], event.new["organisation"]) == (world.enterprise_a.pk, world.town_a.pk)
    mediators = rows("case.mediators", case_id=case.pk)[-1]
    assert mediators.new == {"mediators": [world.mediator_a.username]}
    assert mediators.old == {"mediators": [world.enterprise_mediator.username]}


def test_a_refused_move_writes_nothing(world):
    case = register(world.mediator_a, world.town_a)
    before = AuditEvent.objects.count()

    with pytest.raises(ActionNotAllowed):
        ws.case_close(case_id=case.pk, actor=world.supervisor_a)

    assert AuditEvent.objects.count() == before


# --- the write services ----------------------------------------------------------------------------

def test_registration_is_recorded_with_the_id_number_and_phone_masked(world):
    number = valid_id_number()
    data = registration(world.town_a)
    data.applicants[0].id_number = number
    case = ms.case_register(actor=world.mediator_a, data=data)

    event = one("case.register", case_id=case.pk)
    assert event.new["number"] == case.number
    assert event.new["applicants"] == [data.applicants[0].name]
    assert event.new["employer"] == data.employer.name
    assert number not in text_of_trail()
    assert "13805740000" not in text_of_trail()


def test_a_session_is_recorded(world):
    case = case_in_state(world, S.JOINT_MEDIATION)

    session = ms.session_record(case_id=case.pk, actor=world.mediator_a, held_at=datetime.datetime(
        2026, 11, 20, 9, 30, tzinfo=datetime.UTC), place="调解室", attendees="双方当事人",
        record="申请人电话13805741234，双方陈述了各自意见。")

    event = one("session.record")
    assert (event.object_id, event.case_id) == (str(session.pk), case.pk)
    assert event.new["place"] == "调解室"
    assert event.new["mediators"] == [world.mediator_a.username]
    # Free text keeps its words, not the phone number in it.
    assert "138****1234" in event.new["record"] and "13805741234" not in text_of_trail()


def test_rewriting_a_draft_records_the_old_and_the_new_terms(world):
    case = case_in_state(world, S.JOINT_MEDIATION)
    first = ms.agreement_draft(case_id=case.pk, actor=world.mediator_a, dispute_summary="拖欠工资",
                               terms=["支付工资一万元。"],
                               instalments=[ms.InstalmentInput(amount="10000", due_on=TODAY)])

    ms.agreement_draft(case_id=case.pk, actor=world.mediator_a, dispute_summary="拖欠工资",
                       terms=["支付工资八千元。"], instalments=[ms.InstalmentInput(amount="8000", due_on=TODAY)])

    created, rewritten = rows("agreement.draft", case_id=case.pk)
    assert created.old is None and created.new["terms"] == ["支付工资一万元。"]
    assert rewritten.object_id == str(first.pk)
    assert rewritten.old["terms"] == ["支付工资一万元。"] and rewritten.new["terms"] == ["支付工资八千元。"]
    assert rewritten.old["instalments"][0]["amount"] == "10000.00"
    assert rewritten.new["instalments"][0]["amount"] == "8000.00"
    assert "dispute_summary" not in rewritten.new  # unchanged


def test_the_last_signature_records_the_agreement_taking_effect(world):
    case = case_in_state(world, S.JOINT_MEDIATION)

    agreement = effective_agreement(world, case)

    signatures = rows("signature.record", case_id=case.pk)
    assert len(signatures) == agreement.signatures.count()
    assert [s.new["kind"] for s in signatures][-2:] == [Signature.Kind.MEDIATOR, Signature.Kind.SEAL]
    assert signatures[-1].old == {"status": "draft"}
    assert signatures[-1].new["status"] == "effective"
    assert signatures[0].new["status"] == "draft"


def test_a_correction_and_a_payment_are_recorded(world):
    case = case_in_state(world, S.SETTLED)
    instalment = case.effective_agreement().instalments.order_by("number").first()

    ms.instalment_record_payment(instalment_id=instalment.pk, actor=world.mediator_a, paid_on=TODAY,
                                 paid_amount="6000.00")
    ms.agreement_correct(case_id=case.pk, actor=world.mediator_a)

    paid = one("instalment.payment")
    assert paid.old == {"paid_on": None, "paid_amount": None, "amount_recovered": "0.00"}
    assert paid.new == {"paid_on": "2026-11-20", "paid_amount": "6000.00", "amount_recovered": "6000.00",
                        "number": 1}
    corrected = one("agreement.correct")
    assert corrected.old == {"effective_version": 1}
    assert corrected.new["version"] == 2 and corrected.new["status"] == "draft"


def test_follow_up_referral_outcome_assignment_and_extension_are_recorded(world):
    performed = case_in_state(world, S.PERFORMED)
    ms.followup_record(case_id=performed.pk, actor=world.mediator_a, visited_on=TODAY, method="phone",
                       contact="申请人", content="款项已到账")
    referred = case_in_state(world, S.REFERRED)
    referral = referred.referrals.get()
    ms.referral_record_outcome(referral_id=referral.pk, actor=world.mediator_a, outcome=Referral.Outcome.AWARD,
                               outcome_on=TODAY, summary="仲裁裁决支付工资", amount="9000")
    working = case_in_state(world, S.JOINT_MEDIATION)
    ms.mediators_assign(case_id=working.pk, actor=world.supervisor_a, mediators=[world.mediator_a2])
    due = type(working).objects.get(pk=working.pk).mediation_due
    assert due is not None
    ms.deadline_extend(case_id=working.pk, actor=world.supervisor_a, extra_days=10, consent_note="双方书面同意")

    assert one("followup.record").new["content"] == "款项已到账"
    outcome = one("referral.outcome")
    assert (outcome.old["outcome"], outcome.new["outcome"]) == ("pending", "award")
    assert outcome.new["outcome_amount"] == "9000.00"
    assigned = one("case.mediators", case_id=working.pk)
    assert (assigned.old, assigned.new) == ({"mediators": [world.mediator_a.username]},
                                            {"mediators": [world.mediator_a2.username]})
    extended = one("case.extend_deadline")
    assert (extended.old["mediation_extra_days"], extended.new["mediation_extra_days"]) == (0, 10)
    assert extended.old["mediation_due"] == due.isoformat() != extended.new["mediation_due"]
    assert extended.reason == "双方书面同意"


def _pdf() -> SimpleUploadedFile:
    return SimpleUploadedFile("evidence.pdf", b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n", "application/pdf")


def test_an_attachment_upload_and_download_are_recorded(world, client):
    case = case_in_state(world, S.JOINT_MEDIATION)
    attachment = ms.attachment_add(case_id=case.pk, actor=world.mediator_a, upload=_pdf(), kind="evidence",
                                   description="工资条")
    client.force_login(world.mediator_a)

    client.get(reverse("attachment_download", args=[case.pk, attachment.pk]))

    added = one("attachment.add")
    assert added.new["sha256"] == attachment.sha256 and added.new["original_name"] == "evidence.pdf"
    downloaded = one("attachment.download")
    assert (downloaded.actor_id, downloaded.case_id, downloaded.object_id) == (
        world.mediator_a.pk, case.pk, str(attachment.pk))
    assert downloaded.request_id and downloaded.ip == "127.0.0.1"


def test_a_correction_of_a_person_on_file_records_old_and_new_masked(world):
    old_number, new_number = valid_id_number(), valid_id_number(datetime.date(1990, 5, 17))
    person = Person.objects.create(name="李四", id_number=old_number)

    ms.record_correct(record=person, actor=world.admin, reason="户口本为准",
                      changes={"name": "李思", "id_number": new_number})

    event = one("record.correct")
    assert event.old == {"name": "李四", "id_number": old_number[:3] + "*" * 11 + old_number[-4:]}
    assert event.new == {"name": "李思", "id_number": new_number[:3] + "*" * 11 + new_number[-4:]}
    assert event.reason == "户口本为准"
    assert old_number not in text_of_trail() and new_number not in text_of_trail()


# --- reads ----------------------------------------------------------------------------------------

def test_a_case_page_read_by_someone_who_does_not_work_it_is_recorded(world):
    case = register(world.mediator_a, world.town_a)
    auditor, mediator = Client(), Client()
    auditor.force_login(world.auditor_a)
    mediator.force_login(world.mediator_a)

    assert mediator.get(reverse("case_detail", args=[case.pk])).status_code == 200
    assert auditor.get(reverse("case_detail", args=[case.pk])).status_code == 200

    event = one("case.read", case_id=case.pk)
    assert (event.actor_id, event.new) == (world.auditor_a.pk, {"purpose": "view"})


def test_a_search_by_id_number_is_recorded_masked(world):
    number = valid_id_number()
    data = registration(world.town_a)
    data.applicants[0].id_number = number
    ms.case_register(actor=world.mediator_a, data=data)
    client = Client()
    client.force_login(world.mediator_a)

    response = client.get(reverse("case_list"), {"q": number})

    assert response.status_code == 200
    event = one("case.search")
    assert event.new == {"query": number[:3] + "*" * 11 + number[-4:], "id_number": True, "results": 1}
    assert number not in text_of_trail()


def test_a_search_by_name_is_recorded_as_typed(world):
    client = Client()
    client.force_login(world.auditor_a)

    client.get(reverse("case_list"), {"q": "张伟"})
    client.get(reverse("case_list"))

    assert one("case.search").new == {"query": "张伟", "id_number": False, "results": 0}


def test_document_issue_and_download_are_recorded(world, settings):
    from mediation.documents import services as documents

    case = register(world.mediator_a, world.town_a)
    document = documents.document_issue(case_id=case.pk, kind="application_record", actor=world.mediator_a)
    client = Client()
    client.force_login(world.mediator_a)

    assert client.get(reverse("documents:download", args=[document.pk])).status_code == 200

    issued = one("document.issue")
    assert (issued.case_id, issued.object_id) == (case.pk, str(document.pk))
    assert issued.new["sha256"] == document.sha256 and issued.new["kind"] == "application_record"
    assert one("document.download").object_id == str(document.pk)


def test_exports_are_recorded_with_the_search_text_masked(world):
    number = valid_id_number()
    register(world.mediator_a, world.town_a)
    client = Client()
    client.force_login(world.supervisor_a)

    assert client.get(reverse("reports:ledger_export"), {"q": number}).status_code == 200
    assert client.get(reverse("reports:monthly_xlsx")).status_code == 200

    ledger = one("export.ledger")
    assert ledger.new["filters"] == {"query": number[:3] + "*" * 11 + number[-4:], "id_number": True}
    assert ledger.new["rows"] == 0
    assert one("export.monthly_xlsx").actor_id == world.supervisor_a.pk
    assert number not in text_of_trail()
    from mediation.reports.models import LedgerExport

    assert number not in LedgerExport.objects.get().query


# --- logins ---------------------------------------------------------------------------------------

def test_login_logout_and_a_failed_login_are_recorded_without_the_password(world):
    client = Client()
    wrong = "Wr0ng-password-typed"

    client.post(reverse("login"), {"username": world.mediator_a.username, "password": wrong})
    client.post(reverse("login"), {"username": world.mediator_a.username, "password": TEST_PASSWORD})
    client.post(reverse("logout"))

    failed = one("auth.login_failed")
    assert (failed.actor_id, failed.actor_name) == (None, world.mediator_a.username)
    assert failed.new == {"username": world.mediator_a.username}
    assert failed.ip == "127.0.0.1"
    assert one("auth.login").actor_id == world.mediator_a.pk
    assert one("auth.logout").actor_id == world.mediator_a.pk
    trail = text_of_trail()
    assert wrong not in trail and TEST_PASSWORD not in trail


# --- the admin ------------------------------------------------------------------------------------

def test_a_membership_edited_in_the_admin_records_old_and_new_values(world, administrator):
    newcomer = UserFactory.create()
    administrator.post(reverse("admin:mediation_membership_add"), {
        "user": newcomer.pk, "organisation": world.town_a.pk, "role": Role.MEDIATOR, "phone": "13805749999"})
    membership = Membership.objects.get(user=newcomer)

    response = administrator.post(reverse("admin:mediation_membership_change", args=[membership.pk]), {
        "user": newcomer.pk, "organisation": world.town_a.pk, "role": Role.SUPERVISOR, "phone": "13805749999"})
    assert response.status_code == 302
    administrator.post(reverse("admin:mediation_membership_delete", args=[membership.pk]), {"post": "yes"})

    added = one("admin.add", object_type="mediation.membership")
    assert added.new["role"] == "mediator" and added.new["phone"] == "138****9999"
    changed = one("admin.change", object_type="mediation.membership")
    assert (changed.old, changed.new) == ({"role": "mediator"}, {"role": "supervisor"})
    deleted = one("admin.delete", object_type="mediation.membership")
    assert deleted.old["role"] == "supervisor" and deleted.object_id == str(membership.pk)
    assert "13805749999" not in text_of_trail()


def test_holiday_calendar_edits_are_recorded(world, administrator):
    day = datetime.date(2026, 12, 24)
    administrator.post(reverse("admin:workflows_holidayoverride_add"), {"date": day.isoformat(), "note": "临时放假"})
    override = HolidayOverride.objects.get(date=day)
    administrator.post(reverse("admin:workflows_holidayoverride_change", args=[override.pk]),
                       {"date": day.isoformat(), "note": "临时放假", "is_workday": "on"})

    added = one("admin.add", object_type="workflows.holidayoverride")
    assert added.new == {"id": override.pk, "date": "2026-12-24", "is_workday": False, "note": "临时放假"}
    changed = one("admin.change", object_type="workflows.holidayoverride")
    assert (changed.old, changed.new) == ({"is_workday": False}, {"is_workday": True})
    assert changed.actor_id == world.admin.pk


def test_a_user_added_in_the_admin_is_recorded_without_the_password(world, administrator):
    secret = "Long-enough-Pa55word!"
    response = administrator.post(reverse("admin:auth_user_add"), {
        "username": "newmediator", "password1": secret, "password2": secret, "usable_password": "true",
        "memberships-TOTAL_FORMS": "0", "memberships-INITIAL_FORMS": "0", "memberships-MIN_NUM_FORMS": "0",
        "memberships-MAX_NUM_FORMS": "1000", "_save": "保存"})
    assert response.status_code == 302, response.content.decode()[:2000]

    added = one("admin.add", object_type="auth.user")
    assert added.new["username"] == "newmediator"
    assert added.new["password"] == "******"
    assert secret not in text_of_trail()


def test_amounts_stay_exact_in_the_trail(world):
    case = case_in_state(world, S.JOINT_MEDIATION)
    ms.agreement_draft(case_id=case.pk, actor=world.mediator_a, dispute_summary="拖欠工资", terms=["一"],
                       instalments=[ms.InstalmentInput(amount=Decimal("12345.67"), due_on=TODAY)])

    assert one("agreement.draft").new["instalments"][0]["amount"] == "12345.67"


def test_digests_are_kept_whole_while_numbers_in_text_are_masked(world):
    from mediation.audit import record

    digest = "2bc3f1ce1ba5ea6cb7d632ba61608181106e3debb420dd0abb71ee7fd39f043e"  # an 11-digit run inside
    event = record(actor=world.mediator_a, action="test.event", new={"sha256": digest, "note": "电话13805741234"},
                   reason="身份证330283199001011234")

    assert event.new == {"sha256": digest, "note": "电话138****1234"}
    assert event.reason == "身份证330***********1234"


def test_a_password_set_in_the_admin_is_recorded_without_the_password(world, administrator):
    target = UserFactory.create()
    secret = "Another-long-Pa55word!"

    response = administrator.post(reverse("admin:auth_user_password_change", args=[target.pk]), {
        "password1": secret, "password2": secret, "usable_password": "true"})

    assert response.status_code == 302
    event = one("admin.change", object_type="auth.user", object_id=str(target.pk))
    assert event.actor_id == world.admin.pk
    assert secret not in text_of_trail()
    assert target.password not in text_of_trail()



def test_a_ledger_import_is_recorded_as_one_batch(world):
    from mediation.reports import ledger
    from tests.reports.test_ledger import good_row, workbook_bytes

    data = workbook_bytes([good_row(world), good_row(world, number="锦调〔2025〕0002号")])

    report = ledger.ledger_import(user=world.supervisor_a, data=data, filename="2025年台账.xlsx", dry_run=False)

    assert report.created == 2
    event = one("import.ledger")
    assert event.actor_id == world.supervisor_a.pk
    assert event.new == {"filename": "2025年台账.xlsx", "sha256": hashlib.sha256(data).hexdigest(),
                         "rows": 2, "created": 2, "skipped": 0}


def test_behind_the_proxy_the_trail_records_the_client_not_the_proxy(world, settings):
    """LOGIN_PROXY_COUNT=1: the address on the trail is the one the proxy wrote, never the proxy's own
    nor one the client wrote to the left of it."""
    settings.PROXY_COUNT = 1
    Client().post(reverse("login"), {"username": world.mediator_a.username, "password": "Wr0ng-password-typed"},
                  REMOTE_ADDR="10.0.0.254", HTTP_X_FORWARDED_FOR="198.51.100.1, 2001:db8::7")
    assert one("auth.login_failed").ip == "2001:db8::7"
