"""Later pages of the case list, read in two steps (the page's ids, then its rows:
``BoundedPaginator.ids_first``), show exactly the cases the list's order puts there: newest first,
the later registered first among cases received at the same moment; only the user's own, whatever the
order, filter or page; and never a case twice or a case left out between pages."""
from __future__ import annotations

import datetime
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from mediation import permissions
from mediation.models import Case
from mediation.views.common import BoundedPaginator
from tests.factories import register

pytestmark = pytest.mark.django_db

NOON = timezone.make_aware(datetime.datetime(2026, 11, 2, 12, 0))


def numbers_on(page_html: str) -> list[str]:
    """The case numbers of a list page's rows, in the order shown."""
    return re.findall(r'<td class="c-number"><a class="nowrap" href="/cases/\d+/">([^<]+)</a>', page_html)


@pytest.fixture
def listed(world):
    """Twenty-three cases of the first township, received over eleven days with three pairs received at
    the same moment, two of the second township's, and one of those granted to ``mediator_a`` to read."""
    own = [register(world.mediator_a, world.town_a) for _ in range(23)]
    # Received i hours apart going back, except that the cases at 5/6, 11/12 and 20/21 are pairs.
    hours = [0, 7, 13, 20, 31, 31, 40, 52, 60, 77, 80, 95, 95, 110, 130, 140, 150, 170, 190, 200, 222, 222, 260]
    for case, back in zip(own, hours, strict=True):
        Case.objects.filter(pk=case.pk).update(received_at=NOON - datetime.timedelta(hours=back))
    others = [register(world.mediator_b, world.town_b) for _ in range(2)]
    Case.objects.filter(pk=others[0].pk).update(received_at=NOON - datetime.timedelta(hours=100))
    Case.objects.filter(pk=others[1].pk).update(received_at=NOON - datetime.timedelta(hours=3))
    permissions.grant_case_read(world.mediator_a, others[0])
    # By the rule, newest first, ties by the later registered (the higher id) first:
    by_hand = sorted([*own, others[0]], key=lambda c: (NOON - Case.objects.get(pk=c.pk).received_at, -c.pk))
    return {"own": own, "granted": others[0], "beyond": others[1], "order": [c.number for c in by_hand]}


def test_each_page_shows_the_cases_its_place_in_the_order_gives_it(world, client, listed):
    client.force_login(world.mediator_a)
    shown = []
    for page in (1, 2):
        shown += numbers_on(client.get(reverse("case_list"), {"page": page}).content.decode())
    assert len(listed["order"]) == 24
    assert shown == listed["order"]  # 20 on the first page, 4 on the second: none twice, none left out
    assert listed["beyond"].number not in shown
    # 50 a page: all on one; a page past the end is the last page.
    assert numbers_on(client.get(reverse("case_list"), {"per_page": 50}).content.decode()) == listed["order"]
    assert numbers_on(client.get(reverse("case_list"), {"page": 9}).content.decode()) == listed["order"][20:]


def test_later_pages_in_other_orders_and_filtered_hold_only_the_users_cases(world, client, listed):
    client.force_login(world.mediator_a)
    # By number, the first township's 23 cases (one prefix, so any collation orders them alike): 3 on page 2.
    town_a = str(world.town_a.pk)
    numbers = sorted(case.number for case in listed["own"])
    by_number = {"sort": "number", "organisation": town_a}
    first = numbers_on(client.get(reverse("case_list"), by_number).content.decode())
    second = numbers_on(client.get(reverse("case_list"), {**by_number, "page": 2}).content.decode())
    assert first + second == numbers and len(second) == 3
    # The first township's cases only (the granted case is another township's), newest first.
    page_2 = numbers_on(client.get(reverse("case_list"), {"organisation": town_a, "page": 2}).content.decode())
    assert page_2 == [n for n in listed["order"] if n != listed["granted"].number][20:]
    # Another township's mediator: their own two cases, on the first page; a second page is the first.
    client.force_login(world.mediator_b)
    theirs = numbers_on(client.get(reverse("case_list"), {"page": 2}).content.decode())
    assert sorted(theirs) == sorted([listed["granted"].number, listed["beyond"].number])


def test_a_later_page_reads_the_ids_first_and_the_first_page_in_one_statement(world, listed):
    rows = (Case.objects.filter(organisation=world.town_a).only("number", "state", "received_at")
            .order_by("-received_at", "-pk"))
    expected = [n for n in listed["order"] if n != listed["granted"].number]
    pager = BoundedPaginator(rows, 5, ids_first=True)
    with CaptureQueriesContext(connection) as first:
        page = pager.page(1)
        assert [c.number for c in page.object_list] == expected[:5]
    with CaptureQueriesContext(connection) as later:
        page = pager.page(3)
        assert [c.number for c in page.object_list] == expected[10:15]
    statements = [q["sql"] for q in first.captured_queries if "COUNT" not in q["sql"]]
    assert len(statements) == 1
    ids, read = [q["sql"] for q in later.captured_queries if "COUNT" not in q["sql"]]
    assert re.match(r'SELECT "mediation_case"\."id" AS "pk" FROM "mediation_case" WHERE', ids) and "OFFSET 10" in ids
    assert '"mediation_case"."number"' in read and "OFFSET" not in read
    # Without ids_first, the very same pages.
    plain = BoundedPaginator(rows, 5)
    assert [c.number for n in range(1, 6) for c in plain.page(n).object_list] == expected
    assert [c.number for n in range(1, 6) for c in pager.page(n).object_list] == expected


def test_the_list_as_it_opens_is_read_without_building_its_queryset_and_lands_on_the_page_asked(
        world, client, listed, monkeypatch):
    """The first page of the list as it opens (its usual order and size, no filter but the state) is read by a
    statement written once: the list's own queryset is built only to write it, and for any other page. The
    page asked for by hand lands where the paginator puts it: not a number, the first page; past the end or
    below one, the last."""
    from mediation.views import cases

    built: list[int] = []
    real = cases.case_list_visible_to

    def counted(**kwargs):
        built.append(1)
        return real(**kwargs)

    monkeypatch.setattr(cases, "case_list_visible_to", counted)
    client.force_login(world.mediator_a)
    first, last = listed["order"][:20], listed["order"][20:]
    for query in ({}, {"state": "registered"}):  # the statements written (each filter its own)
        assert numbers_on(client.get(reverse("case_list"), query).content.decode()) == first
    built.clear()
    opening: list[dict[str, object]] = [{}, {"page": 1}, {"page": "x"}, {"state": "registered"},
                                        {"state": "registered", "page": "1"}]
    for asked in opening:
        assert numbers_on(client.get(reverse("case_list"), asked).content.decode()) == first, asked
    assert built == []
    later: list[dict[str, object]] = [{"page": 2}, {"page": 0}, {"page": 9}, {"state": "registered", "page": 2}]
    for asked in later:
        assert numbers_on(client.get(reverse("case_list"), asked).content.decode()) == last, asked
    assert len(built) == 4
    # Sorted otherwise, or 50 a page: the list's own queryset, as always.
    assert numbers_on(client.get(reverse("case_list"), {"per_page": 50}).content.decode()) == listed["order"]
    assert len(built) == 5
