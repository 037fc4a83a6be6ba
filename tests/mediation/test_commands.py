"""manage.py seed_demo and manage.py generate_cases: the demo and the benchmark data."""
from __future__ import annotations

import io
import re
from collections import defaultdict
from contextlib import contextmanager

import pytest
from django.contrib.auth import authenticate, get_user_model
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.db.models import Count, F, Max, Min, Q, Sum
from django.utils import timezone
from stdnum.cn import ric, uscc

from mediation.demo import bulk, load, pgcopy
from mediation.demo import seed as demo
from mediation.models import (
    Agreement,
    Case,
    CaseNumberSequence,
    CaseParty,
    Employer,
    Instalment,
    Organisation,
    PartyRole,
    Person,
    Referral,
)
from mediation.services import agreement_missing_signatures
from tests.factories import register
from workflows import services as ws
from workflows.models import EscalationRequest, TransitionLog
from workflows.states import WORKING_STATES, CaseState


def _run(*args, **kwargs) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out, stderr=io.StringIO(), **kwargs)
    return out.getvalue()


def _assert_histories_replay(cases) -> None:
    """Each case's log, in order, starts at registered, chains, ends at its state, never in the future."""
    now = timezone.now()
    logs = defaultdict(list)
    for log in TransitionLog.objects.filter(case__in=cases).order_by("at", "pk"):
        logs[log.case_id].append(log)
    for case in cases:
        state: str = CaseState.REGISTERED
        at = case.received_at
        for log in logs[case.pk]:
            assert log.from_state == state, (case.number, [(x.transition, x.to_state) for x in logs[case.pk]])
            assert at <= log.at <= now, (case.number, log.transition)
            state, at = log.to_state, log.at
        assert state == case.state, case.number
        if logs[case.pk]:
            assert logs[case.pk][-1].to_state == case.state


def _assert_gapless() -> dict[tuple[int, int], int]:
    """Numbers 1..n per registering organisation and year, and the sequence row says n."""
    tops = {}
    seqs = dict(((o, y), v) for o, y, v in
                CaseNumberSequence.objects.values_list("organisation_id", "year", "last_value"))
    for row in (Case.objects.values("registered_organisation_id", "sequence_year")
                .annotate(n=Count("pk"), lo=Min("sequence_number"), hi=Max("sequence_number"))):
        key = (row["registered_organisation_id"], row["sequence_year"])
        assert row["lo"] == 1 and row["hi"] == row["n"], row
        assert seqs[key] == row["hi"], (row, seqs[key])
        tops[key] = row["hi"]
    return tops


def _assert_lifecycle_facts() -> None:
    """What the lifecycle's conditions need is there for every case that passed them."""
    assert not Case.objects.filter(state__in=[CaseState.SETTLED, CaseState.PERFORMED]).exclude(
        agreements__status=Agreement.Status.EFFECTIVE).exists()
    for case in Case.objects.filter(state=CaseState.PERFORMED):
        assert case.agreement_fully_paid(), case.number
    assert not Case.objects.filter(state=CaseState.CLOSED, closed_from_state=CaseState.PERFORMED,
                                   follow_ups__isnull=True).exists()
    assert not Case.objects.filter(state=CaseState.CLOSED, closed_from_state=CaseState.REFERRED,
                                   referrals__outcome=Referral.Outcome.PENDING).exists()
    assert not Case.objects.filter(state=CaseState.REFERRED, referrals__isnull=True).exists()
    assert (Case.objects.filter(state=CaseState.ESCALATION_PENDING).count()
            == EscalationRequest.objects.filter(decision=EscalationRequest.Decision.PENDING).count()
            == Case.objects.filter(state=CaseState.ESCALATION_PENDING,
                                   escalations__decision=EscalationRequest.Decision.PENDING).count())
    for agreement in Agreement.objects.filter(status=Agreement.Status.EFFECTIVE).select_related("case")[:200]:
        assert agreement_missing_signatures(agreement) == [], agreement
    assert not Case.objects.annotate(total=Sum("claims__amount")).exclude(total=None).exclude(
        amount_claimed=F("total")).exists()
    assert not Case.objects.annotate(n=Count("parties", filter=Q(parties__role=PartyRole.APPLICANT))).exclude(
        applicant_count=F("n")).exists()
    # Collective by the workers involved, not the listed applicants (劳动争议调解仲裁法 art. 7: ten or more).
    assert not Case.objects.filter(is_collective=True, workers_involved__lt=10).exists()
    assert not Case.objects.filter(is_collective=False, workers_involved__gte=10).exists()
    assert not Case.objects.filter(workers_involved__lt=F("applicant_count")).exists()
    assert not Case.objects.filter(accepted_at__isnull=False, accepted_at__lt=F("received_at")).exists()
    assert not Case.objects.filter(state__in=[*WORKING_STATES, CaseState.ESCALATION_PENDING],
                                   accepted_at__isnull=True).exists()


