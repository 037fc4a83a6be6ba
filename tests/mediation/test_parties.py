"""Several respondents in their capacities and collective disputes with representatives, intake to closure.

The expectations are written from the law, not read off the code:
- 劳动争议调解仲裁法 art. 22: in labour dispatch the dispatch agency (劳务派遣单位) and the host
  employer (用工单位) are joint parties (共同当事人).
- art. 7: ten or more workers with a common claim may elect representatives to take part.
- art. 14: the agreement takes effect when signed or sealed by the parties, signed by the
  mediator and sealed by the mediation organisation.
- DOMAIN.md §4: an enterprise committee mediates disputes of its own enterprise only.
"""
from __future__ import annotations

import dataclasses
import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from mediation import services as ms
from mediation.audit.models import AuditEvent
from mediation.documents import services as documents
from mediation.documents.models import DocumentKind
from mediation.models import Agreement, Case, CaseParty, Employer, PartyRole, Person, Signature
from mediation.services import EmployerInput, RespondentInput
from tests.documents import pdfcheck
from tests.factories import registration, valid_credit_code
from tests.lifecycle import signing_code
from workflows import services as ws

TODAY = datetime.date(2026, 11, 20)
AGENCY, HOST = "宁波众诚人力资源服务有限公司", "宁波锦屏汽车零部件有限公司"


def dispatch(world, *, host: bool = True, agency: bool = True, **overrides):
    """A dispatched worker's registration: the agency as principal respondent, the host employer beside it."""
    principal = EmployerInput(name=AGENCY if agency else HOST, credit_code=valid_credit_code())
    others = [RespondentInput(EmployerInput(name=HOST, credit_code=valid_credit_code()), "host_employer")]
    return registration(world.town_a, employer=principal,
                        employer_capacity="dispatch_agency" if agency else "host_employer",
                        other_respondents=others if (host and agency) else (), **overrides)


def collective(world, *, listed: int = 3, workers: int | None = 30, representatives: int = 3, **overrides):
    """``listed`` applicants of whom the first ``representatives`` were elected, for ``workers`` workers."""
    data = registration(world.town_a, applicants=listed, workers_involved=workers, **overrides)
    return dataclasses.replace(data, applicants=[
        dataclasses.replace(p, is_representative=i < representatives) for i, p in enumerate(data.applicants)])


def refused(data, actor) -> dict[str, list[str]]:
    with pytest.raises(ValidationError) as excinfo:
        ms.case_register(actor=actor, data=data)
    assert not Case.objects.exists()
    return excinfo.value.message_dict


def respondents(case: Case) -> list[tuple[str, str]]:
    return [(p.name, p.capacity) for p in case.parties.filter(role=PartyRole.RESPONDENT).order_by("position")]


# ----------------------------------------------------------------------- dispatch (art. 22)

def test_art22_a_dispatch_case_registers_the_agency_and_the_host_employer_in_their_capacities(world):
    case = ms.case_register(actor=world.mediator_a, data=dispatch(world))
    assert respondents(case) == [(AGENCY, "dispatch_agency"), (HOST, "host_employer")]
    assert case.employer.name == AGENCY and case.platform is None
    new = AuditEvent.objects.get(case_id=case.pk, action="case.register").new or {}
    assert new["respondents"] == [{"name": AGENCY, "capacity": "dispatch_agency"},
                                        {"name": HOST, "capacity": "host_employer"}]
    assert new["workers_involved"] == 1 and new["representatives"] == []


@pytest.mark.parametrize("which", ["agency alone", "host alone"])
def test_art22_one_of_the_joint_parties_alone_is_refused_with_the_reason(world, which):
    data = dispatch(world, host=False) if which == "agency alone" else dispatch(world, agency=False)
    errors = refused(data, world.mediator_a)
    assert errors["respondents"] == [
        "劳务派遣单位和用工单位为共同当事人（劳动争议调解仲裁法第二十二条），请同时填写两者。"]
    assert not Employer.objects.filter(name__in=[AGENCY, HOST]).exists()


def test_the_same_firm_twice_is_refused(world):
    code = valid_credit_code()
    data = registration(world.town_a, employer=EmployerInput(name=AGENCY, credit_code=code),
                        other_respondents=[RespondentInput(EmployerInput(name=AGENCY, credit_code=code))])
    assert refused(data, world.mediator_a)["respondents-0-name"] == ["同一单位不能重复列为被申请人。"]


