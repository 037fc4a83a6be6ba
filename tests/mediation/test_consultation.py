"""Consultation (协商) and the respondents' consent to mediation.

企业劳动争议协商调解规定 (人社部令第17号): a party may ask the other side to consult; the
other side answers within 5 days, and no answer in that time is taken as refusing to
consult. Mediation is voluntary: a committee accepts a dispute when both sides agree to
mediation; when one side refuses, the application is not accepted and the applicant is
told in writing, and may apply to the labour-dispute arbitration commission.

Periods in days are counted under 民法典 arts. 201 and 203 (the starting day not counted;
a last day that is a day off moves to the next working day). Around National Day 2026 the
State Council schedule is: 9月25日至27日 and 10月1日（周四）至7日（周三） off, 9月20日（周日）
and 10月10日（周六） working (as typed in tests/workflows/test_clocks.py).
"""
from __future__ import annotations

import datetime
import types
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from mediation import services as ms
from mediation.audit.models import AuditEvent
from mediation.documents import services as documents
from mediation.documents.models import DocumentKind
from mediation.models import Case
from tests.documents import pdfcheck
from tests.factories import register
from tests.lifecycle import case_in_state
from workflows import services as ws
from workflows.clocks import DueDate, WorkCalendar, case_deadlines, consultation_reply_due, local_date, local_today
from workflows.errors import ActionNotAllowed
from workflows.models import TransitionLog
from workflows.states import CaseState as S

D = datetime.date
SHANGHAI = ZoneInfo("Asia/Shanghai")
DAY = datetime.timedelta(days=1)


def at_shanghai(day: datetime.date, hour: int = 10) -> datetime.datetime:
    return datetime.datetime(day.year, day.month, day.day, hour, tzinfo=SHANGHAI)


def record(case, actor, **overrides):
    values: dict[str, Any] = {"requested_on": local_today() - 2 * DAY, "requested_by": "worker",
                              "outcome": "pending", "replied_on": None, "note": ""}
    values.update(overrides)
    return ms.consultation_record(case_id=case.pk, actor=actor, **values)


def consultation_state(case) -> tuple:
    case = Case.objects.get(pk=case.pk)
    return (case.consultation_requested_on, case.consultation_requested_by, case.consultation_replied_on,
            case.consultation_outcome, case.consultation_note)


# --- the 5-day reply clock (pure: no database) ---------------------------------------------


def test_reply_due_over_national_day_moves_to_the_first_working_day_after_the_holiday():
    """人社部令第17号, 5 days; 民法典 arts. 201, 203. Requested Tuesday 29 Sept 2026: day 1 is 30 Sept,
    day 5 is Sunday 4 Oct, inside the holiday 1–7 Oct; the first working day after it is Thursday 8 Oct."""
    assert consultation_reply_due(WorkCalendar(), D(2026, 9, 29)) == DueDate(D(2026, 10, 8), True)


def test_reply_due_on_a_weekend_moves_to_monday():
    """Requested Monday 2 Nov 2026: day 5 is Saturday 7 Nov (no swap that weekend) → Monday 9 Nov."""
    assert consultation_reply_due(WorkCalendar(), D(2026, 11, 2)) == DueDate(D(2026, 11, 9), True)


def test_reply_due_on_a_working_day_stays():
    """Requested Wednesday 11 Nov 2026: day 5 is Monday 16 Nov, a working day; the period ends that day."""
    assert consultation_reply_due(WorkCalendar(), D(2026, 11, 11)).date == D(2026, 11, 16)


def _namespace_case(**overrides):
    values = {"state": S.REGISTERED, "received_at": at_shanghai(D(2026, 9, 29)), "accepted_at": None,
              "mediation_extra_days": 0, "agreement_effective_on": None, "dispute_known_on": None,
              "consultation_requested_on": D(2026, 9, 29), "consultation_replied_on": None,
              "consultation_outcome": "pending",
              "organisation": types.SimpleNamespace(is_peoples_mediation_committee=False)}
    values.update(overrides)
    return types.SimpleNamespace(**values)


