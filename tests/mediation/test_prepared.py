"""Statements written once per process (``mediation/prepared.py``): read afresh, written once.

What the rows must be comes from the database (the cases made here), never from the module:
a prepared read gives exactly what reading the queryset gives, with its relations, annotations and
prefetched rows, and sees every change made since its statement was written.
"""
from __future__ import annotations

import dataclasses
import re
from decimal import Decimal

import pytest
from django.db import connection
from django.db.models import F
from django.test.utils import CaptureQueriesContext

from mediation import permissions, prepared
from mediation.models import Case
from mediation.selectors import case_cards, case_list_rows
from tests.factories import register

pytestmark = pytest.mark.django_db


class Builds:
    """A ``build`` that counts how often it was asked to build."""

    def __init__(self, make):
        self.make, self.calls = make, 0

    def __call__(self, *values):
        self.calls += 1
        return self.make(*values)


def test_rows_are_read_afresh_and_the_statement_written_once(world):
    first = register(world.mediator_a, world.town_a)
    build = Builds(lambda: case_cards(Case.objects.filter(organisation=world.town_a)).order_by("pk"))
    assert [c.number for c in prepared.rows(world.mediator_a, ("t",), build)] == [first.number]
    second = register(world.mediator_a, world.town_a)
    register(world.mediator_b, world.town_b)  # elsewhere: not among them
    assert [c.number for c in prepared.rows(world.mediator_a, ("t",), build)] == [first.number, second.number]
    assert build.calls == 1


def test_related_rows_and_annotations_as_the_queryset_gives_them(world):
    case = register(world.mediator_a, world.town_a)
    cards = prepared.rows(world.mediator_a, ("cards",), lambda: case_cards(Case.objects.filter(pk=case.pk))
                          .annotate(since=F("received_at")))
    with CaptureQueriesContext(connection) as read:
        assert cards[0].organisation.name == world.town_a.name  # selected with the case: no statement
        assert cards[0].employer.name == case.employer.name
        assert cards[0].since == case.received_at
    assert len(read.captured_queries) == 0
    values = prepared.rows(world.mediator_a, ("values",), lambda: Case.objects.filter(pk=case.pk)
                           .values_list("number", "organisation__name"))
    assert values == [(case.number, world.town_a.name)]


def test_the_columns_converters_are_found_once_and_every_read_converts_its_own_values(world, monkeypatch):
    """Amounts, moments and yes/no come back as the model's types on every read (SQLite hands out text
    and integers for them), with the values each read finds; the converters are found on the first."""
    from django.db.models.sql.compiler import SQLCompiler

    found: list[int] = []
    real = SQLCompiler.get_converters
    def counted(self, expressions):
        found.append(1)
        return real(self, expressions)

    monkeypatch.setattr(SQLCompiler, "get_converters", counted)
    case = register(world.mediator_a, world.town_a)
    columns = ("amount_claimed", "received_at", "is_collective", "deadlines_confirmed")

    def read():
        return prepared.rows_of_anyone(("converted",), lambda pk: Case.objects.filter(pk=pk).values_list(*columns),
                                       (case.pk,))

    assert read() == [tuple(getattr(case, name) for name in columns)]
    first = len(found)
    Case.objects.filter(pk=case.pk).update(amount_claimed="1234.50", is_collective=True)
    for _ in range(3):
        (row,) = read()
        assert row[0] == Decimal("1234.50") and isinstance(row[0], Decimal)
        assert row[1] == case.received_at and row[1].tzinfo is not None
        assert row[2] is True
    assert len(found) == first


def test_a_filter_that_matches_nothing_reads_nothing(world):
    prepared.reach_key(world.mediator_a)  # the user's grants, read once per user object
    with CaptureQueriesContext(connection) as read:
        assert prepared.rows(world.mediator_a, ("none",), Case.objects.none) == []
        assert prepared.rows(world.mediator_a, ("none",), Case.objects.none) == []
    assert len(read.captured_queries) == 0


