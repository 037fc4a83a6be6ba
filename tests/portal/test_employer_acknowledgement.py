"""The respondent's acknowledgement (docs/portal.md, "Employer acknowledgement"): a mediator of the case
invites a respondent of a registered case; the respondent opens the link, proves it with a one-time SMS
code, sees the case in general terms and answers once. The answer pre-fills the acceptance or the
rejection form; it never moves the case by itself (人社部令第17号: acceptance needs the respondent's consent)."""
from __future__ import annotations

import dataclasses
import datetime
import re
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from mediation.audit.models import AuditEvent
from mediation.models import CaseParty, PartyRole
from mediation.services.registration import ClaimInput, EmployerInput, PersonInput, case_register
from notifications.sms import LocmemSmsBackend
from portal.models import RespondentAnswer, RespondentInvitation
from tests.factories import register, registration, valid_credit_code, valid_id_number
from workflows import services as ws
from workflows.clocks import local_today
from workflows.states import CaseState

pytestmark = pytest.mark.django_db

APPLICANT_ID = valid_id_number()
APPLICANT_PHONE = "13905741111"
APPLICANT_ADDRESS = "宁波市奉化区锦屏街道东门路8号"
CONTACT = "13805742222"
GONE = "该链接无效或已失效"


@pytest.fixture
def case(world):
    """A registered case at 锦屏街道: one applicant with ID number, phone and address on record."""
    data = registration(world.town_a,
                        employer=EmployerInput(name="宁波某某服饰有限公司", credit_code=valid_credit_code(),
                                               address="宁波市奉化区岳林街道某路1号"),
                        claims=[ClaimInput("拖欠工资", Decimal("9600.00"), "wages"),
                                ClaimInput("经济补偿", Decimal("3000.00"), "wages")])
    data = dataclasses.replace(data, applicants=[PersonInput(
        name="张三丰", id_number=APPLICANT_ID, phone=APPLICANT_PHONE, sex="M", address=APPLICANT_ADDRESS)])
    return case_register(actor=world.mediator_a, data=data)


def found(pattern: str, text: str, flags: int = 0) -> str:
    match = re.search(pattern, text, flags)
    assert match is not None, pattern
    return match.group(1) if match.groups() else match.group(0)


def main(response) -> str:
    """The page's own content (the frame holds the address and a form token)."""
    return response.content.decode().split('<main id="main"')[1].split("</main>")[0]


def respondent(case) -> CaseParty:
    return CaseParty.objects.get(case=case, role=PartyRole.RESPONDENT)