def _reply_clock(case):
    return next(d for d in case_deadlines(case, calendar=WorkCalendar()) if d.key == "consultation_reply")


def test_the_reply_clock_runs_until_a_reply_or_an_outcome_is_recorded():
    """The 5 days only matter while the other side has not answered (人社部令第17号)."""
    waiting = _reply_clock(_namespace_case())
    assert waiting.active and waiting.due == D(2026, 10, 8)
    assert waiting.is_overdue(D(2026, 10, 9)) and not waiting.is_overdue(D(2026, 10, 8))
    assert not _reply_clock(_namespace_case(consultation_replied_on=D(2026, 9, 30),
                                            consultation_outcome="agreed")).active
    assert not _reply_clock(_namespace_case(consultation_outcome="no_reply")).active
    # Recorded at intake with no outcome yet: still waiting.
    assert _reply_clock(_namespace_case(consultation_outcome="")).active


# --- recording a consultation (service) ------------------------------------------------------


def test_no_reply_is_refused_until_the_period_is_over_and_accepted_after(world):
    """人社部令第17号: no answer within 5 days is taken as refusing. Requested 29 Sept 2026, the
    period ends on 8 Oct (see above): on 8 Oct "no reply" is refused, on 9 Oct it is recorded."""
    with time_machine.travel(at_shanghai(D(2026, 10, 8)), tick=False):
        case = register(world.mediator_a, world.town_a)
        with pytest.raises(ValidationError) as caught:
            record(case, world.mediator_a, requested_on=D(2026, 9, 29), outcome="no_reply")
        assert "2026-10-08" in caught.value.message_dict["outcome"][0]
        assert "视为不愿协商" in caught.value.message_dict["outcome"][0]
        assert consultation_state(case)[3] == ""
    with time_machine.travel(at_shanghai(D(2026, 10, 9)), tick=False):
        record(case, world.mediator_a, requested_on=D(2026, 9, 29), outcome="no_reply")
        case = Case.objects.get(pk=case.pk)
        assert case.consultation_outcome == "no_reply"
        reply = next(d for d in case.deadlines() if d.key == "consultation_reply")
        assert reply.due == D(2026, 10, 8) and not reply.active


def test_a_reply_before_the_request_is_refused(world):
    case = register(world.mediator_a, world.town_a)
    today = local_today()
    with pytest.raises(ValidationError) as caught:
        record(case, world.mediator_a, requested_on=today - 2 * DAY, replied_on=today - 3 * DAY, outcome="agreed")
    assert caught.value.message_dict["replied_on"] == ["对方答复日期不能早于提出协商的日期。"]
    assert consultation_state(case)[3] == ""


def test_dates_in_the_future_are_refused(world):
    case = register(world.mediator_a, world.town_a)
    today = local_today()
    with pytest.raises(ValidationError) as caught:
        record(case, world.mediator_a, requested_on=today + DAY)
    assert caught.value.message_dict["requested_on"] == ["提出协商的日期不能晚于今天。"]
    with pytest.raises(ValidationError) as caught:
        record(case, world.mediator_a, requested_on=today - DAY, replied_on=today + DAY, outcome="agreed")
    assert caught.value.message_dict["replied_on"] == ["对方答复日期不能晚于今天。"]
    assert consultation_state(case) == (None, "", None, "", "")


def test_an_answer_needs_its_date_and_a_date_needs_an_answer(world):
    """Agreed, refused, settled or failed: the other side answered, on a day. Pending or no reply: no answer."""
    case = register(world.mediator_a, world.town_a)
    today = local_today()
    for outcome in ("agreed", "refused", "settled", "failed"):
        with pytest.raises(ValidationError) as caught:
            record(case, world.mediator_a, outcome=outcome)
        assert caught.value.message_dict["replied_on"] == ["请填写对方答复的日期。"]
    with pytest.raises(ValidationError) as caught:
        record(case, world.mediator_a, requested_on=today - 9 * DAY, replied_on=today - 8 * DAY, outcome="no_reply")
    assert "replied_on" in caught.value.message_dict
    assert consultation_state(case)[3] == ""


