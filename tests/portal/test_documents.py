"""My documents (我的文书): case number + ID number → a one-time code by SMS → that case's notices and the
effective agreement. The same answer for a match and a miss; codes hashed, short-lived, few tries, single use."""
from __future__ import annotations

import datetime
import hashlib
import re
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from mediation.audit.models import AuditEvent
from mediation.documents import services as documents
from mediation.documents.context import subjects_for
from mediation.models import Agreement
from notifications.sms import LocmemSmsBackend
from portal.models import DocumentCode
from tests.factories import register, valid_id_number
from tests.lifecycle import effective_agreement
from tests.portal.conftest import submitted
from workflows import services as ws

pytestmark = pytest.mark.django_db
SENT = "如信息无误，验证码已发送至登记的手机号"


@pytest.fixture
def accepted(world):
    """An online application, accepted, with its acceptance notice issued; and who applied."""
    id_number = valid_id_number()
    case, _code = submitted(Client(), township=str(world.town_a.pk), id_number=id_number, name="李小红",
                            phone="13805749876")
    case = ws.case_accept(case_id=case.pk, actor=world.mediator_a)
    subject = subjects_for(case, "acceptance_notice")[-1]
    notice = documents.document_issue(case_id=case.pk, kind=subject.kind, subject_id=subject.subject_id,
                                      actor=world.mediator_a)
    return case, id_number, notice


def ask(client: Client, number: str, id_number: str):
    return client.post(reverse("portal:documents"), {"number": number, "id_number": id_number}, follow=True)


def enter(client: Client, code: str):
    return client.post(reverse("portal:documents_code"), {"code": code})


def sms_code() -> str:
    (_phone, text), = LocmemSmsBackend.outbox
    return next(word for word in text.replace("，", " ").replace("为", " ").split() if word.isdigit())


def test_the_applicant_gets_a_code_on_the_phone_on_record_and_downloads_the_notice(world, accepted):
    case, id_number, notice = accepted
    client = Client()
    page = ask(client, case.number, id_number).content.decode()
    assert SENT in page
    (phone, text), = LocmemSmsBackend.outbox
    assert phone == "13805749876"
    code = sms_code()
    assert len(code) == 6
    # The SMS holds the code and a fixed text: no name, no ID number, no case number, no organisation.
    for personal in ("李小红", id_number, id_number[-4:], case.number, world.town_a.name, "13805749876"):
        assert personal not in text
    assert enter(client, code).status_code == 302
    listed = client.get(reverse("portal:documents_list")).content.decode()
    assert notice.title in listed
    response = client.get(reverse("portal:document_download", args=[notice.pk]))
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert hashlib.sha256(response.getvalue()).hexdigest() == notice.sha256


def _documents_page(case, id_number: str, agreement) -> tuple[Client, str, Any]:
    """The worker signed in to "my documents" with the case number, ID number and SMS code: (their
    client, the list page, the registered paper the agreement was signed on)."""
    client = Client()
    ask(client, case.number, id_number)
    enter(client, sms_code())
    listed = client.get(reverse("portal:documents_list")).content.decode()
    signing = Agreement.objects.get(pk=agreement.pk).signing_document
    assert signing is not None
    return client, listed, signing


def test_the_effective_agreement_is_listed_once_beside_the_notice(world, accepted):
    case, id_number, notice = accepted
    agreement = effective_agreement(world, case)
    ws.case_record_agreement(case_id=case.pk, actor=world.mediator_a)
    client, listed, signing = _documents_page(case, id_number, agreement)
    links = re.findall(r"/service/documents/(\d+)/download/", listed)
    assert sorted(int(pk) for pk in links) == sorted([notice.pk, signing.pk])


def test_with_a_co_applicant_the_papers_listing_every_partys_identifiers_stay_at_the_office(world, accepted):
    """This page shows no one else's personal data: the agreement lists every party with their ID
    number and address, so with a co-applicant it is not handed out here (the notice, which names
    the addressees only, still is), and the page says where to get it."""
    from mediation.models import CaseParty, PartyRole, Person

    case, id_number, notice = accepted
    agreement = effective_agreement(world, case)
    ws.case_record_agreement(case_id=case.pk, actor=world.mediator_a)
    other = Person.objects.create(name="王五", id_number=valid_id_number(), address="宁波市奉化区岳林街道1号")
    CaseParty.objects.create(case=case, role=PartyRole.APPLICANT, person=other, name=other.name, position=2)
    client, listed, signing = _documents_page(case, id_number, agreement)
    assert [int(pk) for pk in re.findall(r"/service/documents/(\d+)/download/", listed)] == [notice.pk]
    assert 'id="others-named"' in listed
    assert client.get(reverse("portal:document_download", args=[signing.pk])).status_code == 404