def test_each_user_and_key_has_its_own_statement(world):
    a = register(world.mediator_a, world.town_a)
    b = register(world.mediator_b, world.town_b)

    def mine(user):
        return lambda: Case.objects.filter(created_by=user).values_list("number", flat=True)

    assert prepared.rows(world.mediator_a, ("mine",), mine(world.mediator_a)) == [a.number]
    assert prepared.rows(world.mediator_b, ("mine",), mine(world.mediator_b)) == [b.number]
    assert prepared.rows(world.mediator_a, ("mine", 2), mine(world.mediator_b)) == [b.number]


def test_written_again_for_a_database_of_another_dialect(world):
    build = Builds(lambda: Case.objects.values_list("pk", flat=True))
    prepared.rows(world.mediator_a, ("d",), build)
    (key,) = prepared._QUERYSETS
    found = prepared._QUERYSETS.get(key)
    prepared._QUERYSETS.put(key, (found[0], dataclasses.replace(found[1], vendor="another")))
    prepared.rows(world.mediator_a, ("d",), build)
    assert build.calls == 2


def test_a_store_keeps_the_entries_used_last():
    store: prepared.Store[str] = prepared.Store(3)
    for key in "abc":
        store.put(key, key.upper())
    assert store.get("a") == "A"  # used again: now the newest
    store.put("d", "D")
    assert list(store) == ["c", "a", "d"] and store.get("b") is None and len(store) == 3


def test_the_stores_are_bounded():
    assert prepared._QUERYSETS.size <= 256 and prepared._STATEMENTS.size <= 1024


def test_an_object_in_a_key_is_the_very_same_object():
    annotations = {"n": 1}
    assert prepared.Same(annotations) == prepared.Same(annotations)
    assert prepared.Same(annotations) != prepared.Same({"n": 1})
    assert hash(prepared.Same(annotations)) == hash(prepared.Same(annotations))


def test_what_it_gives_is_a_list_that_cannot_be_narrowed(world):
    rows = prepared.rows(world.mediator_a, ("l",), lambda: Case.objects.all())
    assert type(rows) is list


def test_a_value_of_its_own_is_bound_on_each_read_to_one_written_statement(world):
    a = register(world.mediator_a, world.town_a)
    b = register(world.mediator_a, world.town_a)
    beyond = register(world.mediator_b, world.town_b)
    build = Builds(lambda pk: Case.objects.filter(pk=pk, organisation=world.town_a).values_list("number", flat=True))

    def read(pk):
        return prepared.rows(world.mediator_a, ("one",), build, values=(pk,))

    assert (read(a.pk), read(b.pk), read(beyond.pk), read(a.pk)) == ([a.number], [b.number], [], [a.number])
    assert build.calls == 2  # written once, with each set of stand-ins


def test_a_value_beyond_every_column_finds_nothing_and_raises_nothing(world):
    register(world.mediator_a, world.town_a)
    for pk in (2**63, -(2**63) - 1, 10**30):
        assert prepared.rows(world.mediator_a, ("huge",), lambda pk: Case.objects.filter(pk=pk), values=(pk,)) == []


@pytest.mark.parametrize("how", ["slice", "text"])
def test_a_value_that_is_not_a_parameter_of_its_own_is_never_kept(world, how):
    """Written into the statement itself (a slice's bounds are; so is raw SQL's text), a value cannot
    be bound afresh: the queryset is then built and read for every call, and gives the right rows."""
    from django.db.models.expressions import RawSQL

    cases = [register(world.mediator_a, world.town_a) for _ in range(3)]
    numbers = Case.objects.order_by("pk").values_list("number", flat=True)
    build = Builds((lambda n: numbers[:n]) if how == "slice" else
                   (lambda n: numbers.annotate(n=RawSQL(str(n), ())).filter(pk__lte=cases[0].pk - 1 + F("n"))))
    for n in (1, 3, 2):
        assert prepared.rows(world.mediator_a, ("first",), build, values=(n,)) == [c.number for c in cases[:n]]
    # Tried once (a slice refuses the first stand-in; raw text takes both, and differs), then read as Django reads.
    assert build.calls == (1 if how == "slice" else 2) + 3
    assert [prepared._QUERYSETS.get(key) for key in prepared._QUERYSETS] == [None]


