"""Applying online (issue 14): the desk's intake rules, the township's queue, nothing half-written."""
from __future__ import annotations

import datetime
import os
import re
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.conf import settings
from django.test import Client
from django.urls import reverse

from mediation.audit.models import AuditEvent
from mediation.models import Attachment, Case, CaseNumberSequence, Channel, Employer, Person
from portal.models import OnlineApplication
from portal.services import ACCESS_ALPHABET
from tests.factories import register, valid_id_number
from tests.portal.conftest import apply, png, submitted, text_file

pytestmark = pytest.mark.django_db
CST = ZoneInfo("Asia/Shanghai")


def stored_files() -> list[str]:
    root = settings.MEDIA_ROOT / "attachments"
    return [os.path.join(d, f) for d, _dirs, files in os.walk(root) for f in files] if root.exists() else []


def test_an_online_application_is_registered_at_the_chosen_township_received_when_submitted(world):
    # Friday 2026-11-20, 10:00 in Beijing: three working days later is Wednesday 2026-11-25.
    with time_machine.travel(datetime.datetime(2026, 11, 20, 10, 0, tzinfo=CST), tick=False):
        case, _code = submitted(Client(), township=str(world.town_b.pk), employer_address="宁波市某路1号")
    assert case.organisation == world.town_b and case.registered_organisation == world.town_b
    assert case.channel == Channel.ONLINE and case.applied_online is True
    assert case.state == "registered" and case.created_by is None
    assert case.received_at == datetime.datetime(2026, 11, 20, 10, 0, tzinfo=CST)
    assert case.acceptance_due == datetime.date(2026, 11, 25)
    assert case.number.startswith("溪调")
    applicant = case.parties.get(role="applicant")
    assert (applicant.name, applicant.sex, applicant.phone) == ("李小红", "F", "13805741234")
    assert str(case.amount_claimed) == "9600.00" and list(case.categories.values_list("code", flat=True)) == ["wages"]


def test_an_employer_known_by_its_credit_code_decides_the_township_over_the_choice(world):
    firm = world.enterprise_a.served_employers.get()  # served by a committee under town A
    case, _code = submitted(Client(), credit_code=firm.credit_code, employer_name=firm.name,
                            township=str(world.town_b.pk))
    assert case.organisation == world.town_a
    assert case.online_application.routed_by == "employer"


def test_an_employer_with_a_case_at_a_township_goes_there_again(world):
    earlier = register(world.mediator_b, world.town_b)
    case, _code = submitted(Client(), credit_code=earlier.employer.credit_code, township="")
    assert case.organisation == world.town_b


def test_without_a_choice_the_address_names_the_township(world):
    case, _code = submitted(Client(), township="", employer_address="宁波市奉化区溪口镇武岭路8号")
    assert case.organisation == world.town_b and case.online_application.routed_by == "address"


def test_when_nothing_decides_the_township_the_worker_is_asked_and_nothing_is_written(world):
    response = apply(Client(), township="", employer_address="宁波市海曙区某路1号")
    assert response.status_code == 400
    assert "无法根据单位信息确定受理的镇街" in response.content.decode()
    assert not Case.objects.exists() and not Person.objects.exists()


def test_the_desk_rules_refuse_a_bad_id_number_and_nothing_is_written(world):
    employers = Employer.objects.count()
    response = apply(Client(), township=str(world.town_a.pk), id_number="330283198901011234",
                     claim_0_amount="abc")
    assert response.status_code == 400
    page = response.content.decode()
    assert "身份证" in page or "身份号码" in page
    assert not Case.objects.exists() and not Person.objects.exists() and Employer.objects.count() == employers
    assert not CaseNumberSequence.objects.filter(organisation=world.town_a, last_value__gt=0).exists()
    assert not AuditEvent.objects.filter(action__in=["case.register", "portal.apply"]).exists()


def test_a_file_that_is_not_evidence_leaves_no_case_and_no_file(world):
    response = apply(Client(), township=str(world.town_a.pk), evidence=[png(), text_file()])
    assert response.status_code == 400
    assert "只能上传 PDF" in response.content.decode()
    assert not Case.objects.exists() and not Attachment.objects.exists() and stored_files() == []


def test_a_failure_after_the_files_are_stored_removes_them_with_the_case(world, monkeypatch):
    from mediation.audit import log

    real = log.record

    def failing(**kwargs):
        if kwargs["action"] == "portal.apply":
            raise RuntimeError("the database went away")
        return real(**kwargs)

    monkeypatch.setattr(log, "record", failing)
    client = Client(raise_request_exception=False)
    response = apply(client, township=str(world.town_a.pk), evidence=[png()])
    assert response.status_code == 500
    assert not Case.objects.exists() and not Attachment.objects.exists() and stored_files() == []


