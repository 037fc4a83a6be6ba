"""The case list when a count or a search is bounded: what the user is told, and that nothing is hidden
silently (docs/performance.md, "Bounded counts", "Searches gather the matching ids first")."""
from __future__ import annotations

import pytest
from django.urls import reverse

from mediation.models import Case
from mediation.views.common import BoundedPaginator
from tests.factories import register

pytestmark = pytest.mark.django_db


def test_a_count_past_the_cap_says_more_than_and_still_pages_up_to_it(world):
    for _ in range(5):
        register(world.mediator_a, world.town_a)
    pager = BoundedPaginator(Case.objects.order_by("pk"), 2, cap=3)
    assert (pager.count, pager.capped, pager.num_pages) == (3, True, 2)
    exact = BoundedPaginator(Case.objects.order_by("pk"), 2, cap=10)
    assert (exact.count, exact.capped) == (5, False)
    told = BoundedPaginator(Case.objects.order_by("pk"), 2, exact_count=5, cap=3)
    assert (told.count, told.capped) == (5, False)  # an exact count from the tallies is never capped


def test_a_search_broader_than_the_limit_says_so_and_lists_the_limit(world, client, monkeypatch):
    from mediation import selectors
    from mediation.models import Employer

    firm = Employer.objects.create(name="宁波广域检索测试有限公司", credit_code="91330283MA2Z00001X")
    cases = [register(world.mediator_a, world.town_a, employer=firm) for _ in range(3)]
    monkeypatch.setattr(selectors, "SEARCH_LIMIT", 2)
    monkeypatch.setattr("mediation.views.cases.SEARCH_LIMIT", 2)
    client.force_login(world.supervisor_a)
    page = client.get(reverse("case_list"), {"q": "广域检索测试"})
    body = page.content.decode()
    assert "与查询相符的案件超过 2 件" in body
    assert sum(case.number in body for case in cases) == 2
    # A search within the limit lists everything it found and says nothing more.
    monkeypatch.setattr(selectors, "SEARCH_LIMIT", 5)
    monkeypatch.setattr("mediation.views.cases.SEARCH_LIMIT", 5)
    body = client.get(reverse("case_list"), {"q": "广域检索测试"}).content.decode()
    assert "与查询相符的案件超过" not in body
    assert all(case.number in body for case in cases)


def test_the_lists_count_is_the_frames_own_sums_read_once(world, client):
    """Unfiltered and "overdue", the list's 共 N 件 is what the tallies say for the user's reach —
    the same sums the navigation shows — and the page reads the tallies once for both."""
    import datetime

    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from workflows import clocks

    town_a = [register(world.mediator_a, world.town_a) for _ in range(3)]
    register(world.mediator_b, world.town_b)  # another township's: never counted for supervisor_a
    late = town_a[0]
    Case.objects.filter(pk=late.pk).update(acceptance_due=clocks.local_today() - datetime.timedelta(days=2))
    client.force_login(world.supervisor_a)
    with CaptureQueriesContext(connection) as ctx:
        body = client.get(reverse("case_list")).content.decode()
    # By hand: town_a's three cases, of which one is past its acceptance deadline.
    assert "共 3 件" in body
    assert sum("mediation_casetally" in q["sql"] for q in ctx.captured_queries) == 1
    overdue = client.get(reverse("case_list"), {"overdue": "on"}).content.decode()
    assert "共 1 件" in overdue and late.number in overdue
    assert not any(c.number in overdue for c in town_a[1:])
    # Filtered by organisation, the count is the tallies' own for that organisation (a query of its own).
    other = client.get(reverse("case_list"), {"organisation": world.town_a.pk}).content.decode()
    assert "共 3 件" in other


def test_a_whole_case_number_finds_that_case_and_a_piece_of_one_still_searches(world, client):
    first, second = register(world.mediator_a, world.town_a), register(world.mediator_a, world.town_a)
    hidden = register(world.mediator_b, world.town_b)
    client.force_login(world.supervisor_a)
    body = client.get(reverse("case_list"), {"q": first.number}).content.decode()
    assert first.number in body and second.number not in body and "共 1 件" in body
    # A piece of a number (the prefix and the year both share) is still a substring search.
    piece = first.number.split("〕")[0] + "〕"
    body = client.get(reverse("case_list"), {"q": piece}).content.decode()
    assert first.number in body and second.number in body
    # Another township's case is not found by its number: the list's scope still applies.
    body = client.get(reverse("case_list"), {"q": hidden.number}).content.decode()
    assert f'href="{reverse("case_detail", args=[hidden.pk])}"' not in body and "没有符合条件的案件" in body