def test_a_value_changed_on_its_way_is_never_kept(world):
    """``pk + 2`` is a parameter of its own, but not the value given: the statement is read as
    Django reads it, and finds what the value asks for."""
    cases = [register(world.mediator_a, world.town_a) for _ in range(4)]
    build = Builds(lambda pk: Case.objects.filter(pk__gte=pk, pk__lt=pk + 2).order_by("pk")
                   .values_list("number", flat=True))
    for case in cases[:3]:
        first = cases.index(case)
        assert prepared.rows(world.mediator_a, ("next two",), build, values=(case.pk,)) == [
            c.number for c in cases[first:first + 2]]
    assert [prepared._QUERYSETS.get(key) for key in prepared._QUERYSETS] == [None]


def test_an_integer_the_database_adapter_wraps_is_bound_as_wrapped(world):
    """PostgreSQL's adapter hands integers of a plain integer column over wrapped (``Int8``): the
    value is bound the same way, and the statement still written once."""
    from mediation.models import CaseTally

    for _ in range(3):
        register(world.mediator_a, world.town_a)
    counts = sorted(CaseTally.objects.values_list("n", flat=True))
    build = Builds(lambda n: CaseTally.objects.filter(n__gte=n).order_by("n").values_list("n", flat=True))
    for n in sorted(set(counts)) + [max(counts) + 1]:
        assert prepared.rows(world.mediator_a, ("at least",), build, values=(n,)) == [c for c in counts if c >= n]
    assert build.calls == 2


def test_a_queryset_that_prefetches_is_refused(world):
    with pytest.raises(TypeError):
        prepared.rows(world.mediator_a, ("rows",),
                      lambda: case_list_rows(Case.objects.all()).prefetch_related("parties"))


def test_a_statement_of_anyone_is_written_once_for_every_reader_and_bound_to_each_value(world):
    """``rows_of_anyone``: who asks is no part of it (the caller decided the reading already): one
    statement for the key, whoever reads, each read bound to its own value; never shared with
    ``rows``' statements of the same key."""
    a, b = register(world.mediator_a, world.town_a), register(world.mediator_b, world.town_b)
    build = Builds(lambda pk: Case.objects.filter(pk=pk).values_list("number", flat=True))

    assert prepared.rows_of_anyone(("anyone",), build, (a.pk,)) == [a.number]
    assert prepared.rows_of_anyone(("anyone",), build, (b.pk,)) == [b.number]
    assert build.calls == 2  # written once, with each set of stand-ins
    assert prepared.rows(world.mediator_a, ("anyone",), build, values=(a.pk,)) == [a.number]
    assert build.calls == 4 and len(prepared._QUERYSETS) == 2
    assert prepared.rows_of_anyone(("anyone",), build, (2**63,)) == []  # beyond every column: nothing


# --- planned once per connection (PostgreSQL) -------------------------------------------------

postgres_only = pytest.mark.skipif(connection.vendor != "postgresql", reason="PREPARE is PostgreSQL's")