def test_the_same_firm_named_once_with_its_code_and_once_without_is_refused(world):
    data = registration(world.town_a, employer=EmployerInput(name=AGENCY, credit_code=valid_credit_code()),
                        other_respondents=[RespondentInput(EmployerInput(name=AGENCY))])
    assert refused(data, world.mediator_a)["respondents-0-name"] == ["同一单位不能重复列为被申请人。"]


def test_the_platform_as_the_employer_too_is_refused(world):
    code = valid_credit_code()
    data = registration(world.town_a, employer=EmployerInput(name="宁波快达配送站", credit_code=code),
                        platform=EmployerInput(name="宁波快达配送站", credit_code=code))
    assert refused(data, world.mediator_a)["platform_name"] == ["同一单位不能重复列为被申请人。"]


def test_a_platform_is_a_respondent_in_the_platform_capacity(world):
    data = registration(world.town_a, employer=EmployerInput(name="奉化岳林配送站", credit_code=valid_credit_code()),
                        platform=EmployerInput(name="某外卖平台宁波合作商", credit_code=valid_credit_code()),
                        work_form="delivery")
    case = ms.case_register(actor=world.mediator_a, data=data)
    assert respondents(case) == [("奉化岳林配送站", "employer"), ("某外卖平台宁波合作商", "platform")]
    assert case.platform is not None and case.platform.name == "某外卖平台宁波合作商"


def test_an_unknown_capacity_is_refused(world):
    data = registration(world.town_a, other_respondents=[
        RespondentInput(EmployerInput(name=HOST, credit_code=valid_credit_code()), "guarantor")])
    assert refused(data, world.mediator_a)["respondents-0-capacity"] == ["请选择被申请人的责任身份。"]


# ----------------------------------------------------------------------- collective (art. 7)

def test_art7_three_representatives_for_thirty_workers_make_a_collective_case(world):
    case = ms.case_register(actor=world.mediator_a, data=collective(world))
    assert (case.is_collective, case.applicant_count, case.workers_involved) == (True, 3, 30)
    assert CaseParty.objects.filter(case=case, role=PartyRole.APPLICANT, is_representative=True).count() == 3
    new = AuditEvent.objects.get(case_id=case.pk, action="case.register").new or {}
    assert new["workers_involved"] == 30 and len(new["representatives"]) == 3


@pytest.mark.parametrize(("listed", "workers", "is_collective"), [
    (3, None, False),  # the three listed applicants are all the workers
    (3, 9, False),     # below ten
    (3, 10, True),     # ten or more (art. 7)
    (3, 29, True),
    (10, None, True),  # ten listed applicants
])
def test_art7_the_collective_flag_follows_the_number_of_workers_from_ten(world, listed, workers, is_collective):
    case = ms.case_register(actor=world.mediator_a,
                            data=collective(world, listed=listed, workers=workers, representatives=0))
    assert case.is_collective is is_collective
    assert (case.applicant_count, case.workers_involved) == (listed, workers or listed)


def test_fewer_workers_than_listed_applicants_is_refused(world):
    errors = refused(collective(world, listed=3, workers=2, representatives=0), world.mediator_a)
    assert errors["workers_involved"] == ["涉及劳动者人数不能少于所列申请人数（3人）。"]


def test_art7_representatives_of_fewer_than_ten_workers_are_refused(world):
    """Below ten workers there is nobody to represent: each applicant takes part in person."""
    errors = refused(collective(world, listed=3, workers=9, representatives=1), world.mediator_a)
    assert errors["applicants-0-is_representative"] == [
        "劳动者一方在10人以上并有共同请求的，才可以推举代表参加调解（劳动争议调解仲裁法第七条）；本案涉及9人。"]
    assert not Person.objects.exists()


# ----------------------------------------------------------------- enterprise committee (§4)

def test_an_enterprise_committee_refuses_a_dispute_against_another_enterprise(world):
    data = registration(world.enterprise_a, employer=EmployerInput(name="宁波别家电器有限公司",
                                                                   credit_code=valid_credit_code()))
    errors = refused(data, world.enterprise_mediator)
    assert errors["employer_name"][0].startswith("本调解委员会只受理本企业（或所服务企业）的劳动争议")