def test_settlement_is_recorded_and_stops_the_clock(world):
    case = register(world.mediator_a, world.town_a)
    today = local_today()
    record(case, world.mediator_a, requested_on=today - 3 * DAY, requested_by="employer",
           replied_on=today - 2 * DAY, outcome="settled", note="双方签订和解协议，约定月底前支付工资")
    case = Case.objects.get(pk=case.pk)
    assert consultation_state(case) == (today - 3 * DAY, "employer", today - 2 * DAY, "settled",
                                        "双方签订和解协议，约定月底前支付工资")
    assert not next(d for d in case.deadlines() if d.key == "consultation_reply").active


def test_the_audit_trail_has_the_consultation_before_and_after(world):
    case = register(world.mediator_a, world.town_a)
    today = local_today()
    record(case, world.mediator_a, requested_on=today - 3 * DAY)
    record(case, world.mediator_a, requested_on=today - 3 * DAY, replied_on=today - DAY, outcome="refused")
    events = list(AuditEvent.objects.filter(action="case.consultation", case_id=case.pk).order_by("pk"))
    assert len(events) == 2
    assert events[0].new == {"consultation_requested_on": (today - 3 * DAY).isoformat(),
                             "consultation_requested_by": "worker", "consultation_outcome": "pending"}
    assert events[1].old == {"consultation_replied_on": None, "consultation_outcome": "pending"}
    assert events[1].new == {"consultation_replied_on": (today - DAY).isoformat(), "consultation_outcome": "refused"}
    assert events[1].actor_id == world.mediator_a.pk
    # Saving the same values again changes nothing and writes nothing.
    record(case, world.mediator_a, requested_on=today - 3 * DAY, replied_on=today - DAY, outcome="refused")
    assert AuditEvent.objects.filter(action="case.consultation", case_id=case.pk).count() == 2


def test_recorded_at_intake_and_at_line_1_only(world):
    """Consultation precedes mediation (人社部令第17号): at intake and while line 1 works the case."""
    line_1 = case_in_state(world, S.SELF_RESOLUTION)
    record(line_1, world.enterprise_mediator)
    assert consultation_state(line_1)[3] == "pending"
    joint = case_in_state(world, S.JOINT_MEDIATION)
    with pytest.raises(ActionNotAllowed):
        record(joint, world.mediator_a)
    assert consultation_state(joint)[3] == ""


def test_only_those_who_work_the_case_record_it(world):
    case = register(world.mediator_a, world.town_a)
    for reader in (world.auditor_a, world.admin, world.mediator_b):
        with pytest.raises(PermissionDenied):
            record(case, reader)
    assert consultation_state(case)[3] == ""


# --- the consultation page -----------------------------------------------------------------


def test_the_page_shows_the_due_date_and_records(world, client):
    case = register(world.mediator_a, world.town_a)
    client.force_login(world.mediator_a)
    url = reverse("consultation_edit", args=[case.pk])
    requested = local_today() - DAY
    response = client.post(url, {"requested_on": requested.isoformat(), "requested_by": "worker",
                                 "outcome": "pending", "note": "申请人已书面要求公司协商"})
    assert response.status_code == 302
    assert consultation_state(case) == (requested, "worker", None, "pending", "申请人已书面要求公司协商")
    due = consultation_reply_due(WorkCalendar.from_db(), requested).date
    page = client.get(url).content.decode()
    assert due.isoformat() in page
    detail = client.get(reverse("case_detail", args=[case.pk])).content.decode()
    assert "协商和调解意愿" in detail and due.isoformat() in detail and "申请人已书面要求公司协商" in detail


