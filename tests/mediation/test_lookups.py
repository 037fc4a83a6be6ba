"""``any_of`` (``mediation/lookups.py``): the rows whose key is one of the given ids, as ``in`` finds
them; on PostgreSQL with the whole list as one parameter."""
from __future__ import annotations

import pytest
from django.db import connection

from mediation.models import Case
from tests.factories import register

pytestmark = pytest.mark.django_db


@pytest.fixture
def cases(world):
    return [register(world.mediator_a, world.town_a) for _ in range(4)]


def _ids(queryset) -> set[int]:
    return set(queryset.values_list("pk", flat=True))


def test_the_given_ids_and_no_others(cases):
    a, b, c, d = (case.pk for case in cases)
    assert _ids(Case.objects.filter(pk__any_of=[a, c, c, None])) == {a, c}
    assert _ids(Case.objects.exclude(pk__any_of=[a, c])) == {b, d}
    assert _ids(Case.objects.filter(pk__any_of=(d,))) == {d}


def test_nothing_given_nothing_found_and_ids_beyond_any_key_never_match(cases):
    a = cases[0].pk
    assert _ids(Case.objects.filter(pk__any_of=[])) == set()
    assert _ids(Case.objects.exclude(pk__any_of=[])) == {case.pk for case in cases}
    assert _ids(Case.objects.filter(pk__any_of=[a, 2**63, -(2**63) - 1, 10**30])) == {a}


@pytest.mark.skipif(connection.vendor != "postgresql", reason="one array parameter on PostgreSQL only")
def test_a_long_list_is_one_parameter(cases):
    ids = [case.pk for case in cases] + list(range(10**9, 10**9 + 2000))
    sql, params = Case.objects.filter(pk__any_of=ids).query.get_compiler("default").as_sql()
    assert "= ANY(" in sql and len(params) == 1 and params[0][:4] == [case.pk for case in cases]
    assert _ids(Case.objects.filter(pk__any_of=ids)) == {case.pk for case in cases}