def _ours() -> set[str]:
    """The statements this session holds prepared by ``prepared.on_server``."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT name FROM pg_prepared_statements WHERE name LIKE 'mediation\\_%'")
        return {name for (name,) in cursor.fetchall()}


def _sent(ctx: CaptureQueriesContext) -> list[str]:
    """Each statement sent, up to its text: the one prepared (after those deallocated with it), or executed."""
    return [q["sql"].split("; ")[-1].split(" AS ")[0] for q in ctx.captured_queries]


@postgres_only
def test_a_statement_is_prepared_once_per_session_and_read_afresh(world):
    """The first read prepares it (one statement more), every later one only executes it, and each
    sees what was committed since: the plan is kept, never the rows."""
    first = register(world.mediator_a, world.town_a)
    build = Builds(lambda: case_cards(Case.objects.filter(organisation=world.town_a)).order_by("pk"))
    with CaptureQueriesContext(connection) as ctx:
        assert [c.number for c in prepared.rows(world.mediator_a, ("plan",), build)] == [first.number]
    prepare, execute = _sent(ctx)
    assert prepare.startswith("PREPARE mediation_") and execute == "EXECUTE " + prepare.split()[1]
    second = register(world.mediator_a, world.town_a)
    with CaptureQueriesContext(connection) as ctx:
        cards = prepared.rows(world.mediator_a, ("plan",), build)
    assert _sent(ctx) == [execute]
    assert [c.number for c in cards] == [first.number, second.number]
    assert cards[1].organisation.name == world.town_a.name and cards[1].employer.name == second.employer.name
    assert prepare.split()[1] in _ours()


@postgres_only
def test_a_statement_of_ones_own_is_prepared_with_its_values_written_in(world):
    """``fetchall``: the values are part of what is prepared (no parameter is left for the plan to
    guess); two statements differing only in a value are two prepared statements."""
    register(world.mediator_a, world.town_a)
    sql = "SELECT count(*) FROM mediation_case WHERE organisation_id = %s"
    with CaptureQueriesContext(connection) as ctx:
        assert prepared.fetchall("default", (sql, (world.town_a.pk,))) == [(1,)]
        assert prepared.fetchall("default", (sql, (world.town_b.pk,))) == [(0,)]
        assert prepared.fetchall("default", (sql, (world.town_a.pk,))) == [(1,)]
    sent = [q["sql"] for q in ctx.captured_queries]
    assert sent[0].endswith(f"AS SELECT count(*) FROM mediation_case WHERE organisation_id = {world.town_a.pk}")
    assert len(sent) == 5 and sent[1] == sent[4] != sent[3]  # prepare, execute, prepare, execute, execute


@postgres_only
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_new_session_prepares_again(world):
    """A session's prepared statements end with it: after the connection is replaced (a lost one,
    or one older than DB_CONN_MAX_AGE), the next read prepares again instead of failing."""
    case = register(world.mediator_a, world.town_a)
    sql = "SELECT number FROM mediation_case WHERE id = %s"
    assert prepared.fetchall("default", (sql, (case.pk,))) == [(case.number,)]
    connection.close()
    connection.ensure_connection()
    with CaptureQueriesContext(connection) as ctx:
        assert prepared.fetchall("default", (sql, (case.pk,))) == [(case.number,)]
    assert _sent(ctx)[0].startswith("PREPARE mediation_")


@postgres_only
def test_a_rolled_back_transaction_keeps_the_sessions_statements(world):
    """PostgreSQL keeps a prepared statement for the session whatever the transaction that prepared
    it becomes: executed again after a rollback, it is not prepared twice."""
    from django.db import transaction

    sql = "SELECT %s::int + 1"
    with pytest.raises(RuntimeError), transaction.atomic():
        assert prepared.fetchall("default", (sql, (41,))) == [(42,)]
        raise RuntimeError
    with CaptureQueriesContext(connection) as ctx:
        assert prepared.fetchall("default", (sql, (41,))) == [(42,)]
    assert _sent(ctx)[0].startswith("EXECUTE mediation_")


@postgres_only
def test_each_session_keeps_the_statements_sent_last(world, monkeypatch, settings):
    """At most ``DB_PREPARED_STATEMENTS`` (two here): a third deallocates the one sent longest ago, in
    the same round trip as it is prepared; the one sent again meanwhile stays."""
    settings.DB_PREPARED_STATEMENTS = 2
    monkeypatch.setattr(connection, "_mediation_prepared", None, raising=False)  # a fresh start
    sql = "SELECT %s::int"
    before = _ours()
    with CaptureQueriesContext(connection) as ctx:
        prepared.fetchall("default", (sql, (1,)))
        prepared.fetchall("default", (sql, (2,)))
    one, two = (q["sql"].split()[1] for q in ctx.captured_queries if q["sql"].startswith("PREPARE"))
    prepared.fetchall("default", (sql, (1,)))  # sent again: now the newer of the two
    with CaptureQueriesContext(connection) as ctx:
        assert prepared.fetchall("default", (sql, (3,))) == [(3,)]
    assert ctx.captured_queries[0]["sql"].startswith(f"DEALLOCATE {two}; PREPARE mediation_")
    held = _ours() - before
    assert one in held and two not in held and len(held) == 2


@postgres_only
def test_turned_off_the_statement_is_sent_as_it_is(world, settings):
    """``DB_PREPARED_STATEMENTS`` off (behind a pooler in transaction mode): nothing is prepared."""
    settings.DB_PREPARED_STATEMENTS = 0
    case = register(world.mediator_a, world.town_a)
    with CaptureQueriesContext(connection) as ctx:
        assert prepared.fetchall("default", ("SELECT number FROM mediation_case WHERE id = %s", (case.pk,))) == [
            (case.number,)]
        cards = prepared.rows(world.mediator_a, ("off",), lambda: case_cards(Case.objects.filter(pk=case.pk)))
    assert [c.number for c in cards] == [case.number]
    assert not any(q["sql"].startswith(("PREPARE", "EXECUTE")) for q in ctx.captured_queries)


@postgres_only
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_statement_with_a_value_of_its_own_is_prepared_once_with_the_value_as_its_parameter(world):
    """A statement bound to a case's id on each read (``rows_of_anyone``, the case page's): one
    prepared statement for every case, the id its parameter; each read finds that case's rows, as they
    are now; and PostgreSQL goes on to a generic plan, so that planning is spared."""
    first, second = register(world.mediator_a, world.town_a), register(world.mediator_b, world.town_b)
    build = Builds(lambda pk: Case.objects.filter(pk=pk).values_list("number", flat=True))
    before = _ours()
    with CaptureQueriesContext(connection) as ctx:
        assert prepared.rows_of_anyone(("own value",), build, (first.pk,)) == [first.number]
    prepare, execute = (q["sql"] for q in ctx.captured_queries)
    assert prepare.startswith("PREPARE mediation_") and "(bigint) AS SELECT" in prepare and '= $1' in prepare
    assert not re.search(rf"(?<![\d$]){first.pk}(?!\d)", prepare.split(" AS ", 1)[1])  # the id is no literal
    name = prepare.split()[1].split("(")[0]
    assert execute == f"EXECUTE {name}({first.pk})"
    with CaptureQueriesContext(connection) as ctx:
        assert prepared.rows_of_anyone(("own value",), build, (second.pk,)) == [second.number]
        Case.objects.filter(pk=first.pk).update(number="（2026）锦调字第999号")
        for _ in range(6):
            assert prepared.rows_of_anyone(("own value",), build, (first.pk,)) == ["（2026）锦调字第999号"]
    assert [q["sql"] for q in ctx.captured_queries if "EXECUTE" in q["sql"]][0] == f"EXECUTE {name}({second.pk})"
    assert not any(q["sql"].startswith("PREPARE") for q in ctx.captured_queries)
    assert _ours() - before == {name} and build.calls == 2  # written once, with each set of stand-ins
    with connection.cursor() as cursor:
        cursor.execute("SELECT generic_plans FROM pg_prepared_statements WHERE name = %s", [name])
        assert cursor.fetchone()[0] >= 1


@postgres_only
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_each_value_goes_to_its_own_parameter(world):
    """Two values of one's own, one of them used twice: each where the statement names it."""
    a, b = register(world.mediator_a, world.town_a), register(world.mediator_a, world.town_a)
    build = lambda first, other: Case.objects.filter(pk__in=[first, other]).exclude(pk=other).values_list(  # noqa: E731
        "number", flat=True)
    with CaptureQueriesContext(connection) as ctx:
        assert prepared.rows_of_anyone(("two values",), build, (a.pk, b.pk)) == [a.number]
        assert prepared.rows_of_anyone(("two values",), build, (b.pk, a.pk)) == [b.number]
    prepare = ctx.captured_queries[0]["sql"]
    assert "(bigint, bigint) AS" in prepare and "$1" in prepare and prepare.count("$2") == 2
    assert ctx.captured_queries[-1]["sql"].endswith(f"({b.pk}, {a.pk})")