def test_a_miss_gets_the_same_page_and_no_sms(world, accepted):
    case, id_number, _notice = accepted
    other = register(world.mediator_a, world.town_a)
    others_id = other.parties.get(role="applicant").person.id_number
    pages = [ask(Client(), number, given).content.decode() for number, given in (
        ("锦调〔2099〕9999号", id_number),  # no such case
        (case.number, valid_id_number()),  # not this case's applicant
        (case.number, others_id),  # another case's applicant
        (other.number, id_number),  # someone else's case number
    )]
    assert all(SENT in page for page in pages)
    assert LocmemSmsBackend.outbox == []
    assert not DocumentCode.objects.exists()
    assert set(AuditEvent.objects.filter(action="portal.code_request").values_list("new__result", flat=True)) \
        == {"no_match"}


def test_documents_stay_closed_after_a_miss_whatever_code_is_tried(world, accepted):
    case, _id_number, notice = accepted
    client = Client()
    ask(client, case.number, valid_id_number())
    assert enter(client, "000000").status_code == 400
    assert client.get(reverse("portal:documents_list")).status_code == 302
    assert client.get(reverse("portal:document_download", args=[notice.pk])).status_code == 302


def test_a_code_is_single_use(world, accepted):
    case, id_number, _notice = accepted
    client = Client()
    ask(client, case.number, id_number)
    code = sms_code()
    assert enter(client, code).status_code == 302
    row = DocumentCode.objects.get()
    assert row.used_at is not None
    # Another browser holding the same code (read over a shoulder) gets nothing with it.
    second = Client()
    session = second.session
    session["portal.challenge"] = {"number": case.number, "code_id": row.pk}
    session.save()
    assert enter(second, code).status_code == 400
    assert second.get(reverse("portal:documents_list")).status_code == 302


def test_five_wrong_tries_end_the_code(world, accepted, settings):
    case, id_number, _notice = accepted
    client = Client()
    ask(client, case.number, id_number)
    code = sms_code()
    wrong = f"{(int(code) + 1) % 10 ** 6:06d}"
    for _i in range(settings.PORTAL_CODE_ATTEMPTS):
        assert enter(client, wrong).status_code == 400
    assert enter(client, code).status_code == 400
    assert client.get(reverse("portal:documents_list")).status_code == 302


def test_an_expired_code_is_refused(world, accepted, settings):
    case, id_number, _notice = accepted
    client = Client()
    ask(client, case.number, id_number)
    code = sms_code()
    DocumentCode.objects.update(expires_at=timezone.now() - datetime.timedelta(seconds=1))
    assert enter(client, code).status_code == 400


def test_the_code_is_kept_only_as_a_hash(world, accepted):
    case, id_number, _notice = accepted
    ask(Client(), case.number, id_number)
    code = sms_code()
    row = DocumentCode.objects.get()
    assert code not in row.code_hash
    assert row.expires_at - row.created_at == datetime.timedelta(minutes=10)


def test_a_grant_opens_only_its_own_cases_documents(world, accepted):
    case, id_number, _notice = accepted
    other = register(world.mediator_a, world.town_a)
    other = ws.case_accept(case_id=other.pk, actor=world.mediator_a)
    subject = subjects_for(other, "acceptance_notice")[-1]
    foreign = documents.document_issue(case_id=other.pk, kind=subject.kind, subject_id=subject.subject_id,
                                       actor=world.mediator_a)
    client = Client()
    ask(client, case.number, id_number)
    enter(client, sms_code())
    assert client.get(reverse("portal:document_download", args=[foreign.pk])).status_code == 404


def test_code_requests_and_checks_and_downloads_are_audited_masked(world, accepted):
    case, id_number, notice = accepted
    client = Client()
    ask(client, case.number, id_number)
    code = sms_code()
    enter(client, "999999" if code != "999999" else "111111")
    enter(client, code)
    client.get(reverse("portal:document_download", args=[notice.pk]))
    rows = list(AuditEvent.objects.filter(action__startswith="portal.").exclude(action="portal.apply").order_by("pk"))
    news = [r.new or {} for r in rows]
    assert [(r.action, new.get("result")) for r, new in zip(rows, news, strict=True)] == [
        ("portal.code_request", "sent"), ("portal.code_check", "refused"), ("portal.code_check", "accepted"),
        ("portal.document_download", None)]
    assert all(r.case_id == case.pk and r.actor_id is None for r in rows)
    assert news[0]["id_number"] == f"{id_number[:3]}{'*' * 11}{id_number[-4:]}"
    assert all(id_number not in str(r.new) and code not in str(r.new) for r in rows)


def test_sms_requests_for_one_case_are_throttled(world, accepted, settings):
    settings.PORTAL_SMS_RATE_PER_CASE = "2/hour"
    case, id_number, _notice = accepted
    for i in range(2):
        ask(Client(REMOTE_ADDR=f"10.0.1.{i + 1}"), case.number, id_number)
    response = Client(REMOTE_ADDR="10.0.1.9").post(reverse("portal:documents"),
                                                   {"number": case.number, "id_number": id_number})
    assert response.status_code == 429
    assert len(LocmemSmsBackend.outbox) == 2
    assert AuditEvent.objects.filter(action="portal.code_request", new__result="throttled").count() == 1