def test_an_enterprise_committee_registers_its_own_enterprises_dispute(world):
    own = world.enterprise_a.served_employers.get()
    by_code = registration(world.enterprise_a, employer=EmployerInput(name=own.name, credit_code=own.credit_code))
    case = ms.case_register(actor=world.enterprise_mediator, data=by_code)
    assert case.employer == own and case.organisation == world.enterprise_a


def test_an_enterprise_committee_registers_a_dispatch_dispute_where_its_enterprise_is_the_host(world):
    own = world.enterprise_a.served_employers.get()
    data = registration(world.enterprise_a, employer=EmployerInput(name=AGENCY, credit_code=valid_credit_code()),
                        employer_capacity="dispatch_agency", other_respondents=[RespondentInput(own, "host_employer")])
    case = ms.case_register(actor=world.enterprise_mediator, data=data)
    assert respondents(case) == [(AGENCY, "dispatch_agency"), (own.name, "host_employer")]


def test_an_enterprise_committee_without_its_firms_on_record_is_told_to_ask_the_administrator(world):
    world.enterprise_a.served_employers.clear()
    errors = refused(registration(world.enterprise_a), world.enterprise_mediator)
    assert "请联系管理员" in errors["organisation"][0] and "所服务的企业" in errors["organisation"][0]


def test_the_administrator_records_the_firms_a_committee_serves_on_the_audit_trail(admin_client, world):
    """The admin's organisation form carries the served firms; a change is audited with before and after."""
    from django.urls import reverse

    from tests.factories import level

    own = world.enterprise_a.served_employers.get()
    park_firm = Employer.objects.create(name="宁波锦园五金制品有限公司", credit_code=valid_credit_code())
    page = admin_client.get(reverse("admin:mediation_organisation_change", args=[world.enterprise_a.pk]))
    assert 'name="served_employers"' in page.content.decode()
    response = admin_client.post(
        reverse("admin:mediation_organisation_change", args=[world.enterprise_a.pk]),
        {"name": world.enterprise_a.name, "short_name": "", "level": level(3).pk, "parent": world.town_a.pk,
         "case_number_prefix": world.enterprise_a.case_number_prefix, "address": "", "phone": "",
         "is_active": "on", "served_employers": [own.pk, park_firm.pk]})
    assert response.status_code == 302
    assert set(world.enterprise_a.served_employers.all()) == {own, park_firm}
    event = AuditEvent.objects.filter(action="admin.change", new__has_key="served_employers").get()
    assert event.old == {"served_employers": [own.name]}
    assert event.new == {"served_employers": sorted([own.name, park_firm.name])}


def test_a_township_centre_takes_any_firm(world):
    case = ms.case_register(actor=world.mediator_a, data=registration(world.town_a))
    assert case.organisation == world.town_a


# --------------------------------------------------------------------- signatures (art. 14)

def draft(world, case: Case) -> Agreement:
    ws.case_accept(case_id=case.pk, actor=world.mediator_a)
    return ms.agreement_draft(case_id=case.pk, actor=world.mediator_a, dispute_summary="拖欠待岗期间工资",
                              terms=["被申请人于2026年12月31日前支付申请人人民币伍仟元整。"],
                              instalments=[ms.InstalmentInput(amount=Decimal("5000"), due_on=TODAY)])


def draft_printed(world, case: Case) -> Agreement:
    """A draft with its signing version printed: the paper the parties sign."""
    from tests.lifecycle import print_for_signing

    agreement = draft(world, case)
    print_for_signing(world.mediator_a, agreement)
    return agreement


def sign(world, agreement: Agreement, *parties: CaseParty) -> Agreement:
    for party in parties:
        ms.signature_record(agreement_id=agreement.pk, document_code=signing_code(agreement),
                            actor=world.mediator_a, kind=Signature.Kind.PARTY,
                            party_id=party.pk, signed_on=TODAY)
    agreement.refresh_from_db()
    return agreement


def mediator_and_seal(world, agreement: Agreement) -> Agreement:
    for kind in (Signature.Kind.MEDIATOR, Signature.Kind.SEAL):
        ms.signature_record(agreement_id=agreement.pk, document_code=signing_code(agreement),
                            actor=world.mediator_a, kind=kind, signed_on=TODAY)
    agreement.refresh_from_db()
    return agreement