# ----------------------------------------------------------------------- seed_demo

@pytest.mark.django_db
def test_seed_demo_builds_every_state_through_the_services_and_is_idempotent():
    out = _run("seed_demo")
    assert "district_supervisor" in out and demo.DEMO_PASSWORD in out  # the logins table

    demo_cases = list(Case.objects.filter(intake_token__in=[demo.case_token(s.key) for s in demo.SCENARIOS]))
    assert len(demo_cases) == len(demo.SCENARIOS) >= 30
    assert {c.state for c in demo_cases} == set(CaseState.values)
    _assert_histories_replay(demo_cases)
    _assert_gapless()
    _assert_lifecycle_facts()

    # The organisation tree, by level.
    district = Organisation.objects.get(name="奉化区职工服务中心", parent=None)
    assert district.case_number_prefix == "奉工调" and district.level.rank == 0
    ranks = dict(Organisation.objects.filter(path__startswith=district.path)
                 .values_list("level__rank").annotate(n=Count("pk")))
    assert ranks[0] == 1 and ranks[1] == 3 and ranks[2] == 1 and ranks[3] >= 2

    # What the demo is meant to show.
    assert {e.decision for e in EscalationRequest.objects.all()} >= {"approved", "denied", "pending"}
    assert sum(c.is_collective for c in demo_cases) >= 2
    assert sum(c.is_new_employment_form for c in demo_cases) >= 2
    assert any(c.is_overdue for c in demo_cases)
    assert TransitionLog.objects.filter(transition="reopen").exists()
    assert all(c.received_at <= timezone.now() for c in demo_cases)
    assert len({c.received_at.date() for c in demo_cases}) > 20  # spread over months, not one day
    for person in Person.objects.exclude(id_number=None):
        assert person.id_number is not None
        ric.validate(person.id_number)
    for employer in Employer.objects.exclude(credit_code=None):
        assert employer.credit_code is not None
        uscc.validate(employer.credit_code)

    # Every demo login works, and each user's groups are their roles.
    User = get_user_model()
    for username, _name, _role, _org, password in demo.login_rows():
        user = authenticate(username=username, password=password)
        assert user is not None, username
        roles = set(user.memberships.values_list("role", flat=True))
        assert set(user.groups.values_list("name", flat=True)) == roles
    assert User.objects.get(username="admin").is_superuser

    # A second run changes nothing.
    counts = (Case.objects.count(), TransitionLog.objects.count(), User.objects.count(),
              Organisation.objects.count(), Person.objects.count(), CaseParty.objects.count())
    out = _run("seed_demo", verbosity=0)
    assert "已存在" in out
    assert counts == (Case.objects.count(), TransitionLog.objects.count(), User.objects.count(),
                      Organisation.objects.count(), Person.objects.count(), CaseParty.objects.count())

    # --reset wipes the demo district (and its cases) and builds it again, the same.
    _run("seed_demo", reset=True, interactive=False, verbosity=0)
    assert counts == (Case.objects.count(), TransitionLog.objects.count(), User.objects.count(),
                      Organisation.objects.count(), Person.objects.count(), CaseParty.objects.count())
    assert authenticate(username="jinping_mediator", password=demo.DEMO_PASSWORD) is not None
    _assert_gapless()


# -------------------------------------------------------------------- generate_cases