@postgres_only
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_inside_a_transaction_a_statement_with_a_value_of_its_own_is_sent_as_it_is(world):
    """``case_get_for_user`` decides access, sometimes inside a transaction: there the statement never
    depends on what the session holds prepared (lost, it would end the transaction); outside, one
    that the session lost is prepared again."""
    from django.db import transaction

    case = register(world.mediator_a, world.town_a)
    build = lambda pk: Case.objects.filter(pk=pk).values_list("number", flat=True)  # noqa: E731
    assert prepared.rows_of_anyone(("in a transaction",), build, (case.pk,)) == [case.number]
    with connection.cursor() as cursor:
        cursor.execute("DEALLOCATE ALL")
    with transaction.atomic():
        with CaptureQueriesContext(connection) as ctx:
            assert prepared.rows_of_anyone(("in a transaction",), build, (case.pk,)) == [case.number]
        assert not any(q["sql"].startswith(("PREPARE", "EXECUTE")) for q in ctx.captured_queries)
        later = register(world.mediator_a, world.town_a)  # the transaction goes on
    with CaptureQueriesContext(connection) as ctx:
        assert prepared.rows_of_anyone(("in a transaction",), build, (later.pk,)) == [later.number]
    assert [q["sql"].split()[0] for q in ctx.captured_queries] == ["EXECUTE", "PREPARE", "EXECUTE"]