def test_once_mediation_has_begun_the_case_page_no_longer_counts_down_the_reply(world, client):
    """The reply clock runs only while consultation can be recorded (registered, line 1): a case
    accepted by a township centre says the period is no longer counted, never "剩 N 天"."""
    case = register(world.mediator_a, world.town_a)
    record(case, world.mediator_a, requested_on=local_today() - DAY)
    ws.case_accept(case_id=case.pk, actor=world.mediator_a)
    client.force_login(world.mediator_a)
    detail = client.get(reverse("case_detail", args=[case.pk])).content.decode()
    assert "案件已进入调解或已办结，不再计算" in detail
    assert "剩 " not in detail.split("协商和调解意愿", 1)[1].split("</section>", 1)[0]


def test_the_page_answers_a_bad_date_with_the_reason_and_changes_nothing(world, client):
    case = register(world.mediator_a, world.town_a)
    client.force_login(world.mediator_a)
    today = local_today()
    response = client.post(reverse("consultation_edit", args=[case.pk]), {
        "requested_on": (today - DAY).isoformat(), "requested_by": "worker",
        "replied_on": (today - 2 * DAY).isoformat(), "outcome": "agreed"})
    assert response.status_code == 400
    assert "对方答复日期不能早于提出协商的日期。" in response.content.decode()
    assert consultation_state(case) == (None, "", None, "", "")


def test_another_township_gets_404_and_a_reader_403(world, client):
    case = register(world.mediator_a, world.town_a)
    url = reverse("consultation_edit", args=[case.pk])
    data = {"requested_on": local_today().isoformat(), "requested_by": "worker", "outcome": "pending"}
    for outsider in (world.mediator_b, world.supervisor_b):
        client.force_login(outsider)
        assert client.get(url).status_code == 404
        assert client.post(url, data).status_code == 404
    for reader in (world.auditor_a, world.admin):
        client.force_login(reader)
        assert client.get(url).status_code == 403
        assert client.post(url, data).status_code == 403
    assert consultation_state(case) == (None, "", None, "", "")


# --- consent at acceptance -------------------------------------------------------------------


def _accept(client, case, **data):
    return client.post(reverse("case_transition", args=[case.pk, "accept"]), {"expected_state": "registered", **data})


def test_accepting_without_the_respondents_consent_is_refused_in_chinese(world, client):
    """人社部令第17号: the committee accepts when both sides agree to mediation."""
    case = register(world.mediator_a, world.town_a)
    client.force_login(world.mediator_a)
    response = _accept(client, case, consent_recorded_on=local_today().isoformat(), consent_note="电话征询")
    assert response.status_code == 400
    assert "受理前须征得被申请人同意调解" in response.content.decode()
    case.refresh_from_db()
    assert case.state == S.REGISTERED and case.respondent_consent == ""


def test_consent_dated_before_receipt_or_in_the_future_is_refused(world, client):
    case = register(world.mediator_a, world.town_a, received_at=at_shanghai(local_today() - 2 * DAY))
    client.force_login(world.mediator_a)
    received = local_today() - 2 * DAY
    early = _accept(client, case, consent_confirmed="on", consent_note="电话征询",
                    consent_recorded_on=(received - DAY).isoformat())
    assert early.status_code == 400
    assert f"不能早于收到调解申请的日期（{received.isoformat()}）" in early.content.decode()
    late = _accept(client, case, consent_confirmed="on", consent_note="电话征询",
                   consent_recorded_on=(local_today() + DAY).isoformat())
    assert late.status_code == 400 and "不能晚于今天" in late.content.decode()
    case.refresh_from_db()
    assert case.state == S.REGISTERED and case.respondent_consent == ""


def test_acceptance_records_when_and_how_the_respondents_agreed(world, client):
    case = register(world.mediator_a, world.town_a, received_at=at_shanghai(local_today() - DAY))
    client.force_login(world.mediator_a)
    response = _accept(client, case, consent_confirmed="on", consent_note="电话征询公司人事经理，同意调解",
                       consent_recorded_on=local_today().isoformat())
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.state == S.JOINT_MEDIATION
    assert (case.respondent_consent, case.consent_recorded_on, case.consent_note) == (
        "consented", local_today(), "电话征询公司人事经理，同意调解")
    log = TransitionLog.objects.get(case=case, transition="accept")
    assert "同意调解" in log.reason and "电话征询公司人事经理" in log.reason
    event = AuditEvent.objects.get(case_id=case.pk, action="case.accept")
    old, new = event.old or {}, event.new or {}
    assert old["respondent_consent"] == "" and new["respondent_consent"] == "consented"
    assert new["consent_recorded_on"] == local_today().isoformat()