@pytest.mark.django_db
def test_generate_cases_numbers_gaplessly_and_a_later_registration_continues(world):
    before = Case.objects.count()
    out = _run("generate_cases", count=300, seed=3, batch=120)
    assert "件/秒" in out
    assert Case.objects.count() == before + 300

    tops = _assert_gapless()
    cases = list(Case.objects.all())
    _assert_histories_replay(cases)
    _assert_lifecycle_facts()
    states = {c.state for c in cases}
    assert {CaseState.CLOSED, CaseState.SETTLED, CaseState.PERFORMED} <= states and len(states) >= 7
    assert Case.objects.filter(is_new_employment_form=True, platform__isnull=False).exists()
    for person in Person.objects.exclude(id_number=None):
        assert person.id_number is not None
        ric.validate(person.id_number)
    for employer in Employer.objects.exclude(credit_code=None):
        assert employer.credit_code is not None
        uscc.validate(employer.credit_code)
    # Deadlines are stored as the services would store them.
    from workflows.clocks import WorkCalendar, stored_deadline_fields

    calendar = WorkCalendar.from_db()
    for case in Case.objects.select_related("organisation")[:50]:
        assert {k: getattr(case, k) for k in ("acceptance_due", "mediation_due", "deadlines_confirmed")} \
            == stored_deadline_fields(case, calendar=calendar)

    # A real registration afterwards takes the next number of its organisation's sequence.
    case = register(world.mediator_a, world.town_a)
    key = (world.town_a.pk, case.sequence_year)
    assert case.sequence_number == tops.get(key, 0) + 1
    _assert_gapless()

    # Generated cases carry on through the real services.
    waiting = Case.objects.filter(state=CaseState.REGISTERED, organisation=world.town_a).first()
    if waiting is not None:
        accepted = ws.case_accept(case_id=waiting.pk, actor=world.mediator_a)
        assert accepted.state == CaseState.JOINT_MEDIATION


@pytest.mark.django_db
def test_generated_history_rows_are_moves_of_the_lifecycle_with_every_field(world):
    from tests.workflows.test_machine import ALLOWED  # DOMAIN.md §3, typed by hand

    _run("generate_cases", count=150, seed=5, batch=60, verbosity=0)
    logs = list(TransitionLog.objects.select_related("case"))
    assert len(logs) > 150
    for log in logs:
        assert log.to_state in ALLOWED[(log.transition, log.from_state)], log
        assert log.from_organisation_id and log.to_organisation_id and log.actor_id, log
        assert log.case.received_at <= log.at <= timezone.now() and not log.imported
    approvals = [log for log in logs if log.transition == "approve_escalation"]
    assert approvals and all(log.from_organisation_id != log.to_organisation_id for log in approvals)


@pytest.mark.django_db
def test_generated_numbers_and_history_rows_come_from_their_one_owner(world, monkeypatch):
    """Numbers only from case_numbers_take, history rows only from TransitionLog.build, however the rows
    are written (COPY on PostgreSQL, bulk_create elsewhere)."""
    taken: list[tuple[int, int, int]] = []
    take = bulk.case_numbers_take

    def counting_take(**kwargs):
        numbers = take(**kwargs)
        taken.extend((kwargs["organisation"].pk, kwargs["year"], n) for n in numbers)
        return numbers

    built: list[TransitionLog] = []
    build = TransitionLog.build.__func__  # type: ignore[attr-defined]

    def counting_build(cls, **kwargs):
        built.append(build(cls, **kwargs))
        return built[-1]

    monkeypatch.setattr(bulk, "case_numbers_take", counting_take)
    monkeypatch.setattr(TransitionLog, "build", classmethod(counting_build))
    # Counted in this process: the planning that builds the history rows stays here (a helper
    # thread) instead of a forked process, whose calls this list would not see.
    monkeypatch.setattr(load, "can_fork", lambda: False)
    _run("generate_cases", count=120, seed=9, batch=50, verbosity=0)

    assert sorted(taken) == sorted(Case.objects.values_list("registered_organisation_id", "sequence_year",
                                                            "sequence_number"))
    assert len(taken) == 120
    assert sorted((log.case_id, log.transition, log.from_state, log.to_state, log.at) for log in built) == sorted(
        TransitionLog.objects.values_list("case_id", "transition", "from_state", "to_state", "at"))
    assert len(built) > 120


@pytest.mark.django_db
def test_a_seed_reproduces_the_same_cases(world):
    """The same seed gives the same data, planned in a helper thread or in a forked process."""
    now = timezone.now()

    def generate(fork: bool):
        with transaction.atomic():
            bulk.Generator(count=60, seed=4, batch_size=25, now=now, fork=fork).run()
            cases = list(Case.objects.order_by("number").values_list(
                "number", "state", "received_at", "organisation_id", "amount_claimed", "amount_agreed",
                "amount_recovered", "applicant_count", "accepted_at", "closed_at", "acceptance_due", "mediation_due",
                "dispute_summary", "reasons"))
            logs = list(TransitionLog.objects.order_by("case__number", "at", "transition").values_list(
                "case__number", "transition", "from_state", "to_state", "actor_id", "at", "reason"))
            parties = list(CaseParty.objects.order_by("case__number", "role", "position").values_list(
                "case__number", "role", "position", "name", "person__id_number"))
            paid = list(Instalment.objects.order_by("agreement__case__number", "number").values_list(
                "agreement__case__number", "number", "amount", "due_on", "paid_on", "paid_amount"))
            transaction.set_rollback(True)  # the next run starts from the same database
        return cases, logs, parties, paid

    first, second = generate(fork=False), generate(fork=False)
    assert len(first[0]) == 60 and len(first[1]) > 60 and first[3]
    assert first == second
    if load.can_fork():
        assert generate(fork=True) == first


