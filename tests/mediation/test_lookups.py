"""``any_of`` (``mediation/lookups.py``): the rows whose key is one of the given ids, as ``in`` finds
them; on PostgreSQL with the whole list as one parameter; given as ``Keys``, taken whole."""
from __future__ import annotations

import pytest
from django.db import connection
from django.db.models.sql.query import Query

from mediation.lookups import Keys
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
    assert "= ANY(" in sql and len(params) == 1
    assert params[0].startswith("{" + ",".join(str(case.pk) for case in cases) + ",1000000000,")
    assert _ids(Case.objects.filter(pk__any_of=ids)) == {case.pk for case in cases}
    assert _ids(Case.objects.filter(pk__any_of=Keys(ids))) == {case.pk for case in cases}


def test_keys_find_what_a_list_finds(cases):
    a, b, c, d = (case.pk for case in cases)
    assert _ids(Case.objects.filter(pk__any_of=Keys([a, c, c]))) == {a, c}
    assert _ids(Case.objects.exclude(pk__any_of=Keys([a, c]))) == {b, d}
    assert _ids(Case.objects.filter(pk__any_of=Keys([]))) == set()
    assert _ids(Case.objects.filter(pk__any_of=Keys([d, 2**63, -(2**63) - 1]))) == {d}
    # Not plain ints: prepared by the field, as Django would, its error for what is no number.
    assert _ids(Case.objects.filter(pk__any_of=Keys([str(b), None]))) == {b}
    assert _ids(Case.objects.filter(pk__any_of=[str(b), a])) == {a, b}
    with pytest.raises(ValueError, match="expected a number"):
        Case.objects.filter(pk__any_of=Keys([a, "x"]))
    assert list(Keys([3, 1, 2])) == [3, 1, 2] and Keys([3, 1, 2])[1:] == (1, 2) and len(Keys([1])) == 1
    # Equal when their ids are, as lists are: so are two filters made with them.
    assert Keys([1, 2]) == Keys([1, 2]) != Keys([2, 1]) and hash(Keys([1, 2])) == hash(Keys([1, 2]))
    one, other = (Case.objects.filter(pk__any_of=Keys([a])) for _ in range(2))
    assert one.query.where == other.query.where


def test_keys_are_taken_whole(cases, monkeypatch):
    """Neither looked into one by one by the query builder nor prepared one by one by the field
    (plain ints: the field would give them back unchanged)."""
    looked_into, prepared = [], []
    resolve = Query.resolve_lookup_value
    field = Case._meta.pk
    prepare = field.get_prep_value

    def counting_resolve(self, value, *args, **kwargs):
        looked_into.append(value)
        return resolve(self, value, *args, **kwargs)

    def counting_prepare(value):
        prepared.append(value)
        return prepare(value)

    monkeypatch.setattr(Query, "resolve_lookup_value", counting_resolve)
    monkeypatch.setattr(field, "get_prep_value", counting_prepare)
    ids = [case.pk for case in cases] + list(range(10**9, 10**9 + 500))
    assert _ids(Case.objects.filter(pk__any_of=Keys(ids))) == {case.pk for case in cases}
    assert len(looked_into) < 5 and prepared == []
    looked_into.clear()
    Case.objects.filter(pk__any_of=ids)
    assert len(looked_into) > len(ids)  # a list: Django looks into every value
