"""The intake form, tried by a mediator of another township (溪口) against a worker 锦屏 already holds.

Nothing 锦屏 recorded may reach 溪口: not the case (number, state, link), not the phone or
home address 锦屏 took down, not even the fact that the ID number is on file there.
"""
from __future__ import annotations

import uuid

import pytest
from django.urls import reverse

from mediation.documents import services as documents
from mediation.models import Case, CaseParty
from tests.documents.pdfcheck import squeezed
from tests.factories import valid_credit_code, valid_id_number
from tests.web.test_flows import intake_post

WORKER_ID = valid_id_number()
EMPLOYER_CODE = valid_credit_code()
PHONE_AT_JINPING = "13957400123"
ADDRESS_AT_JINPING = "奉化区锦屏街道南山路88弄6号"


def _one_worker(world, **overrides):
    """The intake form for one worker (王建军) against 宁波甬兴电器 at 锦屏, as ``intake_post`` fills it."""
    data = intake_post(world, **{
        "employer_credit_code": EMPLOYER_CODE, "applicants-TOTAL_FORMS": "1",
        "applicants-0-id_number": WORKER_ID, "applicants-0-phone": PHONE_AT_JINPING,
        "applicants-0-address": ADDRESS_AT_JINPING})
    for key in [k for k in data if k.startswith("applicants-1-")]:
        del data[key]
    data.update(overrides)
    return data


@pytest.fixture
def held_at_jinping(world, client) -> Case:
    client.force_login(world.mediator_a)
    response = client.post(reverse("case_intake"), _one_worker(world))
    assert response.status_code == 302
    client.logout()
    return Case.objects.get()


def _at_xikou(world, **overrides):
    return _one_worker(world, **{"organisation": world.town_b.pk, "intake_token": str(uuid.uuid4()), **overrides})


def test_the_duplicate_warning_names_no_case_of_another_township(world, client, held_at_jinping):
    client.force_login(world.mediator_b)
    response = client.post(reverse("case_intake"), _at_xikou(world))
    page = response.content.decode()
    assert held_at_jinping.number not in page
    assert reverse("case_detail", args=[held_at_jinping.pk]) not in page
    assert "已有未结案件" not in page
    # No warning to confirm: 溪口's own case is registered at once.
    assert response.status_code == 302
    assert Case.objects.filter(organisation=world.town_b).count() == 1


def test_the_duplicate_warning_still_names_a_case_of_ones_own_township(world, client, held_at_jinping):
    client.force_login(world.mediator_a2)
    again = _one_worker(world, intake_token=str(uuid.uuid4()))
    page = client.post(reverse("case_intake"), again).content.decode()
    assert "已有未结案件" in page and held_at_jinping.number in page


def test_a_worker_registered_again_elsewhere_shows_only_what_that_office_took_down(world, client, held_at_jinping):
    client.force_login(world.mediator_b)
    response = client.post(reverse("case_intake"), _at_xikou(
        world, **{"applicants-0-phone": "", "applicants-0-address": ""}))
    assert response.status_code == 302
    mine = Case.objects.get(organisation=world.town_b)
    page = client.get(reverse("case_detail", args=[mine.pk])).content.decode()
    assert WORKER_ID in page  # 溪口's mediator sees the number they typed in full
    assert PHONE_AT_JINPING not in page and ADDRESS_AT_JINPING not in page
    application = documents.document_issue(case_id=mine.pk, kind="application_record", actor=world.mediator_b)
    stored = documents.registry.stored_bytes(application)
    assert stored is not None
    text = squeezed(stored)
    assert "王建军" in text
    assert PHONE_AT_JINPING not in text and ADDRESS_AT_JINPING.replace(" ", "") not in text
    # 锦屏's case keeps what 锦屏 took down.
    jinping_party = CaseParty.objects.get(case=held_at_jinping, person__isnull=False)
    assert (jinping_party.phone, jinping_party.address) == (PHONE_AT_JINPING, ADDRESS_AT_JINPING)


def test_an_id_number_on_file_elsewhere_under_another_name_is_not_confirmed(world, client, held_at_jinping):
    client.force_login(world.mediator_b)
    response = client.post(reverse("case_intake"), _at_xikou(world, **{"applicants-0-name": "王建君"}))
    assert "另一姓名" not in response.content.decode()
    assert response.status_code == 302
    party = CaseParty.objects.get(case__organisation=world.town_b, person__isnull=False)
    assert party.name == "王建君"  # the case keeps the name given there


def test_an_id_number_under_another_name_is_refused_where_the_record_is_in_sight(world, client, held_at_jinping):
    client.force_login(world.mediator_a2)
    # Another employer, so that no duplicate warning comes first.
    again = _one_worker(world, intake_token=str(uuid.uuid4()), employer_credit_code=valid_credit_code(),
                        employer_name="宁波甬兴模具有限公司", **{"applicants-0-name": "王建君"})
    response = client.post(reverse("case_intake"), again)
    assert response.status_code == 400
    assert "该身份证号码已登记在另一姓名下" in response.content.decode()
    assert Case.objects.count() == 1


def test_replaying_another_offices_intake_token_reveals_nothing(world, client, held_at_jinping):
    client.force_login(world.mediator_b)
    replay = _at_xikou(world, intake_token=str(held_at_jinping.intake_token))
    response = client.post(reverse("case_intake"), replay, follow=True)
    page = response.content.decode()
    assert held_at_jinping.number not in page
    assert response.status_code == 400
    assert Case.objects.count() == 1


def test_a_firm_registered_again_elsewhere_shows_only_what_that_office_took_down(world, client, held_at_jinping):
    """The same rule for a respondent: 溪口 names 宁波甬兴电器 by the credit code 锦屏 also used, with
    its own name, legal representative and address; 溪口's case, page and documents carry those,
    never 锦屏's (陈建国, 奉化区锦屏街道), and 锦屏's case keeps what 锦屏 took down."""
    client.force_login(world.mediator_b)
    response = client.post(reverse("case_intake"), _at_xikou(world, **{
        "employer_name": "甬兴电器（溪口车间）", "employer_legal_representative": "",
        "employer_address": "奉化区溪口镇武岭路1号", "applicants-0-phone": "", "applicants-0-address": ""}))
    assert response.status_code == 302
    mine = Case.objects.get(organisation=world.town_b)
    respondent = CaseParty.objects.get(case=mine, role="respondent")
    assert (respondent.name, respondent.legal_representative, respondent.address) == (
        "甬兴电器（溪口车间）", "", "奉化区溪口镇武岭路1号")
    page = client.get(reverse("case_detail", args=[mine.pk])).content.decode()
    assert "甬兴电器（溪口车间）" in page and "陈建国" not in page
    application = documents.document_issue(case_id=mine.pk, kind="application_record", actor=world.mediator_b)
    stored = documents.registry.stored_bytes(application)
    assert stored is not None
    text = squeezed(stored)
    assert "甬兴电器（溪口车间）" in text and "陈建国" not in text and "奉化区锦屏街道" not in text
    theirs = CaseParty.objects.get(case=held_at_jinping, role="respondent")
    assert (theirs.name, theirs.legal_representative) == ("宁波甬兴电器有限公司", "陈建国")