def test_art14_the_agreement_takes_effect_only_when_every_respondent_has_signed(world):
    case = ms.case_register(actor=world.mediator_a, data=dispatch(world))
    agreement = draft_printed(world, case)
    agency, host = case.parties.filter(role=PartyRole.RESPONDENT).order_by("position")
    agreement = mediator_and_seal(world, sign(world, agreement, *case.parties.filter(role=PartyRole.APPLICANT),
                                              agency))
    assert agreement.status == Agreement.Status.DRAFT
    assert ms.agreement_missing_signatures(agreement) == [f"被申请人（用工单位） {HOST} 签字或盖章"]
    assert sign(world, agreement, host).status == Agreement.Status.EFFECTIVE


def test_art7_the_representatives_sign_for_all_applicants(world):
    case = ms.case_register(actor=world.mediator_a, data=collective(world, listed=5, workers=30, representatives=3))
    agreement = draft_printed(world, case)
    representatives = list(case.parties.filter(is_representative=True))
    others = list(case.parties.filter(role=PartyRole.APPLICANT, is_representative=False))
    assert len(representatives) == 3 and len(others) == 2
    agreement = mediator_and_seal(world, sign(world, agreement, *case.parties.filter(role=PartyRole.RESPONDENT)))
    assert len(ms.agreement_missing_signatures(agreement)) == 3  # the three representatives, not the others
    agreement = sign(world, agreement, *representatives[:2])
    assert ms.agreement_missing_signatures(agreement) == [f"申请人（代表） {representatives[2].name} 签字或盖章"]
    assert sign(world, agreement, representatives[2]).status == Agreement.Status.EFFECTIVE


def test_without_representatives_every_applicant_signs(world):
    case = ms.case_register(actor=world.mediator_a, data=collective(world, listed=2, workers=None,
                                                                    representatives=0))
    agreement = draft_printed(world, case)
    first, second = case.parties.filter(role=PartyRole.APPLICANT).order_by("position")
    agreement = mediator_and_seal(world, sign(world, agreement, first,
                                              *case.parties.filter(role=PartyRole.RESPONDENT)))
    assert ms.agreement_missing_signatures(agreement) == [f"申请人 {second.name} 签字或盖章"]


# ------------------------------------------------------------------------------- documents

@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")

def text_of(world, case: Case, kind: str, subject_id: int = 0) -> str:
    """The document's text; an agreement as its signing version, the print with a line for every signer."""
    stage = "signing" if kind == DocumentKind.AGREEMENT else ""
    issued = documents.document_issue(case_id=case.pk, kind=kind, subject_id=subject_id, actor=world.mediator_a,
                                      stage=stage)
    return pdfcheck.squeezed(pdfcheck.stored(issued))


def test_documents_name_each_respondent_in_its_capacity(world, media):
    case = ms.case_register(actor=world.mediator_a, data=dispatch(world))
    agreement = draft(world, case)
    for kind, subject in ((DocumentKind.APPLICATION_RECORD, 0), (DocumentKind.ACCEPTANCE_NOTICE, 0),
                          (DocumentKind.AGREEMENT, agreement.pk)):
        text = text_of(world, case, kind, subject)
        assert f"{AGENCY}（劳务派遣单位）" in text or f"被申请人（劳务派遣单位）：{AGENCY}" in text, kind
        assert f"{HOST}（用工单位）" in text or f"被申请人（用工单位）：{HOST}" in text, kind
    agreement_text = text_of(world, case, DocumentKind.AGREEMENT, agreement.pk)
    assert "被申请人（劳务派遣单位）（盖章）" in agreement_text and "被申请人（用工单位）（盖章）" in agreement_text


def test_a_collective_agreement_shows_the_workers_and_the_representatives_signing_for_all(world, media):
    case = ms.case_register(actor=world.mediator_a, data=collective(world, listed=4, workers=30, representatives=3))
    agreement = draft(world, case)
    text = text_of(world, case, DocumentKind.AGREEMENT, agreement.pk)
    assert "涉及劳动者人数：30人（集体争议）" in text
    assert text.count("申请人代表（代表全体申请人）（签名）") == 3
    assert "申请人（代表）：" in text  # each representative among the parties
    not_elected = case.parties.get(role=PartyRole.APPLICANT, is_representative=False)
    assert f"申请人：{not_elected.name}" in text
