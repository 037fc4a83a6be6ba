"""The statistics through the API: the statistics page's figures over the caller's scope, the same
period parameters and checks (DOMAIN.md §9; docs/statistics.md)."""
from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from mediation.reports.statistics import add_months, month_start
from tests.factories import register
from workflows import services as ws
from workflows.clocks import local_today

URL = "/api/v1/statistics/"


@pytest.fixture
def cases(world):
    """This month: at 锦屏街道 one case waiting, one accepted and then terminated, one rejected; at 溪口镇 one."""
    waiting = register(world.mediator_a, world.town_a)
    failed = register(world.mediator_a, world.town_a)
    ws.case_accept(case_id=failed.pk, actor=world.mediator_a)
    ws.case_terminate(case_id=failed.pk, actor=world.mediator_a, reason="双方分歧较大，调解不成")
    rejected = register(world.mediator_a, world.town_a)
    ws.case_reject(case_id=rejected.pk, actor=world.mediator_a, reason="不属于劳动争议受理范围")
    elsewhere = register(world.mediator_b, world.town_b)
    return waiting, failed, rejected, elsewhere


@pytest.mark.parametrize("who", ["supervisor_a", "auditor_a"])
def test_a_township_reader_gets_their_townships_figures(world, cases, api_as, who):
    response = api_as(getattr(world, who), "read").get(URL)
    assert response.status_code == 200, response.content
    body = response.json()
    this_month = month_start(local_today())
    # The last twelve months by default, as the page.
    assert body["last_month"] == f"{this_month:%Y-%m}"
    assert body["first_month"] == f"{add_months(this_month, -11):%Y-%m}"
    totals = body["totals"]
    # By hand: 3 received at 锦屏 (溪口's case is not theirs), 1 accepted, 1 rejected, 1 failed, none settled.
    assert {k: totals["counts"][k] for k in ("received", "accepted", "rejected", "failed", "settled", "referred")} == {
        "received": 3, "accepted": 1, "rejected": 1, "failed": 1, "settled": 0, "referred": 0}
    assert totals["concluded"] == 1 and totals["success_rate"] == 0.0
    # Concluded at line 2 and not referred: grassroots.
    assert totals["grassroots_rate"] == 1.0
    assert totals["amounts"]["agreed"] == "0.00"
    months = {row["key"]: row["figures"]["counts"]["received"] for row in body["by_month"]}
    assert len(months) == 12 and months[f"{this_month:%Y-%m}"] == 3
    lines = {row["key"]: row["figures"]["counts"]["received"] for row in body["by_line"]}
    assert lines == {"1": 0, "2": 3, "3": 0}
    assert world.town_b.pk not in {int(row["key"]) for row in body["by_organisation"]}


def test_the_district_sees_every_township_and_the_page_agrees(world, cases, api_as):
    query = {"first_month": f"{month_start(local_today()):%Y-%m}"}
    body = api_as(world.district_supervisor, "read").get(URL, query).json()
    assert body["totals"]["counts"]["received"] == 4
    web = Client()
    web.force_login(world.district_supervisor)
    stats = web.get(reverse("reports:statistics"), query).context["stats"]
    assert {k: body["totals"]["counts"][k] for k in ("received", "accepted", "failed", "rejected")} == {
        k: stats.totals.values[k] for k in ("received", "accepted", "failed", "rejected")}
    assert len(body["by_month"]) == 1


def test_filters_narrow_the_figures(world, cases, api_as):
    client = api_as(world.district_supervisor, "read")
    assert client.get(URL, {"organisation": world.town_b.pk}).json()["totals"]["counts"]["received"] == 1
    assert client.get(URL, {"line": 2, "channel": "walk_in"}).json()["line"] == 2


@pytest.mark.parametrize("who", ["mediator_a", "mediator_b", "enterprise_mediator"])
def test_mediators_are_refused_as_on_the_page(world, cases, api_as, who):
    response = api_as(getattr(world, who), "read").get(URL)
    assert response.status_code == 403 and response["Content-Type"] == "application/problem+json"


@pytest.mark.parametrize("query, field", [
    ({"first_month": "2026-13"}, "first_month"),
    ({"last_month": "1999-01"}, "last_month"),
    ({"first_month": "2026-06", "last_month": "2026-01"}, None),
    ({"first_month": "2020-01", "last_month": "2026-01"}, None),  # longer than 36 months
    ({"line": "9"}, "line"),
    ({"channel": "fax"}, "channel"),
    ({"category": "nope"}, "category"),
    ({"organisation": "abc"}, "organisation"),
    ({"first_month": "\x00"}, "first_month"),
])
def test_bad_parameters_are_400_never_500(world, cases, api_as, query, field):
    response = api_as(world.supervisor_a, "read", language="en").get(URL, query)
    assert response.status_code == 400, response.content  # query parameters: docs/api.md, "Errors"
    body = response.json()
    assert body["errors"][0]["field"] == field and response["Content-Language"] == "en"


def test_an_organisation_outside_the_scope_is_refused_not_counted(world, cases, api_as):
    response = api_as(world.supervisor_a, "read").get(URL, {"organisation": world.town_b.pk})
    assert response.status_code == 400 and response.json()["errors"][0]["field"] == "organisation"