@postgres_only
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_value_postgresql_will_not_take_as_bigint_is_sent_as_it_is(world):
    """``left(text, integer)`` has no ``bigint`` form: such a statement is not prepared (PostgreSQL refuses
    it), but read as Django reads it, every time, and the refusal is not asked for again."""
    from django.db.models import Value
    from django.db.models.functions import Left

    case = register(world.mediator_a, world.town_a)
    build = lambda n: Case.objects.filter(pk=case.pk).annotate(s=Left("number", Value(n))).values_list(  # noqa: E731
        "s", flat=True)
    assert prepared.rows_of_anyone(("left",), build, (3,)) == [case.number[:3]]
    with CaptureQueriesContext(connection) as ctx:
        assert prepared.rows_of_anyone(("left",), build, (4,)) == [case.number[:4]]
    assert len(ctx.captured_queries) == 1 and not ctx.captured_queries[0]["sql"].startswith(("PREPARE", "EXECUTE"))


@postgres_only
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_with_autocommit_off_a_statement_with_a_value_of_its_own_is_sent_as_it_is(world):
    """Autocommit switched off is a transaction too (``prepared.in_transaction``)."""
    from django.db import transaction

    case = register(world.mediator_a, world.town_a)
    build = lambda pk: Case.objects.filter(pk=pk).values_list("number", flat=True)  # noqa: E731
    transaction.set_autocommit(False)
    try:
        with CaptureQueriesContext(connection) as ctx:
            assert prepared.rows_of_anyone(("no autocommit",), build, (case.pk,)) == [case.number]
            assert {(g.organisation_id, g.role) for g in permissions.grants_of(world.mediator_a)} == {
                (world.town_a.pk, "mediator")}
        assert not any(q["sql"].startswith(("PREPARE", "EXECUTE")) for q in ctx.captured_queries)
    finally:
        transaction.rollback()
        transaction.set_autocommit(True)


@postgres_only
def test_placeholders_not_one_per_parameter_are_sent_as_they_are(world):
    """A statement whose placeholders do not match its parameters is never rewritten (nor does the
    rewriting fail): it goes as it is, for the database to answer as it would."""
    for sql, params in (("SELECT %s, %s, %s", (1, 2)), ("SELECT %s", (1, 2)), ("SELECT '100%%', %s", (7,))):
        sent = prepared._on_server_with_values(connection, sql, params, ((0, 0),))
        if sql.count("%s") == len(params):
            assert sent[0].startswith("EXECUTE mediation_") and sent[1] == (params[0],)
        else:
            assert sent == (sql, params)


@postgres_only
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_case_page_is_the_same_with_its_statements_prepared(world, settings):
    """The case page outside a transaction (its statements prepared with the case's id) and with nothing
    prepared: the same page, case after case, for the township's mediator and the district's auditor."""
    from django.test import Client

    from tests.lifecycle import case_in_state
    from workflows.states import CaseState

    cases = [register(world.mediator_a, world.town_a), case_in_state(world, CaseState.SETTLED),
             case_in_state(world, CaseState.ESCALATION_PENDING), register(world.mediator_a, world.town_a)]

    def pages(user) -> list[str]:
        client = Client()
        client.force_login(user)
        return [re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", client.get(f"/cases/{c.pk}/").content.decode())
                for c in cases for _ in range(3)]

    for user in (world.district_supervisor, world.auditor_a):
        settings.DB_PREPARED_STATEMENTS = 128
        with CaptureQueriesContext(connection) as ctx:
            prepared_pages = pages(user)
        assert any(q["sql"].startswith("EXECUTE") and q["sql"].endswith(")") for q in ctx.captured_queries)
        settings.DB_PREPARED_STATEMENTS = 0
        assert pages(user) == prepared_pages
        assert all(f"/cases/{c.pk}/" in page for c, page in zip(cases, prepared_pages[::3], strict=True))