def staff(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def invite(client: Client, case, phone: str = CONTACT, party=None):
    party_id = party if party is not None else respondent(case).pk
    return client.post(reverse("respondent_invite", args=[case.pk]), {"party": party_id, "phone": phone})


def link_from_case_page(client: Client, case) -> str:
    page = client.get(reverse("case_detail", args=[case.pk])).content.decode()
    return found(r'id="respondent-link" class="code">([^<]+)<', page)


def token_of(link: str) -> str:
    return link.rstrip("/").rsplit("/", 1)[1]


def last_code() -> str:
    _phone, text = LocmemSmsBackend.outbox[-1]
    return found(r"\d{6}", text)


def invited(world, case) -> tuple[str, str]:
    """The link's token and the code sent."""
    client = staff(world.mediator_a)
    assert invite(client, case).status_code == 302
    return token_of(link_from_case_page(client, case)), last_code()


def opened(token: str, code: str) -> Client:
    client = Client()
    response = client.post(reverse("portal:respondent", args=[token]), {"code": code})
    assert response.status_code == 302 and response["Location"] == reverse("portal:respondent_answer", args=[token])
    return client


# --- the whole flow ---------------------------------------------------------------------------------

def test_invite_confirm_and_consent_then_the_mediator_accepts_with_the_prefilled_consent(world, case):
    mediator = staff(world.mediator_a)
    response = invite(mediator, case)
    assert response.status_code == 302
    (phone, text), = LocmemSmsBackend.outbox
    assert phone == CONTACT
    invitation = RespondentInvitation.objects.get(case=case)
    link = link_from_case_page(mediator, case)
    token = token_of(link)
    assert link.startswith("http") and reverse("portal:respondent", args=[token]) in link
    assert len(token) >= 43  # 32 random bytes, URL-safe
    # Only hashes at rest: neither the token nor the code is stored as given.
    code = last_code()
    assert token not in invitation.token_hash and code not in invitation.code_hash
    # Shown once: the next view of the case page no longer holds it.
    assert token not in mediator.get(reverse("case_detail", args=[case.pk])).content.decode()

    client = Client()
    code_page = client.get(reverse("portal:respondent", args=[token]))
    assert code_page.status_code == 200 and "尾号2222" in code_page.content.decode()
    client = opened(token, code)
    page = client.get(reverse("portal:respondent_answer", args=[token])).content.decode()
    assert case.number in page and "宁波某某服饰有限公司" in page and "张**" in page
    assert "12,600.00" in page or "12600.00" in page
    assert world.town_a.name in page
    response = client.post(reverse("portal:respondent_answer", args=[token]),
                           {"answer": "consent", "reason": "", "answered_by": "王经理"})
    assert response.status_code == 302
    assert "同意调解" in client.get(reverse("portal:respondent_done")).content.decode()

    invitation.refresh_from_db()
    assert invitation.answer == RespondentAnswer.CONSENTED and invitation.answered_by == "王经理"
    case.refresh_from_db()
    assert case.state == CaseState.REGISTERED and case.respondent_consent == ""  # nothing moved by itself

    page = mediator.get(reverse("case_detail", args=[case.pk])).content.decode()
    assert "在线确认收到通知" in page and "同意调解" in page
    # The accept form offers the online answer: dated, and naming the online confirmation; unticked.
    accept_form = found(r'action="/cases/%d/do/accept/".*?</form>' % case.pk, page, re.S)
    assert "通过网上确认链接确认收到通知，同意调解" in accept_form
    assert local_today().isoformat() in accept_form
    assert 'name="consent_confirmed"' in accept_form and "checked" not in accept_form

    response = mediator.post(reverse("case_transition", args=[case.pk, "accept"]), {
        "expected_state": "registered", "consent_confirmed": "on", "consent_recorded_on": local_today().isoformat(),
        "consent_note": found(r'name="consent_note"[^>]*value="([^"]*)"', accept_form)})
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.state != CaseState.REGISTERED and case.respondent_consent == "consented"
    assert "网上确认链接" in case.consent_note


def test_a_refusal_with_its_reason_is_offered_to_the_rejection_form(world, case):
    token, code = invited(world, case)
    client = opened(token, code)
    response = client.post(reverse("portal:respondent_answer", args=[token]),
                           {"answer": "refuse", "reason": "已与申请人另行协商处理", "answered_by": ""})
    assert response.status_code == 302
    mediator = staff(world.mediator_a)
    page = mediator.get(reverse("case_detail", args=[case.pk])).content.decode()
    assert "不同意调解" in page and "已与申请人另行协商处理" in page
    reject_form = found(r'action="/cases/%d/do/reject/".*?</form>' % case.pk, page, re.S)
    assert re.search(r'value="respondent_refused"[^>]*checked|<option value="respondent_refused" selected',
                     reject_form)
    assert "已与申请人另行协商处理" in reject_form
    case.refresh_from_db()
    assert case.state == CaseState.REGISTERED


def test_a_refusal_needs_a_reason_and_nothing_is_written_without_it(world, case):
    token, code = invited(world, case)
    client = opened(token, code)
    before = AuditEvent.objects.count()
    response = client.post(reverse("portal:respondent_answer", args=[token]), {"answer": "refuse", "reason": " "})
    assert response.status_code == 400 and "请说明不同意调解的理由" in response.content.decode()
    response = client.post(reverse("portal:respondent_answer", args=[token]), {"answer": "maybe"})
    assert response.status_code == 400
    invitation = RespondentInvitation.objects.get(case=case)
    assert invitation.answered_at is None and invitation.answer == ""
    assert AuditEvent.objects.count() == before


def test_the_answer_is_given_once(world, case):
    token, code = invited(world, case)
    client = opened(token, code)
    client.post(reverse("portal:respondent_answer", args=[token]), {"answer": "consent"})
    again = client.post(reverse("portal:respondent_answer", args=[token]), {"answer": "refuse", "reason": "改主意"})
    assert again.status_code == 404 and GONE in again.content.decode()
    assert Client().get(reverse("portal:respondent", args=[token])).status_code == 404
    invitation = RespondentInvitation.objects.get(case=case)
    assert invitation.answer == RespondentAnswer.CONSENTED
    assert AuditEvent.objects.filter(action="portal.respondent_answer").count() == 1


def test_a_new_code_asked_for_meanwhile_does_not_take_away_the_answer_being_given(world, case):
    """Anyone holding the link may ask for a new code; the respondent who already checked theirs in
    this browser still answers."""
    token, code = invited(world, case)
    client = opened(token, code)
    assert Client(REMOTE_ADDR="10.0.9.9").post(reverse("portal:respondent_resend", args=[token])).status_code == 200
    response = client.post(reverse("portal:respondent_answer", args=[token]), {"answer": "consent"})
    assert response.status_code == 302 and response["Location"] == reverse("portal:respondent_done")
    assert RespondentInvitation.objects.get(case=case).answer == RespondentAnswer.CONSENTED


# --- what the respondent sees and what the SMS says --------------------------------------------------

def test_the_sms_holds_a_generic_text_and_the_code_only(world, case):
    invited(world, case)
    (_phone, text), = LocmemSmsBackend.outbox
    for personal in ("张三丰", "张", APPLICANT_ID, APPLICANT_PHONE, case.number, "宁波某某服饰有限公司",
                     world.town_a.name, "9600", "12600"):
        assert personal not in text
    assert re.sub(r"\d{6}", "", text) == re.sub(r"\d{6}", "", LocmemSmsBackend.outbox[0][1])


def test_the_respondent_page_holds_no_applicant_identifiers_nor_mediators_notes(world, case):
    case.consent_note = "调解员备注：申请人情绪激动"
    case.save(update_fields=["consent_note"])
    token, code = invited(world, case)
    page = opened(token, code).get(reverse("portal:respondent_answer", args=[token])).content.decode()
    for hidden in ("张三丰", "三丰", APPLICANT_ID, APPLICANT_ID[-4:], APPLICANT_PHONE, APPLICANT_ADDRESS,
                   "东门路", "调解员备注", "情绪激动", case.dispute_summary, CONTACT):
        assert hidden not in page, hidden


# --- the outsider's side --------------------------------------------------------------------------

def test_a_wrong_expired_superseded_or_decided_link_gets_the_same_page(world, case):
    token, _code = invited(world, case)
    wrong = Client().get(reverse("portal:respondent", args=["x" * 43]))
    assert wrong.status_code == 404 and GONE in wrong.content.decode()

    RespondentInvitation.objects.filter(case=case).update(expires_at=timezone.now() - datetime.timedelta(seconds=1))
    expired = Client().get(reverse("portal:respondent", args=[token]))
    assert expired.status_code == 404 and main(expired) == main(wrong)

    newer, _code2 = invited(world, case)
    RespondentInvitation.objects.filter(case=case).update(expires_at=timezone.now() + datetime.timedelta(days=1))
    superseded = Client().get(reverse("portal:respondent", args=[token]))
    assert superseded.status_code == 404 and main(superseded) == main(wrong)
    assert Client().get(reverse("portal:respondent", args=[newer])).status_code == 200
    assert RespondentInvitation.objects.filter(case=case, superseded_at__isnull=True).count() == 1

    ws.case_accept(case_id=case.pk, actor=world.mediator_a)
    decided = Client().get(reverse("portal:respondent", args=[newer]))
    assert decided.status_code == 404 and main(decided) == main(wrong)


def test_the_answer_page_needs_the_checked_code_in_this_browser(world, case):
    token, code = invited(world, case)
    stranger = Client()
    assert stranger.get(reverse("portal:respondent_answer", args=[token]))["Location"] == \
        reverse("portal:respondent", args=[token])
    assert stranger.post(reverse("portal:respondent_answer", args=[token]), {"answer": "consent"}).status_code == 302
    assert RespondentInvitation.objects.get(case=case).answered_at is None


def test_a_wrong_code_counts_and_the_tries_run_out(world, case, settings):
    token, code = invited(world, case)
    wrong = "000000" if code != "000000" else "111111"
    client = Client()
    for _i in range(settings.PORTAL_CODE_ATTEMPTS):
        response = client.post(reverse("portal:respondent", args=[token]), {"code": wrong})
        assert response.status_code == 400 and "验证码不正确或已失效" in response.content.decode()
    # Out of tries: the right code no longer opens it.
    assert client.post(reverse("portal:respondent", args=[token]), {"code": code}).status_code == 400
    assert RespondentInvitation.objects.get(case=case).code_used_at is None
    results = list(AuditEvent.objects.filter(action="portal.respondent_code_check", case_id=case.pk)
                   .values_list("new__result", flat=True))
    assert results == ["refused"] * settings.PORTAL_CODE_ATTEMPTS + ["expired_or_used"]


def test_an_expired_code_is_refused_and_a_new_one_can_be_asked_for(world, case):
    token, code = invited(world, case)
    RespondentInvitation.objects.filter(case=case).update(
        code_expires_at=timezone.now() - datetime.timedelta(seconds=1))
    assert Client().post(reverse("portal:respondent", args=[token]), {"code": code}).status_code == 400
    response = Client().post(reverse("portal:respondent_resend", args=[token]))
    assert response.status_code == 200 and "已重新发送验证码" in response.content.decode()
    fresh = last_code()
    assert len(LocmemSmsBackend.outbox) == 2 and LocmemSmsBackend.outbox[-1][0] == CONTACT
    opened(token, fresh)


def test_a_used_code_does_not_open_it_twice(world, case):
    token, code = invited(world, case)
    opened(token, code)
    again = Client().post(reverse("portal:respondent", args=[token]), {"code": code})
    assert again.status_code == 400


def test_code_checks_are_throttled_per_invitation_and_per_address(world, case, settings):
    settings.PORTAL_LOOKUP_RATE_PER_CASE = "2/hour"
    token, code = invited(world, case)
    for _i in range(2):
        Client(REMOTE_ADDR=f"10.0.0.{_i + 1}").post(reverse("portal:respondent", args=[token]), {"code": "999999"})
    throttled = Client(REMOTE_ADDR="10.0.0.9").post(reverse("portal:respondent", args=[token]), {"code": code})
    assert throttled.status_code == 429
    assert RespondentInvitation.objects.get(case=case).code_used_at is None
    assert AuditEvent.objects.filter(action="portal.respondent_code_check", new__result="throttled").exists()

    settings.PORTAL_LOOKUP_RATE_PER_CASE = ""
    settings.PORTAL_LOOKUP_RATE_PER_IP = "1/hour"
    client = Client(REMOTE_ADDR="10.0.1.1")
    assert client.get(reverse("portal:respondent", args=["y" * 43])).status_code == 404
    assert client.get(reverse("portal:respondent", args=[token])).status_code == 429


def test_resent_codes_are_throttled_per_invitation(world, case, settings):
    settings.PORTAL_SMS_RATE_PER_CASE = "1/hour"
    token, _code = invited(world, case)
    assert Client(REMOTE_ADDR="10.0.2.1").post(reverse("portal:respondent_resend", args=[token])).status_code == 200
    assert Client(REMOTE_ADDR="10.0.2.2").post(reverse("portal:respondent_resend", args=[token])).status_code == 429
    assert len(LocmemSmsBackend.outbox) == 2


# --- who may invite --------------------------------------------------------------------------------

def test_another_townships_mediator_gets_404_and_an_auditor_403_and_nothing_is_sent(world, case):
    assert invite(staff(world.mediator_b), case).status_code == 404
    assert invite(staff(world.supervisor_b), case).status_code == 404
    assert invite(staff(world.auditor_a), case).status_code == 403
    assert invite(staff(world.admin), case).status_code == 403
    assert not RespondentInvitation.objects.exists() and not LocmemSmsBackend.outbox
    assert not AuditEvent.objects.filter(action="portal.respondent_invite").exists()
    # The auditor sees no invitation form on the case page either.
    page = staff(world.auditor_a).get(reverse("case_detail", args=[case.pk])).content.decode()
    assert "邀请被申请人在线确认" not in page


def test_a_supervisor_above_may_invite(world, case):
    assert invite(staff(world.district_supervisor), case).status_code == 302
    assert RespondentInvitation.objects.filter(case=case).count() == 1


@pytest.mark.parametrize("phone", ["", "0574-88881234", "1380574", "12351", "abc"])
def test_bad_input_writes_nothing_and_sends_nothing(world, case, phone):
    client = staff(world.mediator_a)
    before = AuditEvent.objects.count()
    response = invite(client, case, phone=phone)
    assert response.status_code == 400
    assert not RespondentInvitation.objects.exists() and not LocmemSmsBackend.outbox
    assert AuditEvent.objects.count() == before


def test_another_cases_party_is_refused(world, case):
    other = register(world.mediator_a, world.town_a)
    response = invite(staff(world.mediator_a), case, party=respondent(other).pk)
    assert response.status_code == 400
    assert not RespondentInvitation.objects.exists() and not LocmemSmsBackend.outbox


def test_only_a_case_awaiting_acceptance(world, case):
    ws.case_accept(case_id=case.pk, actor=world.mediator_a)
    response = invite(staff(world.mediator_a), case)
    assert response.status_code == 400 and "待受理" in response.content.decode()
    assert not RespondentInvitation.objects.exists() and not LocmemSmsBackend.outbox


# --- the audit trail -------------------------------------------------------------------------------

def test_every_step_is_on_the_audit_trail_with_masked_numbers(world, case):
    token, code = invited(world, case)
    invitation = RespondentInvitation.objects.get(case=case)
    client = opened(token, code)
    client.post(reverse("portal:respondent_answer", args=[token]), {"answer": "refuse", "reason": "不在本单位工作"})
    rows = {e.action: e for e in AuditEvent.objects.filter(case_id=case.pk, action__startswith="portal.respondent")}
    assert set(rows) == {"portal.respondent_invite", "portal.respondent_code_check", "portal.respondent_answer"}
    assert rows["portal.respondent_invite"].actor_id == world.mediator_a.pk
    assert (rows["portal.respondent_invite"].new or {})["phone"] == "138****2222"
    for action in ("portal.respondent_code_check", "portal.respondent_answer"):
        assert rows[action].actor_id is None
        assert rows[action].actor_name == f"portal:respondent invitation {invitation.pk}"
    assert (rows["portal.respondent_answer"].new or {})["answer"] == "refused"
    assert (rows["portal.respondent_answer"].new or {})["reason"] == "不在本单位工作"
    for event in AuditEvent.objects.filter(case_id=case.pk):
        text = str(event.new) + str(event.old) + event.reason
        assert CONTACT not in text and token not in text and code not in text


class RefusingSms:
    def send(self, phone: str, text: str) -> None:
        from notifications.sms import SmsError

        raise SmsError("gateway down")


def test_a_refused_sms_keeps_the_link_says_so_and_is_audited(world, case, settings):
    settings.SMS_BACKEND = "tests.portal.test_employer_acknowledgement.RefusingSms"
    client = staff(world.mediator_a)
    response = invite(client, case, phone=CONTACT)
    assert response.status_code == 302
    page = client.get(reverse("case_detail", args=[case.pk])).content.decode()
    assert "验证码短信未能发送" in page and 'id="respondent-link"' in page
    invitation = RespondentInvitation.objects.get(case=case)
    event = AuditEvent.objects.get(action="portal.respondent_code", case_id=case.pk)
    assert event.new == {"result": "sms_failed"} and event.object_id == str(invitation.pk)


def test_a_new_invitation_withdraws_the_earlier_answer_from_the_forms(world, case):
    token, code = invited(world, case)
    opened(token, code).post(reverse("portal:respondent_answer", args=[token]), {"answer": "consent"})
    mediator = staff(world.mediator_a)
    assert "网上确认链接" in mediator.get(reverse("case_detail", args=[case.pk])).content.decode()
    invite(mediator, case)
    page = mediator.get(reverse("case_detail", args=[case.pk])).content.decode()
    accept_form = found(r'action="/cases/%d/do/accept/".*?</form>' % case.pk, page, re.S)
    assert "网上确认链接" not in accept_form and "尚未答复" in page


def test_a_case_read_again_reads_its_current_invitation_again(world, case):
    """The case page reads the current invitation once per case object; a case read again from the
    database (``refresh_from_db``) reads it again, so a new invitation is never hidden by an old read."""
    from portal.acknowledgement import current_invitation, invitation_create

    assert current_invitation(case) is None
    made = invitation_create(case_id=case.pk, actor=world.mediator_a, party_id=respondent(case).pk, phone=CONTACT)
    assert current_invitation(case) is None  # the same object, read before the invitation
    case.refresh_from_db()
    assert current_invitation(case) == made.invitation
