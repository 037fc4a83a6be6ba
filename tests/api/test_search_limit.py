"""The API case list says when a search was cut at the limit, as the web list says "more were found"
(``selectors.search_matches``; docs/api.md)."""
from __future__ import annotations

import pytest

from mediation import selectors
from mediation.models import Employer
from tests.factories import register

URL = "/api/v1/cases/"


@pytest.fixture
def firm_cases(world):
    firm = Employer.objects.create(name="宁波接口检索测试有限公司", credit_code="91330283MA2Z00003X")
    own = [register(world.mediator_a, world.town_a, employer=firm) for _ in range(3)]
    beyond = register(world.mediator_b, world.town_b, employer=firm)
    return own, beyond


def limit(monkeypatch, n: int) -> None:
    monkeypatch.setattr(selectors, "SEARCH_LIMIT", n)
    monkeypatch.setattr("api.views.SEARCH_LIMIT", n)


def test_a_search_past_the_limit_says_so_and_lists_the_limit(world, firm_cases, api_as, monkeypatch):
    limit(monkeypatch, 2)
    response = api_as(world.mediator_a, "read").get(URL, {"q": "接口检索测试"})
    assert response.status_code == 200
    assert (response["Search-Limit"], response["Search-More-Found"]) == ("2", "true")
    assert len(response.json()["results"]) == 2


def test_a_search_within_the_limit_says_nothing_more_was_found(world, firm_cases, api_as, monkeypatch):
    own, _beyond = firm_cases
    limit(monkeypatch, 3)  # exactly the caller's own three: 溪口镇's fourth match is not theirs to count
    response = api_as(world.mediator_a, "read").get(URL, {"q": "接口检索测试"})
    assert (response["Search-Limit"], response["Search-More-Found"]) == ("3", "false")
    assert {row["id"] for row in response.json()["results"]} == {c.pk for c in own}


def test_matches_beyond_reach_never_make_more_appear(world, firm_cases, api_as, monkeypatch):
    _own, beyond = firm_cases
    limit(monkeypatch, 2)
    response = api_as(world.mediator_b, "read").get(URL, {"q": "接口检索测试"})
    assert response["Search-More-Found"] == "false"
    assert [row["id"] for row in response.json()["results"]] == [beyond.pk]


def test_a_list_without_a_search_has_no_search_headers(world, firm_cases, api_as):
    response = api_as(world.mediator_a, "read").get(URL)
    assert response.status_code == 200 and "Search-More-Found" not in response and "Search-Limit" not in response