def test_elsewhere_the_statement_is_sent_as_it_is(world):
    if connection.vendor == "postgresql":
        pytest.skip("the other databases' behaviour")
    assert prepared.on_server("default", "SELECT %s", [1]) == ("SELECT %s", (1,))


@postgres_only
def test_a_name_stands_for_one_text_in_every_process(world, monkeypatch):
    """A prepared statement's name holds its text's digest, then a number this process never gave
    before: another process (or this one, after its session was replaced) names the same text with
    the same digest, a different text never; and no name is prepared twice."""
    sql = "SELECT %s::int"
    with CaptureQueriesContext(connection) as ctx:
        prepared.fetchall("default", (sql, (7,)))
        prepared.fetchall("default", (sql, (8,)))
        monkeypatch.setattr(prepared, "_TEXTS", prepared.Store(8))  # as another process: nothing known
        prepared.forget_prepared("default")
        prepared.fetchall("default", (sql, (7,)))
    seven, eight, again = (q["sql"].split()[1] for q in ctx.captured_queries if q["sql"].startswith("PREPARE"))
    assert seven.split("_")[1] == again.split("_")[1] != eight.split("_")[1]
    assert len({seven, eight, again}) == 3


@postgres_only
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_statements_dropped_behind_the_process_are_prepared_again(world):
    """A session that lost its prepared statements (``DISCARD ALL`` by a proxy, ``DEALLOCATE ALL``):
    the next read finds them missing, prepares again and answers; inside a transaction the error has
    ended the transaction already, so it is raised, and the read after it prepares again."""
    from django.db import ProgrammingError, transaction

    case = register(world.mediator_a, world.town_a)
    build = lambda: case_cards(Case.objects.filter(pk=case.pk))  # noqa: E731
    sql = "SELECT number FROM mediation_case WHERE id = %s"
    assert prepared.fetchall("default", (sql, (case.pk,))) == [(case.number,)]
    assert [c.number for c in prepared.rows(world.mediator_a, ("dropped",), build)] == [case.number]
    with connection.cursor() as cursor:
        cursor.execute("DEALLOCATE ALL")
    with CaptureQueriesContext(connection) as ctx:
        assert prepared.fetchall("default", (sql, (case.pk,))) == [(case.number,)]
        assert [c.number for c in prepared.rows(world.mediator_a, ("dropped",), build)] == [case.number]
    assert [q.split()[0] for q in _sent(ctx)] == ["EXECUTE", "PREPARE", "EXECUTE", "PREPARE", "EXECUTE"]
    with connection.cursor() as cursor:
        cursor.execute("DEALLOCATE ALL")
    with pytest.raises(ProgrammingError), transaction.atomic():
        prepared.fetchall("default", (sql, (case.pk,)))
    assert prepared.fetchall("default", (sql, (case.pk,))) == [(case.number,)]


@postgres_only
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_access_checks_inside_a_transaction_do_not_depend_on_the_sessions_prepared_statements(world):
    """The user's grants (read by every access decision, some inside transactions): planned once per
    connection outside a transaction; inside one, sent as they are, so that a session that lost its
    prepared statements (``DEALLOCATE ALL``) neither fails the check nor ends the transaction."""
    from django.contrib.auth import get_user_model
    from django.db import transaction

    def fresh() -> object:
        return get_user_model().objects.get(pk=world.mediator_a.pk)

    expected = {(world.town_a.pk, "mediator")}
    with CaptureQueriesContext(connection) as ctx:
        assert {(g.organisation_id, g.role) for g in permissions.grants_of(fresh())} == expected
    assert [q.split()[0] for q in _sent(ctx)][-1] == "EXECUTE"
    with connection.cursor() as cursor:
        cursor.execute("DEALLOCATE ALL")
    with transaction.atomic():
        with CaptureQueriesContext(connection) as ctx:
            assert {(g.organisation_id, g.role) for g in permissions.grants_of(fresh())} == expected
        assert not any(q.split()[0] in {"EXECUTE", "PREPARE"} for q in _sent(ctx))
        case = register(world.mediator_a, world.town_a)  # the transaction goes on
    assert Case.objects.filter(pk=case.pk).exists()
    assert {(g.organisation_id, g.role) for g in permissions.grants_of(fresh())} == expected  # prepared again


