"""The case list and the case page through the API: what the web shows the same user, no more."""
from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from mediation.audit.models import AuditEvent
from mediation.models import CaseParty, PartyRole
from tests.factories import reads_logged, register
from tests.lifecycle import accepted


@pytest.fixture
def cases(world):
    """Cases at three places: 锦屏街道 (some accepted), 溪口镇, and the enterprise under 锦屏."""
    made = [register(world.mediator_a, world.town_a) for _ in range(5)]
    made += [accepted(world, world.town_a) for _ in range(3)]
    made += [register(world.mediator_b, world.town_b) for _ in range(4)]
    made += [register(world.enterprise_mediator, world.enterprise_a) for _ in range(2)]
    return made


def _walk(client, query: dict) -> list[int]:
    """Every id the API lists, following the ``next`` links to the end."""
    ids: list[int] = []
    response = client.get("/api/v1/cases/", {**query, "page_size": 3})
    while True:
        assert response.status_code == 200, response.content
        body = response.json()
        ids += [row["id"] for row in body["results"]]
        if not body["next"]:
            return ids
        response = client.get(body["next"])


def _web_list(user, query: dict) -> tuple[list[int], int, bool]:
    client = Client()
    client.force_login(user)
    response = client.get(reverse("case_list"), {**query, "per_page": 100})
    page, form = response.context["page"], response.context["form"]
    return [c.pk for c in page.object_list], page.paginator.count, not form.is_bound or form.is_valid()


@pytest.mark.parametrize("who", ["mediator_a", "supervisor_a", "district_supervisor", "auditor_a", "mediator_b"])
def test_the_list_shows_what_the_web_list_shows(world, cases, api_as, who):
    user = getattr(world, who)
    client = api_as(user, "read")
    applicant = CaseParty.objects.filter(case=cases[6], role=PartyRole.APPLICANT).first()
    assert applicant is not None
    for query in ({}, {"state": "registered"}, {"state": "joint_mediation"}, {"organisation": world.town_a.pk},
                  {"q": cases[1].number}, {"q": applicant.name}, {"received_from": "2020-01-01"}):
        web_ids, web_count, valid = _web_list(user, query)
        if not valid:  # an organisation outside the user's reach: the web ignores it, the API says so
            response = client.get("/api/v1/cases/", query)
            assert response.status_code == 400 and response.json()["errors"][0]["field"] == "organisation"
            continue
        api_ids = _walk(client, query)
        assert api_ids == web_ids, (who, query)
        assert len(api_ids) == web_count, (who, query)


def test_the_scope_by_hand(world, cases, api_as):
    """Who sees how many of the 14 cases (DOMAIN.md §5): a mediator their own organisation's, a
    supervisor the subtree, the district everything."""
    expected = {"mediator_a": 8, "enterprise_mediator": 2, "supervisor_a": 10, "mediator_b": 4,
                "district_supervisor": 14, "auditor_a": 10}
    for who, count in expected.items():
        assert len(_walk(api_as(getattr(world, who), "read"), {})) == count, who


def test_cursor_pages_walk_every_case_once(world, cases, api_as):
    ids = _walk(api_as(world.district_supervisor, "read"), {})
    assert len(ids) == len(set(ids)) == len(cases)
    assert set(ids) == {c.pk for c in cases}


def test_the_page_size_has_a_ceiling(world, cases, api_as):
    client = api_as(world.district_supervisor, "read")
    assert len(client.get("/api/v1/cases/", {"page_size": 2}).json()["results"]) == 2
    assert len(client.get("/api/v1/cases/", {"page_size": 100000}).json()["results"]) == 14
    assert len(client.get("/api/v1/cases/", {"page_size": "abc"}).json()["results"]) == 14  # the default, 20


def test_a_search_goes_on_the_audit_trail_as_on_the_web(world, cases, api_as):
    person = CaseParty.objects.filter(case=cases[0], role=PartyRole.APPLICANT).select_related("person").get().person
    assert person is not None and person.id_number
    before = AuditEvent.objects.filter(action="case.search").count()
    response = api_as(world.mediator_a, "read").get("/api/v1/cases/", {"q": person.id_number})
    assert [row["id"] for row in response.json()["results"]] == [cases[0].pk]
    event = AuditEvent.objects.filter(action="case.search").order_by("-pk").first()
    assert event is not None
    assert AuditEvent.objects.filter(action="case.search").count() == before + 1
    assert event.actor_id == world.mediator_a.pk
    masked = person.id_number[:3] + "*" * 11 + person.id_number[-4:]
    assert event.new == {"query": masked, "id_number": True, "results": 1}