def test_whether_a_number_exists_beyond_the_users_reach_never_changes_what_a_search_shows(world, client):
    """A township's case whose number contains, whole, another township's case number: searching
    that other number shows the same whether or not the other case exists (nothing tells it exists)."""
    mine = register(world.mediator_a, world.town_a)
    # A number for town_b that is a piece of mine: mine without its first character.
    elsewhere_number = mine.number[1:]
    client.force_login(world.supervisor_a)
    before = client.get(reverse("case_list"), {"q": elsewhere_number}).content.decode()
    assert mine.number in before and "共 1 件" in before
    hidden = register(world.mediator_b, world.town_b)
    Case.objects.filter(pk=hidden.pk).update(number=elsewhere_number)
    after = client.get(reverse("case_list"), {"q": elsewhere_number}).content.decode()
    assert mine.number in after and "共 1 件" in after
    assert f'href="{reverse("case_detail", args=[hidden.pk])}"' not in after


SEARCH_PATHS = pytest.mark.parametrize("chunk,gather", [(1000, 1000), (2, 1000), (1, 2)], ids=[
    "gathered by the indexes at once", "gathered in two steps", "asked among the user's cases"])


@SEARCH_PATHS
def test_the_search_limit_counts_only_the_users_own_cases(world, client, monkeypatch, chunk, gather):
    """Matches beyond the user's reach never take a place in the first SEARCH_LIMIT nor make
    "more were found" appear; the user's own match is listed — whichever way the search goes."""
    from mediation import selectors
    from mediation.models import Employer

    firm = Employer.objects.create(name="宁波限额检索测试有限公司", credit_code="91330283MA2Z00002X")
    for _ in range(3):
        register(world.mediator_a, world.town_a, employer=firm)  # town_a's: beyond mediator_b's reach
    own = register(world.mediator_b, world.town_b, employer=firm)
    monkeypatch.setattr(selectors, "SEARCH_LIMIT", 2)
    monkeypatch.setattr(selectors, "SEARCH_GATHER", gather)
    monkeypatch.setattr(selectors, "SEARCH_CHUNK", chunk)
    monkeypatch.setattr("mediation.views.cases.SEARCH_LIMIT", 2)
    client.force_login(world.mediator_b)
    body = client.get(reverse("case_list"), {"q": "限额检索测试"}).content.decode()
    assert own.number in body and "共 1 件" in body
    assert "与查询相符的案件超过" not in body


@SEARCH_PATHS
def test_more_of_the_users_own_matches_than_the_limit_says_so_and_lists_only_theirs(
        world, client, monkeypatch, chunk, gather):
    """Three of the user's own matches and three beyond their reach, with a limit of two: two of
    their own are listed and "more were found" appears — whichever way the search goes."""
    from mediation import selectors
    from mediation.models import Employer

    firm = Employer.objects.create(name="宁波限额检索测试有限公司", credit_code="91330283MA2Z00002X")
    theirs = [register(world.mediator_a, world.town_a, employer=firm) for _ in range(3)]
    own = [register(world.mediator_b, world.town_b, employer=firm) for _ in range(3)]
    monkeypatch.setattr(selectors, "SEARCH_LIMIT", 2)
    monkeypatch.setattr(selectors, "SEARCH_GATHER", gather)
    monkeypatch.setattr(selectors, "SEARCH_CHUNK", chunk)
    monkeypatch.setattr("mediation.views.cases.SEARCH_LIMIT", 2)
    ids, more = selectors.search_matches("限额检索测试", user=world.mediator_b)
    assert more is True and len(ids) == 2 and set(ids) <= {c.pk for c in own}
    client.force_login(world.mediator_b)
    body = client.get(reverse("case_list"), {"q": "限额检索测试"}).content.decode()
    assert "与查询相符的案件超过" in body and "共 2 件" in body
    assert not any(c.number in body for c in theirs)