def _indexes() -> set[tuple[str, str, str]]:
    """Every index of the schema: table, name, and definition up to casts and parentheses.

    An index built again from ``pg_get_indexdef`` is the same index, but PostgreSQL may
    spell a partial index's predicate differently afterwards (``ARRAY['a'::character
    varying]::text[]`` comes back as ``ARRAY[('a'::character varying)::text]``), as after
    ``pg_restore``; the casts and parentheses aside, the definitions are the same text.
    """
    with connection.cursor() as cursor:
        cursor.execute("SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema()")
        return {(table, name, re.sub(r"::[a-z ]+(\[\])?|[() ]", "", definition))
                for table, name, definition in cursor.fetchall()}


def _row_counts() -> dict[str, int]:
    with connection.cursor() as cursor:
        counts = {}
        for table in bulk.written_tables():
            cursor.execute(f"SELECT count(*) FROM {connection.ops.quote_name(table)}")
            counts[table] = cursor.fetchone()[0]
        return counts


@pytest.mark.django_db
@pytest.mark.skipif(connection.vendor != "postgresql", reason="the indexes are set aside on PostgreSQL only")
def test_on_postgresql_the_indexes_set_aside_for_the_load_all_come_back(world):
    before = _indexes()
    aside = load.plain_indexes(bulk.written_tables())
    assert len(aside) > 20 and any(index.table == Case._meta.db_table for index in aside)
    assert all(f" ON public.{index.table} USING" in index.definition for index in aside)
    with bulk.without_triggers() as off:
        assert off, "the test database's user is a superuser: the load-then-index path runs"
    out = _run("generate_cases", count=120, seed=6, batch=50)
    assert "个索引" in out
    assert _indexes() == before
    assert Case.objects.count() == 120
    from mediation import tallies

    assert tallies.differences() == []


@pytest.mark.django_db
@pytest.mark.skipif(connection.vendor != "postgresql", reason="the indexes are set aside on PostgreSQL only")
def test_on_postgresql_indexes_built_early_are_those_of_the_other_tables_and_the_rest_come_back_at_the_end():
    before = _indexes()

    def names(table: str) -> set[str]:
        return {name for t, name, _definition in _indexes() if t == table}

    case_table, party_table = Case._meta.db_table, CaseParty._meta.db_table
    with transaction.atomic(), load.indexes_set_aside([case_table, party_table]) as aside:
        plain: dict[str, set[str]] = {index.table: set() for index in aside.indexes}
        for index in aside.indexes:
            plain[index.table].add(index.name.split(".")[-1])
        assert plain[case_table] and plain[party_table]
        assert not names(case_table) & plain[case_table] and not names(party_table) & plain[party_table]
        assert aside.build(except_tables=[case_table]) == len(plain[party_table])
        assert plain[party_table] <= names(party_table)
        assert not names(case_table) & plain[case_table]  # still set aside
        assert aside.build(except_tables=[case_table]) == 0  # none built twice
    assert _indexes() == before


@pytest.mark.django_db
@pytest.mark.skipif(connection.vendor != "postgresql", reason="the indexes are set aside on PostgreSQL only")
@pytest.mark.parametrize("where", ["writer", "planner"])
def test_on_postgresql_a_run_failing_midway_leaves_the_indexes_and_no_rows(world, monkeypatch, where):
    before, counts = _indexes(), _row_counts()
    sequences = list(CaseNumberSequence.objects.values_list("organisation_id", "year", "last_value"))
    calls = {"n": 0}
    method = "_write_batch" if where == "writer" else "_plan_batch"
    original = getattr(bulk.Generator, method)

    def failing(self, *args):
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("stopped midway")
        return original(self, *args)

    monkeypatch.setattr(bulk.Generator, method, failing)
    with pytest.raises((RuntimeError, load.PlannerFailed), match="stopped midway"):
        _run("generate_cases", count=200, seed=8, batch=40, verbosity=0)
    assert where == "planner" or calls["n"] == 3
    assert _indexes() == before
    assert _row_counts() == counts
    assert list(CaseNumberSequence.objects.values_list("organisation_id", "year", "last_value")) == sequences
    # The connection is still usable, with the triggers on again.
    with connection.cursor() as cursor:
        cursor.execute("SHOW session_replication_role")
        assert cursor.fetchone()[0] == "origin"