def test_invalid_filters_are_a_400_problem(world, cases, api_as):
    response = api_as(world.mediator_a, "read").get("/api/v1/cases/", {"received_from": "yesterday",
                                                                       "state": "nonsense"})
    assert response.status_code == 400 and response["Content-Type"] == "application/problem+json"
    fields = {e["field"] for e in response.json()["errors"]}
    assert fields == {"received_from", "state"}


def _applicant(case):
    return CaseParty.objects.filter(case=case, role=PartyRole.APPLICANT).select_related("person").get()


def test_a_reader_gets_the_id_number_masked_exactly_as_on_the_web_page(world, cases, api_as):
    case = cases[0]
    party = _applicant(case)
    full = party.person.id_number
    masked = full[:3] + "***********" + full[-4:]  # 330***********1234 (DOMAIN.md §8)
    web = Client()
    web.force_login(world.auditor_a)
    page = web.get(reverse("case_detail", args=[case.pk])).content.decode()
    assert masked in page and full not in page
    response = api_as(world.auditor_a, "read").get(f"/api/v1/cases/{case.pk}/")
    body = response.json()
    row = next(p for p in body["parties"] if p["id"] == party.pk)
    assert row["id_number"] == masked
    assert row["phone"] == "138****0000"
    assert body["personal_data_masked"] is True
    assert full not in response.content.decode() and "13805740000" not in response.content.decode()


def test_those_who_work_the_case_see_personal_data_in_full(world, cases, api_as):
    case = cases[0]
    party = _applicant(case)
    body = api_as(world.mediator_a, "read").get(f"/api/v1/cases/{case.pk}/").json()
    row = next(p for p in body["parties"] if p["id"] == party.pk)
    assert row["id_number"] == party.person.id_number and row["phone"] == "13805740000"
    assert body["personal_data_masked"] is False


def test_an_auditors_read_is_logged_as_on_the_web(world, cases, api_as):
    case = cases[0]
    api_as(world.auditor_a, "read").get(f"/api/v1/cases/{case.pk}/")
    assert reads_logged(case, world.auditor_a, "view") == 1
    assert AuditEvent.objects.filter(action="case.read", case_id=case.pk, actor_id=world.auditor_a.pk).count() == 1
    api_as(world.mediator_a, "read").get(f"/api/v1/cases/{case.pk}/")
    assert reads_logged(case, world.mediator_a) == 0


def test_the_list_reads_as_many_queries_for_3_cases_as_for_14(world, api_as):
    """A list page must not ask the database once per row (docs/performance.md)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def queries() -> int:
        client = api_as(world.district_supervisor, "read")
        client.get("/api/v1/cases/")  # the token's first use notes it (last_used_at): not counted below
        with CaptureQueriesContext(connection) as captured:
            assert client.get("/api/v1/cases/").status_code == 200
        return len(captured)

    for _ in range(3):
        register(world.mediator_a, world.town_a)
    few = queries()
    for _ in range(11):
        register(world.mediator_b, world.town_b)
    assert queries() == few


def test_answers_with_personal_data_are_never_stored_by_caches(world, cases, api_as):
    response = api_as(world.mediator_a, "read").get(f"/api/v1/cases/{cases[0].pk}/")
    assert "no-store" in response["Cache-Control"]


def test_online_applications_are_marked_and_filtered_as_on_the_web(world, cases, api_as):
    online = cases[2]
    online.applied_online, online.channel = True, "online"
    online.save(update_fields=["applied_online", "channel"])
    client = api_as(world.mediator_a, "read")
    assert _walk(client, {"online": "true"}) == [online.pk] == _web_list(world.mediator_a, {"online": "on"})[0]
    rows = {row["id"]: row for row in client.get("/api/v1/cases/", {"page_size": 100}).json()["results"]}
    assert rows[online.pk]["applied_online"] is True and rows[online.pk]["channel"] == "online"
    assert rows[cases[0].pk]["applied_online"] is False
    # 溪口镇's mediator filters the same way and finds none of 锦屏街道's applications.
    assert _walk(api_as(world.mediator_b, "read"), {"online": "true"}) == []