def test_evidence_is_kept_on_the_case_with_its_hash_and_no_uploader(world):
    case, _code = submitted(Client(), township=str(world.town_a.pk), evidence=[png()])
    attachment = case.attachments.get()
    assert attachment.uploaded_by is None and attachment.content_type == "image/png"
    assert attachment.kind == Attachment.Kind.EVIDENCE and attachment.file.read() == png().read()


def test_the_access_code_is_long_unambiguous_hashed_and_shown_once(world):
    client = Client()
    case, shown = submitted(client, township=str(world.town_a.pk))
    code = shown.replace("-", "")
    assert len(code) >= 10 and set(code) <= set(ACCESS_ALPHABET)
    assert not set("01OIL") & set(code)
    stored = OnlineApplication.objects.get(case=case).access_code_hash
    assert code not in stored and shown not in stored
    again = client.get(reverse("portal:apply_done"))
    assert again.status_code == 302 and code not in again.content.decode()


def test_the_audit_trail_names_the_applicant_masked_and_never_a_full_id_number(world):
    id_number = valid_id_number()
    case, _code = submitted(Client(), township=str(world.town_a.pk), id_number=id_number, evidence=[png()])
    rows = AuditEvent.objects.filter(case_id=case.pk)
    assert set(rows.values_list("action", flat=True)) == {"case.register", "attachment.add", "portal.apply"}
    for row in rows:
        assert row.actor_id is None
        assert row.actor_name == f"portal:applicant {id_number[:3]}{'*' * 11}{id_number[-4:]}"
        assert id_number not in str(row.new) and "13805741234" not in str(row.new)


def test_an_id_number_on_file_under_another_name_is_neither_refused_nor_confirmed(world):
    earlier = register(world.mediator_b, world.town_b)
    on_file = earlier.parties.get(role="applicant").person
    response = apply(Client(), township=str(world.town_a.pk), id_number=on_file.id_number, name="王五")
    assert response.status_code == 302
    case = Case.objects.exclude(pk=earlier.pk).get()
    assert case.parties.get(role="applicant").name == "王五"


def test_the_case_lands_in_its_townships_queue_marked_online_and_nowhere_else(world):
    case, _code = submitted(Client(), township=str(world.town_a.pk))
    mine, other = Client(), Client()
    mine.force_login(world.mediator_a)
    other.force_login(world.mediator_b)
    listed = mine.get(reverse("case_list"), {"state": "registered"}).content.decode()
    row = re.search(rf"{re.escape(case.number)}.*?</tr>", listed, re.S)
    assert row is not None and "网上申请" in row.group(0)
    assert "网上申请" in mine.get(reverse("case_detail", args=[case.pk])).content.decode()
    assert case.number not in other.get(reverse("case_list")).content.decode()
    assert other.get(reverse("case_detail", args=[case.pk])).status_code == 404


def test_a_desk_case_carries_no_online_mark(world):
    case = register(world.mediator_a, world.town_a)
    client = Client()
    client.force_login(world.mediator_a)
    assert "网上申请" not in client.get(reverse("case_detail", args=[case.pk])).content.decode()


def test_applications_are_throttled_per_address(world, settings):
    settings.PORTAL_APPLY_RATE_PER_IP = "2/hour"
    client = Client()
    for _i in range(2):
        apply(client, township=str(world.town_a.pk))
    response = apply(client, township=str(world.town_a.pk))
    assert response.status_code == 429
    assert Case.objects.count() == 2
    assert AuditEvent.objects.filter(action="portal.apply", new__result="throttled").count() == 1


def test_a_signed_in_staff_user_owing_a_step_still_reaches_the_public_pages(world):
    client = Client()
    client.force_login(world.mediator_a)
    session = client.session
    session["accounts.must_change"] = True
    session["accounts.has_device"] = False
    session.save()
    assert client.get(reverse("portal:apply")).status_code == 200
    assert client.get(reverse("case_list")).status_code == 302  # the gate still guards the rest


def test_the_queue_filters_online_applications(world):
    online, _code = submitted(Client(), township=str(world.town_a.pk))
    desk = register(world.mediator_a, world.town_a)
    client = Client()
    client.force_login(world.mediator_a)
    listed = client.get(reverse("case_list"), {"state": "registered", "online": "on"}).content.decode()
    assert online.number in listed and desk.number not in listed
    everything = client.get(reverse("case_list"), {"state": "registered"}).content.decode()
    assert online.number in everything and desk.number in everything