def test_the_service_without_consent_arguments_records_none(world):
    """Historical imports and generated data have no consent on record; the service leaves it blank."""
    case = register(world.mediator_a, world.town_a)
    ws.case_accept(case_id=case.pk, actor=world.mediator_a)
    case.refresh_from_db()
    assert case.state == S.JOINT_MEDIATION and case.respondent_consent == "" and case.consent_recorded_on is None


def test_consent_without_saying_how_is_refused_by_the_service(world):
    case = register(world.mediator_a, world.town_a)
    with pytest.raises(ValidationError) as caught:
        ws.case_accept(case_id=case.pk, actor=world.mediator_a, consented_on=local_today(), consent_note="  ")
    assert caught.value.message_dict["consent_note"] == ["请说明征询被申请人意见的方式和情况。"]
    case.refresh_from_db()
    assert case.state == S.REGISTERED


# --- refusal: not accepted, with the right notice ---------------------------------------------


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")


def _reject(client, case, **data):
    return client.post(reverse("case_transition", args=[case.pk, "reject"]), {"expected_state": "registered", **data})


def test_a_respondent_who_refuses_mediation_ends_the_case_with_the_arbitration_notice(world, client, media):
    """人社部令第17号: one side does not agree to mediate → not accepted, the applicant told in
    writing; 劳动争议调解仲裁法 art. 27: arbitration within the one-year limitation."""
    case = register(world.mediator_a, world.town_a)
    client.force_login(world.mediator_a)
    refused_on = local_date(case.received_at)
    response = _reject(client, case, reason_kind="respondent_refused", refused_on=refused_on.isoformat(),
                       reason="公司法定代表人电话答复不接受调解")
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.state == S.REJECTED
    assert (case.respondent_consent, case.consent_recorded_on) == ("refused", refused_on)
    notice = documents.document_issue(case_id=case.pk, kind=DocumentKind.REJECTION_NOTICE, actor=world.mediator_a,
                                      subject_id=TransitionLog.objects.get(case=case, transition="reject").pk)
    text = pdfcheck.squeezed(pdfcheck.stored(notice))
    assert "不同意调解" in text and "劳动人事争议仲裁委员会申请仲裁" in text and "第二十七条" in text
    assert "公司法定代表人电话答复不接受调解" in text
    assert "经审查，决定不予受理" not in text


def test_a_rejection_for_another_reason_leaves_consent_alone_and_says_so(world, client, media):
    case = register(world.mediator_a, world.town_a)
    client.force_login(world.mediator_a)
    response = _reject(client, case, reason_kind="scope", reason="申请事项为民间借贷纠纷，不属于劳动争议")
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.state == S.REJECTED and case.respondent_consent == ""
    notice = documents.document_issue(case_id=case.pk, kind=DocumentKind.REJECTION_NOTICE, actor=world.mediator_a,
                                      subject_id=TransitionLog.objects.get(case=case, transition="reject").pk)
    text = pdfcheck.squeezed(pdfcheck.stored(notice))
    assert "经审查，决定不予受理" in text and "不同意调解" not in text


def test_a_refusal_needs_its_date(world, client):
    case = register(world.mediator_a, world.town_a)
    client.force_login(world.mediator_a)
    response = _reject(client, case, reason_kind="respondent_refused", reason="不同意")
    assert response.status_code == 400
    assert "请填写被申请人表示不同意调解的日期。" in response.content.decode()
    case.refresh_from_db()
    assert case.state == S.REGISTERED and case.respondent_consent == ""
