"""Intake of several respondents and of a collective dispute's representatives, through the web form.

劳动争议调解仲裁法 art. 22: in labour dispatch the dispatch agency (劳务派遣单位) and the host
employer (用工单位) are joint parties. Art. 7: ten or more workers with a common claim may
elect representatives. Errors are shown inline in Chinese and nothing is saved.
"""
from __future__ import annotations

from django.urls import reverse

from mediation.models import Case, CaseParty, Employer
from tests.factories import valid_credit_code
from tests.web.test_flows import intake_post

HOST = "宁波锦屏汽车零部件有限公司"


def respondent_rows(*rows: dict[str, str]) -> dict[str, str]:
    data = {"respondents-TOTAL_FORMS": str(len(rows)), "respondents-INITIAL_FORMS": "0",
            "respondents-MIN_NUM_FORMS": "0", "respondents-MAX_NUM_FORMS": "1000"}
    for i, row in enumerate(rows):
        data.update({f"respondents-{i}-{key}": value for key, value in
                     {"name": "", "credit_code": "", "legal_representative": "", "address": "",
                      "capacity": "jointly_liable", **row}.items()})
    return data


def representatives(*marked: int) -> dict[str, str]:
    return {f"applicants-{i}-is_representative": "on" for i in marked}


def test_the_intake_page_offers_capacities_further_respondents_workers_and_representatives(world, client):
    client.force_login(world.mediator_a)
    body = client.get(reverse("case_intake")).content.decode()
    for text in ("责任身份", "劳务派遣单位", "用工单位", "其他被申请人", 'id="respondents-empty"',
                 'data-add-row="respondents"', "涉及劳动者人数", "推举的代表"):
        assert text in body, text


def test_a_dispatch_case_is_registered_with_the_agency_and_the_host_employer(world, client):
    """Art. 22: the agency and the host employer are both respondents, each in its capacity."""
    client.force_login(world.mediator_a)
    data = intake_post(world, employer_name="宁波众诚人力资源服务有限公司", employer_capacity="dispatch_agency",
                       **respondent_rows({"name": HOST, "credit_code": valid_credit_code(),
                                          "capacity": "host_employer"}))
    response = client.post(reverse("case_intake"), data)
    case = Case.objects.get()
    assert response.status_code == 302
    respondents = [(p.name, p.capacity) for p in case.parties.filter(role="respondent").order_by("position")]
    assert respondents == [("宁波众诚人力资源服务有限公司", "dispatch_agency"), (HOST, "host_employer")]
    assert case.employer.name == "宁波众诚人力资源服务有限公司"
    page = client.get(reverse("case_detail", args=[case.pk])).content.decode()
    assert "劳务派遣单位" in page and "用工单位" in page and HOST in page


def test_a_dispatch_agency_without_the_host_employer_is_refused_inline(world, client):
    """Art. 22: one of the joint parties alone is refused, with the reason, and nothing is written."""
    client.force_login(world.mediator_a)
    response = client.post(reverse("case_intake"), intake_post(world, employer_capacity="dispatch_agency",
                                                               **respondent_rows()))
    assert response.status_code == 400
    body = response.content.decode()
    assert "劳务派遣单位和用工单位为共同当事人" in body and "案件尚未保存" in body
    assert not Case.objects.exists() and not Employer.objects.filter(name="宁波甬兴电器有限公司").exists()


def test_the_same_firm_twice_is_refused_on_its_row(world, client):
    client.force_login(world.mediator_a)
    code = valid_credit_code()
    data = intake_post(world, employer_credit_code=code,
                       **respondent_rows({"name": "宁波甬兴电器有限公司", "credit_code": code}))
    response = client.post(reverse("case_intake"), data)
    assert response.status_code == 400 and "同一单位不能重复列为被申请人" in response.content.decode()
    assert not Case.objects.exists()


def test_three_representatives_for_thirty_workers_register_a_collective_case(world, client):
    """Art. 7: 30 workers with a common claim elect 3 representatives; the case is collective by the 30."""
    client.force_login(world.mediator_a)
    data = intake_post(world, workers_involved="30", **{
        "applicants-TOTAL_FORMS": "3", "applicants-2-name": "周海波", "applicants-2-sex": "M",
        "applicants-2-id_number": "", "applicants-2-phone": "", "applicants-2-address": "",
        **representatives(0, 1, 2)})
    response = client.post(reverse("case_intake"), data)
    assert response.status_code == 302
    case = Case.objects.get()
    assert (case.applicant_count, case.workers_involved, case.is_collective) == (3, 30, True)
    assert set(CaseParty.objects.filter(case=case, is_representative=True).values_list("name", flat=True)) == {
        "王建军", "李秀英", "周海波"}
    page = client.get(reverse("case_detail", args=[case.pk])).content.decode()
    assert "代表" in page and "30" in page and "集体争议" in page


def test_representatives_of_two_workers_are_refused_inline(world, client):
    """Art. 7: representatives are for ten or more workers; two workers take part themselves."""
    client.force_login(world.mediator_a)
    response = client.post(reverse("case_intake"), intake_post(world, **representatives(0)))
    assert response.status_code == 400
    assert "才可以推举代表参加调解" in response.content.decode()
    assert not Case.objects.exists()


def test_fewer_workers_than_listed_applicants_is_refused_inline(world, client):
    client.force_login(world.mediator_a)
    response = client.post(reverse("case_intake"), intake_post(world, workers_involved="1"))
    assert response.status_code == 400
    assert "涉及劳动者人数不能少于所列申请人数（2人）" in response.content.decode()
    assert not Case.objects.exists()


def test_without_a_number_the_workers_involved_are_the_listed_applicants(world, client):
    client.force_login(world.mediator_a)
    client.post(reverse("case_intake"), intake_post(world))
    case = Case.objects.get()
    assert (case.applicant_count, case.workers_involved, case.is_collective) == (2, 2, False)


def test_an_enterprise_committee_is_refused_a_dispute_of_another_enterprise(world, client):
    """DOMAIN.md §4: an enterprise committee mediates its own enterprise's disputes only."""
    client.force_login(world.enterprise_mediator)
    response = client.post(reverse("case_intake"), intake_post(world, organisation=world.enterprise_a.pk))
    assert response.status_code == 400
    assert "本调解委员会只受理本企业（或所服务企业）的劳动争议" in response.content.decode()
    assert not Case.objects.exists()