@postgres_only
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_session_the_health_check_replaces_is_replaced_before_the_statement_is_chosen(world, monkeypatch):
    """With DB_CONN_MAX_AGE, Django checks a kept connection before its first use in a request and
    replaces one that fails: that happens before the statement to send is chosen, so the new session
    is asked to prepare it rather than to execute a statement only the old one held."""
    case = register(world.mediator_a, world.town_a)
    sql = "SELECT number FROM mediation_case WHERE id = %s"
    assert prepared.fetchall("default", (sql, (case.pk,))) == [(case.number,)]
    assert connection.health_check_enabled  # type: ignore[attr-defined]  # PostgreSQL's wrapper
    old = connection.connection
    connection.health_check_done = False  # type: ignore[attr-defined]  # as at the start of a request
    monkeypatch.setattr(connection, "is_usable", lambda: False)
    with CaptureQueriesContext(connection) as ctx:
        assert prepared.fetchall("default", (sql, (case.pk,))) == [(case.number,)]
    assert connection.connection is not old
    assert [q.split()[0] for q in _sent(ctx)] == ["PREPARE", "EXECUTE"]


@postgres_only
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_statement_with_parameters_of_any_type_is_prepared_once_and_bound_on_each_read(world):
    """``fetch_with_parameters``: PostgreSQL's ``$1``… of the types named, prepared once per session, the
    values bound on each read (a text is a value, never part of the statement); the rows are read afresh."""
    case = register(world.mediator_a, world.town_a)
    sql = "SELECT id FROM mediation_case WHERE number = $1 AND id > $2"
    with CaptureQueriesContext(connection) as ctx:
        assert prepared.fetch_with_parameters("default", sql, ("text", "bigint"), (case.number, 0)) == [(case.pk,)]
        assert prepared.fetch_with_parameters("default", sql, ("text", "bigint"), ("x' OR 'a'='a", 0)) == []
        assert prepared.fetch_with_parameters("default", sql, ("text", "bigint"), (case.number, case.pk)) == []
    sent = [q["sql"] for q in ctx.captured_queries]
    assert sent[0].startswith("PREPARE mediation_") and sent[0].endswith(f"(text, bigint) AS {sql}")
    name = sent[0].split()[1].split("(")[0]
    assert sent[1:] == [f"EXECUTE {name}('{case.number}', 0)", f"EXECUTE {name}('x'' OR ''a''=''a', 0)",
                        f"EXECUTE {name}('{case.number}', {case.pk})"]


@postgres_only
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_statement_with_parameters_is_not_read_so_in_a_transaction_or_turned_off(world, settings):
    """``None`` (the caller reads as Django does): inside a transaction, a lost statement would end it;
    turned off, a pooler in transaction mode keeps none."""
    from django.db import transaction

    sql = "SELECT 1 WHERE $1 = 1"
    with transaction.atomic():
        assert prepared.fetch_with_parameters("default", sql, ("int",), (1,)) is None
    settings.DB_PREPARED_STATEMENTS = 0
    assert prepared.fetch_with_parameters("default", sql, ("int",), (1,)) is None
    settings.DB_PREPARED_STATEMENTS = 128
    assert prepared.fetch_with_parameters("default", sql, ("int",), (1,)) == [(1,)]


@pytest.mark.skipif(connection.vendor == "postgresql", reason="another database than PostgreSQL")
def test_elsewhere_a_statement_with_parameters_is_not_read_so(world):
    assert prepared.fetch_with_parameters("default", "SELECT 1 WHERE $1 = 1", ("int",), (1,)) is None