@pytest.mark.django_db
@pytest.mark.skipif(connection.vendor != "postgresql", reason="COPY is PostgreSQL's")
def test_on_postgresql_without_superuser_rights_batches_load_with_the_triggers_on(world, monkeypatch):
    @contextmanager
    def triggers_stay_on():
        yield False

    monkeypatch.setattr(bulk, "without_triggers", triggers_stay_on)
    before = _indexes()
    _run("generate_cases", count=90, seed=3, batch=40, verbosity=0)
    assert Case.objects.count() == 90 and _indexes() == before
    from mediation import tallies

    assert tallies.differences() == []
    _assert_gapless()
    _assert_histories_replay(list(Case.objects.all()))


@pytest.mark.django_db
@pytest.mark.skipif(connection.vendor != "postgresql", reason="COPY is PostgreSQL's")
def test_on_postgresql_rows_are_copied_and_later_inserts_continue_after_them(world, monkeypatch):
    copied: list[str] = []
    copy_rows = pgcopy.copy_rows

    def counting_copy_rows(table, columns, rows, using="default"):
        copied.append(table)
        copy_rows(table, columns, rows, using=using)

    monkeypatch.setattr(pgcopy, "copy_rows", counting_copy_rows)
    _run("generate_cases", count=80, seed=2, batch=30, verbosity=0)
    assert {Case._meta.db_table, TransitionLog._meta.db_table, CaseParty._meta.db_table,
            Person._meta.db_table, Agreement._meta.db_table} <= set(copied)

    # Keys were reserved from the tables' own sequences: an ordinary registration gets the next ones.
    tops = {model: model.objects.aggregate(top=Max("pk"))["top"] for model in (Case, CaseParty, Person)}
    case = register(world.mediator_a, world.town_a)
    assert case.pk > tops[Case]
    assert min(case.parties.values_list("pk", flat=True)) > tops[CaseParty]
    assert Person.objects.aggregate(top=Max("pk"))["top"] > tops[Person]
    _assert_gapless()
    _assert_histories_replay(list(Case.objects.all()))
    _assert_lifecycle_facts()


@pytest.mark.django_db
def test_generate_cases_needs_organisations_first():
    with pytest.raises(CommandError, match="seed_demo"):
        _run("generate_cases", count=10)


@pytest.mark.django_db
def test_generate_cases_twice_keeps_ids_unique_and_numbers_gapless(world):
    _run("generate_cases", count=80, seed=1, batch=50, verbosity=0)
    _run("generate_cases", count=80, seed=1, batch=50, verbosity=0)  # same seed: must not collide
    assert Case.objects.count() == 160
    _assert_gapless()
    assert not Person.objects.exclude(id_number=None).values("id_number").annotate(n=Count("pk")).filter(
        n__gt=1).exists()


@pytest.mark.django_db
def test_the_demo_tree_reuses_an_organisation_an_administrator_renamed():
    """Case-number prefixes are unique (a second 锦调 would collide with 锦屏's case numbers): a demo
    organisation renamed in the admin is found again by its prefix, not created a second time."""
    demo.Seeder().organisations()
    jinping = Organisation.objects.get(case_number_prefix="锦调")
    jinping.name = "锦屏街道劳动人事争议调解中心"
    jinping.save(update_fields=["name"])
    count = Organisation.objects.count()

    seeder = demo.Seeder()
    seeder.organisations()

    assert Organisation.objects.count() == count
    assert seeder.orgs["jinping"].pk == jinping.pk


def test_an_unsaved_row_gets_a_fresh_value_of_each_callable_default_as_the_constructor_gives():
    """demo.bulk.unsaved: a default that is a callable (an empty dict, now) is called for each row,
    never one object shared by every row the generator makes."""
    from jobs.models import Job
    from mediation.demo.bulk import unsaved

    first, second = unsaved(Job, owner_id=1, kind="ledger"), unsaved(Job, owner_id=1, kind="ledger")
    assert first.parameters == {} and second.parameters == {}
    assert first.parameters is not second.parameters
    first.parameters["states"] = ["registered"]
    assert second.parameters == {}
    assert first.created_at is not None and first.status == Job.Status.QUEUED
    given = unsaved(Job, owner_id=1, kind="ledger", parameters={"a": 1})
    assert given.parameters == {"a": 1}
    with pytest.raises(TypeError):
        unsaved(Job, owner=1)  # by attribute name only: owner_id