def test_a_searchs_count_is_what_it_found_of_the_users_own_and_filters_still_narrow_it(world, client):
    """A search alone: 共 N 件 is the user's own matching cases, told without counting them again;
    with another filter beside it, the cases matching both (counted)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from mediation.models import Employer
    from workflows import services as ws

    firm = Employer.objects.create(name="宁波计数检索测试有限公司", credit_code="91330283MA2Z00002X")
    own = [register(world.mediator_a, world.town_a, employer=firm) for _ in range(3)]
    register(world.mediator_b, world.town_b, employer=firm)  # another township's: never counted for supervisor_a
    ws.case_accept(case_id=own[0].pk, actor=world.mediator_a)
    client.force_login(world.supervisor_a)
    with CaptureQueriesContext(connection) as ctx:
        body = client.get(reverse("case_list"), {"q": "计数检索测试"}).content.decode()
    assert "共 3 件" in body and all(case.number in body for case in own)
    assert not any(q["sql"].startswith("SELECT COUNT(*)") for q in ctx.captured_queries
                   if "mediation_case" in q["sql"])
    registered = client.get(reverse("case_list"), {"q": "计数检索测试", "state": "registered"}).content.decode()
    assert "共 2 件" in registered and own[0].number not in registered


@pytest.mark.parametrize(("sort", "expected"), [
    # By hand from the values below; ties (c1 and c3) go to the later registered case first (-pk).
    ("-received", [3, 1, 2, 0]), ("received", [0, 2, 3, 1]),
    ("amount", [3, 1, 2, 0]), ("-amount", [0, 2, 3, 1]),
    ("due", [2, 0, 3, 1]), ("-due", [1, 3, 0, 2]),
])
def test_what_a_search_found_is_listed_in_the_order_asked_for(world, client, sort, expected):
    import datetime
    from decimal import Decimal

    from mediation.models import Employer

    firm = Employer.objects.create(name="宁波排序检索测试有限公司", credit_code="91330283MA2Z00003X")
    cases = [register(world.mediator_a, world.town_a, employer=firm) for _ in range(4)]
    received = [datetime.datetime(2026, 11, day, 9, tzinfo=datetime.UTC) for day in (1, 3, 2, 3)]
    amounts = [Decimal(n) for n in (3000, 1000, 2000, 1000)]
    due = [datetime.date(2026, 12, day) for day in (5, 10, 1, 7)]
    for case, at, amount, day in zip(cases, received, amounts, due, strict=True):
        Case.objects.filter(pk=case.pk).update(received_at=at, amount_claimed=amount, mediation_due=day)
    client.force_login(world.supervisor_a)
    body = client.get(reverse("case_list"), {"q": "排序检索测试", "sort": sort}).content.decode()
    assert sorted(cases, key=lambda c: body.index(c.number)) == [cases[i] for i in expected]


def test_each_way_of_matching_is_read_no_further_than_the_gathering(world, monkeypatch):
    """On PostgreSQL each way a search matches (employers, numbers, names) carries the gathering's
    limit inside the UNION, so that a text most names hold is read only until enough match
    (docs/performance.md, "Fifteenth pass"); SQLite allows no limit there. What is found is the same."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from mediation import selectors
    from mediation.models import Employer

    firm = Employer.objects.create(name="宁波分路检索测试有限公司", credit_code="91330283MA2Z00003X")
    cases = [register(world.mediator_a, world.town_a, employer=firm) for _ in range(3)]
    monkeypatch.setattr(selectors, "SEARCH_CHUNK", 2)
    with CaptureQueriesContext(connection) as ctx:
        ids, more = selectors.search_matches("分路检索测试", user=world.mediator_a)
    # By hand: the three cases of that employer, all the mediator's own; found in two gatherings.
    assert sorted(ids) == sorted(c.pk for c in cases) and more is False
    gatherings = [q["sql"] for q in ctx.captured_queries if "UNION ALL" in q["sql"]]
    assert [sql.count("UNION ALL") for sql in gatherings] == [2, 2]  # employers, numbers, names
    inside = 3 if connection.vendor == "postgresql" else 0  # each of the three ways, or none
    assert [sql.count("LIMIT 2)") for sql in gatherings] == [inside, 0]
    assert [sql.count(f"LIMIT {selectors.SEARCH_GATHER})") for sql in gatherings] == [0, inside]


def test_an_employers_cases_are_gathered_before_the_names_that_hold_the_text(world):
    """The employers' way is asked first (docs/performance.md, "Sixteenth pass"): gathering three, a
    firm's three cases are what is gathered, not a case whose applicant's name holds the text too;
    gathering more, all four."""
    import dataclasses

    from mediation import selectors
    from mediation.models import Employer
    from mediation.services import PersonInput, case_register
    from tests.factories import registration, valid_id_number

    person = PersonInput(name="先后检索测试", id_number=valid_id_number(), phone="13805740000")
    named = case_register(actor=world.mediator_a,  # registered first: first among the names
                          data=dataclasses.replace(registration(world.town_a), applicants=[person]))
    firm = Employer.objects.create(name="宁波先后检索测试有限公司", credit_code="91330283MA2Z00004X")
    firms = [register(world.mediator_a, world.town_a, employer=firm) for _ in range(3)]
    sources = selectors._search_sources("先后检索测试", user=world.mediator_a)
    assert sorted(selectors._gathered(sources, 3)) == sorted(c.pk for c in firms)
    # By hand: each firm case twice (its employer, its respondent's name), the named case once.
    assert sorted(selectors._gathered(sources, 100)) == sorted([c.pk for c in firms] * 2 + [named.pk])
