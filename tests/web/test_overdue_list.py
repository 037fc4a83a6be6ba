"""The overdue list's first page (``views.cases.case_list``): its ids read first (from the index of
running cases by date received, ``case_running_newest``), then its rows — the newest overdue cases of
the user's reach, in the list's order, never a case not yet due, one beyond the reach or one closed;
both inside a transaction and, on PostgreSQL, outside any (the ids' statement prepared)."""
from __future__ import annotations

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from mediation.models import Case
from tests.factories import register
from tests.web.case_list_pages import WAYS, listed, postgres_only
from workflows import clocks


@pytest.mark.parametrize("outside", WAYS)
def test_the_first_page_is_the_newest_overdue_cases_of_the_reach(world, client, outside):
    today = clocks.local_today()
    start = timezone.now() - datetime.timedelta(days=60)
    cases = [register(world.mediator_a, world.town_a) for _ in range(26)]
    # Received one a day, oldest first: case i on day i.
    for i, case in enumerate(cases):
        Case.objects.filter(pk=case.pk).update(received_at=start + datetime.timedelta(days=i))
    # Overdue by hand: the 22 oldest (their acceptance deadline yesterday), but the 5th, closed since
    # (its state no longer runs a clock); the 4 newest are not yet due.
    for case in cases[:22]:
        Case.objects.filter(pk=case.pk).update(acceptance_due=today - datetime.timedelta(days=1))
    for case in cases[22:]:
        Case.objects.filter(pk=case.pk).update(acceptance_due=today + datetime.timedelta(days=3))
    Case.objects.filter(pk=cases[4].pk).update(state="closed")
    # Another township's overdue case, newer than all: beyond supervisor_a's reach.
    other = register(world.mediator_b, world.town_b)
    Case.objects.filter(pk=other.pk).update(received_at=timezone.now(),
                                            acceptance_due=today - datetime.timedelta(days=5))
    client.force_login(world.supervisor_a)
    expected = [c.number for c in reversed(cases[:22]) if c.pk != cases[4].pk][:20]  # 21 overdue: the newest 20
    for _ in range(2):  # the second read from the statement kept
        body = client.get(reverse("case_list"), {"overdue": "on"}).content.decode()
        assert listed(body) == expected
        assert "共 21 件" in body
    second = client.get(reverse("case_list"), {"overdue": "on", "page": 2}).content.decode()
    assert listed(second) == [cases[0].number]
    # The case that falls due tomorrow is not listed until it is late.
    Case.objects.filter(pk=cases[22].pk).update(acceptance_due=today - datetime.timedelta(days=1))
    body = client.get(reverse("case_list"), {"overdue": "on"}).content.decode()
    assert listed(body)[0] == cases[22].number and len(listed(body)) == 20


@postgres_only
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_outside_a_transaction_the_pages_ids_are_one_prepared_statement(world, client):
    case = register(world.mediator_a, world.town_a)
    Case.objects.filter(pk=case.pk).update(acceptance_due=clocks.local_today() - datetime.timedelta(days=1))
    client.force_login(world.supervisor_a)
    client.get(reverse("case_list"), {"overdue": "on"})
    with CaptureQueriesContext(connection) as ctx:
        body = client.get(reverse("case_list"), {"overdue": "on"}).content.decode()
    assert listed(body) == [case.number]
    texts = [q["sql"] for q in ctx.captured_queries]
    # The rows by their ids, as Django writes them, and no statement of Django's for the ids.
    assert sum(f"IN ({case.pk})" in sql and sql.startswith("SELECT") for sql in texts) == 1, texts
    assert not any(sql.startswith('SELECT "mediation_case"."id" AS') or
                   sql.startswith('SELECT "mediation_case"."id" FROM') for sql in texts), texts
