"""The counters the database keeps (mediation/tallies.py) against the rules they stand for.

Expected figures are worked out by hand from DOMAIN.md's definitions — a registered case's
running clock is its acceptance period, a case under mediation its mediation period, a
concluded case has none — and from who may read which case (docs/permissions.md).
"""
from __future__ import annotations

import datetime

import pytest
from django.db import connection, transaction

from mediation import tallies
from mediation.models import Case, CaseTally, MediatorTally
from mediation.selectors import (
    CaseFilters,
    visible_case_count,
    visible_case_counts,
    visible_case_figures,
)
from mediation.services import mediators_assign
from tests.factories import register
from tests.lifecycle import accepted, case_in_state
from workflows import services as ws
from workflows.states import CaseState as S

pytestmark = pytest.mark.django_db


def rows(organisation) -> dict[tuple[str, datetime.date], int]:
    return {(t.state, t.due_on): t.n for t in CaseTally.objects.filter(organisation=organisation) if t.n}


def test_a_registered_case_counts_under_its_acceptance_deadline_then_its_mediation_deadline(world):
    case = register(world.mediator_a, world.town_a)
    assert case.acceptance_due is not None
    assert rows(world.town_a) == {(S.REGISTERED, case.acceptance_due): 1}

    case = ws.case_accept(case_id=case.pk, actor=world.mediator_a)
    assert case.mediation_due is not None
    assert rows(world.town_a) == {(S.JOINT_MEDIATION, case.mediation_due): 1}

    # Concluded: no clock runs any more.
    ws.case_terminate(case_id=case.pk, actor=world.mediator_a, reason="双方分歧较大，调解不成")
    assert rows(world.town_a) == {(S.MEDIATION_FAILED, tallies.NO_DUE_DATE): 1}


def overdue_count(user, today: datetime.date) -> int:
    """How many cases the user may read are overdue, from the tallies (what the badge sums)."""
    return sum(visible_case_counts(user=user, before=today).values())


def test_overdue_and_due_soon_counts_follow_the_running_deadline(world):
    case = register(world.mediator_a, world.town_a)
    due = case.acceptance_due
    # The day of the deadline is still in time; the day after, the case is overdue.
    assert overdue_count(world.supervisor_a, due) == 0
    assert overdue_count(world.supervisor_a, due + datetime.timedelta(days=1)) == 1
    assert visible_case_counts(user=world.supervisor_a, start=due, end=due) == {S.REGISTERED: 1}
    assert visible_case_counts(user=world.supervisor_a, start=due + datetime.timedelta(days=1),
                               end=due + datetime.timedelta(days=30)) == {}
    # Another township's supervisor does not count it; the district's does.
    assert overdue_count(world.supervisor_b, due + datetime.timedelta(days=1)) == 0
    assert overdue_count(world.district_supervisor, due + datetime.timedelta(days=1)) == 1


def test_several_windows_counted_at_once_give_each_windows_own_figures(world):
    """The home page asks overdue, due soon and all in one query: each as if asked alone."""
    registered = register(world.mediator_a, world.town_a)
    mediated = accepted(world, world.town_a)
    failed = case_in_state(world, S.MEDIATION_FAILED)  # no clock runs
    assert failed.organisation_id == world.town_a.pk
    day_after = registered.acceptance_due + datetime.timedelta(days=1)
    windows = {"overdue": {"before": day_after},
               "due_soon": {"start": mediated.mediation_due, "end": mediated.mediation_due},
               "all": {}}
    figures = visible_case_figures(user=world.supervisor_a, windows=windows)
    # By hand: only the registered case is past its deadline the day after it; only the mediated
    # one falls due on its own mediation deadline (the registered one's falls days before); all three count.
    assert registered.acceptance_due < mediated.mediation_due
    assert figures == {"overdue": {S.REGISTERED: 1}, "due_soon": {S.JOINT_MEDIATION: 1},
                       "all": {S.REGISTERED: 1, S.JOINT_MEDIATION: 1, S.MEDIATION_FAILED: 1}}
    # Another township's supervisor counts none of them, in any window.
    assert visible_case_figures(user=world.supervisor_b, windows=windows) == {"overdue": {}, "due_soon": {}, "all": {}}


def test_an_escalation_moves_the_count_to_the_organisation_that_took_the_case(world):
    case = case_in_state(world, S.ESCALATION_PENDING)  # enterprise_a asked town_a
    assert rows(world.enterprise_a) == {(S.ESCALATION_PENDING, case.mediation_due): 1}
    ws.escalation_approve(case_id=case.pk, actor=world.supervisor_a)
    case = Case.objects.get(pk=case.pk)
    assert rows(world.enterprise_a) == {}
    assert rows(world.town_a) == {(S.JOINT_MEDIATION, case.mediation_due): 1}


def test_a_change_rolled_back_leaves_the_counts_as_they_were(world):
    case = register(world.mediator_a, world.town_a)
    before = rows(world.town_a)
    with pytest.raises(RuntimeError), transaction.atomic():
        ws.case_accept(case_id=case.pk, actor=world.mediator_a)
        raise RuntimeError("abandoned")
    assert rows(world.town_a) == before == {(S.REGISTERED, case.acceptance_due): 1}


def test_each_mediators_load_counts_their_cases_by_state(world):
    first = accepted(world, world.town_a)
    second = accepted(world, world.town_a)
    mediators_assign(case_id=first.pk, actor=world.supervisor_a, mediators=[world.mediator_a, world.mediator_a2])
    mediators_assign(case_id=second.pk, actor=world.supervisor_a, mediators=[world.mediator_a2])

    def load(user):
        return {t.state: t.n for t in MediatorTally.objects.filter(user=user) if t.n}

    assert load(world.mediator_a) == {S.JOINT_MEDIATION: 1}
    assert load(world.mediator_a2) == {S.JOINT_MEDIATION: 2}
    ws.case_terminate(case_id=first.pk, actor=world.mediator_a, reason="双方分歧较大，调解不成")
    assert load(world.mediator_a) == {S.MEDIATION_FAILED: 1}
    assert load(world.mediator_a2) == {S.JOINT_MEDIATION: 1, S.MEDIATION_FAILED: 1}
    mediators_assign(case_id=second.pk, actor=world.supervisor_a, mediators=[world.mediator_a])
    assert load(world.mediator_a) == {S.MEDIATION_FAILED: 1, S.JOINT_MEDIATION: 1}
    assert load(world.mediator_a2) == {S.MEDIATION_FAILED: 1}


def test_every_state_reached_through_the_services_leaves_the_tallies_exact(world):
    for state in S.values:
        case_in_state(world, state)
    assert tallies.differences() == []
    # And a count from them agrees with counting the cases: the district sees all of them.
    total = visible_case_count(user=world.district_supervisor, filters=CaseFilters())
    assert total == Case.objects.count() == len(S.values)  # each recipe moves one case of its own


def test_a_write_around_the_services_is_counted_too(world):
    case = register(world.mediator_a, world.town_a)
    with connection.cursor() as cursor:  # e.g. a repair by hand in SQL
        cursor.execute("UPDATE mediation_case SET organisation_id = %s WHERE id = %s", [world.town_b.pk, case.pk])
    assert rows(world.town_a) == {}
    assert rows(world.town_b) == {(S.REGISTERED, case.acceptance_due): 1}
    assert tallies.differences() == []


def test_the_list_count_includes_a_case_read_by_a_per_case_grant_beyond_the_users_reach(world):
    mine = register(world.mediator_b, world.town_b)
    elsewhere = register(world.mediator_a, world.town_a)
    from mediation import permissions

    assert visible_case_count(user=world.mediator_b, filters=CaseFilters()) == 1
    permissions.grant_case_read(world.mediator_b, elsewhere)
    assert visible_case_count(user=world.mediator_b, filters=CaseFilters()) == 2
    assert visible_case_count(user=world.mediator_b, filters=CaseFilters(state=S.REGISTERED)) == 2
    assert visible_case_count(user=world.mediator_b, filters=CaseFilters(organisation_id=world.town_a.pk)) == 1
    assert visible_case_count(user=world.mediator_b, filters=CaseFilters(organisation_id=mine.organisation_id)) == 1
    # The granted case moves on: the grant's count follows it (and stays beyond mediator_b's reach).
    ws.case_accept(case_id=elsewhere.pk, actor=world.mediator_a)
    assert visible_case_count(user=world.mediator_b, filters=CaseFilters(state=S.REGISTERED)) == 1
    assert visible_case_count(user=world.mediator_b, filters=CaseFilters(state=S.JOINT_MEDIATION)) == 1
    assert tallies.differences() == []
    # A filter the tallies cannot answer: the list counts its rows instead.
    assert visible_case_count(user=world.mediator_b, filters=CaseFilters(channel="walk_in")) is None


def test_a_check_finds_a_tally_that_drifted_and_a_rebuild_repairs_it(world):
    register(world.mediator_a, world.town_a)
    CaseTally.objects.filter(organisation=world.town_a).update(n=5)
    assert tallies.differences() != []
    tallies.rebuild()
    assert tallies.differences() == []


def test_a_case_waiting_for_a_supervisors_decision_counts_for_them_once(world):
    from mediation import permissions

    case = case_in_state(world, S.ESCALATION_PENDING)  # enterprise_a (below town_a) asked town_a
    # supervisor_b decides nothing for town_a: the case is not theirs to count.
    assert visible_case_count(user=world.supervisor_b, filters=CaseFilters()) == 0
    # The district's mediator reads nothing of town_a's subtree; granted the case, they count it once.
    permissions.grant_case_read(world.district_mediator, case)
    assert visible_case_count(user=world.district_mediator, filters=CaseFilters()) == 1
    assert visible_case_count(user=world.district_mediator,
                              filters=CaseFilters(state=S.ESCALATION_PENDING)) == 1


def test_a_settled_case_knows_its_earliest_unpaid_instalment_whoever_writes(world):
    from decimal import Decimal

    from mediation import services as ms
    from tests.lifecycle import TODAY

    case = case_in_state(world, S.SETTLED)  # two instalments of 6,000: TODAY + 30 and TODAY + 60 days
    first, second = TODAY + datetime.timedelta(days=30), TODAY + datetime.timedelta(days=60)

    def due():
        return Case.objects.values_list("next_instalment_due", flat=True).get(pk=case.pk)

    assert due() == first
    instalments = list(case.effective_agreement().instalments.order_by("number"))
    # A part payment leaves the first instalment owed; paying it in full moves on to the second.
    ms.instalment_record_payment(instalment_id=instalments[0].pk, actor=world.mediator_a, paid_on=TODAY,
                                 paid_amount=Decimal("1000.00"))
    assert due() == first
    ms.instalment_record_payment(instalment_id=instalments[0].pk, actor=world.mediator_a, paid_on=TODAY,
                                 paid_amount=Decimal("5000.00"))
    assert due() == second
    # A save of the whole case with a stale value in memory does not undo it.
    stale = Case.objects.get(pk=case.pk)
    stale.next_instalment_due = first
    stale.save()
    assert due() == second
    ms.instalment_record_payment(instalment_id=instalments[1].pk, actor=world.mediator_a, paid_on=TODAY,
                                 paid_amount=Decimal("6000.00"))
    assert due() is None
    assert tallies.differences() == []


def test_only_settled_cases_carry_an_unpaid_instalment_date(world):
    case = case_in_state(world, S.SETTLED)
    assert Case.objects.get(pk=case.pk).next_instalment_due is not None
    ws.case_report_nonperformance(case_id=case.pk, actor=world.mediator_a, reason="逾期未履行")
    # Non-performance reported: the instalments stay unpaid, but the case left "settled".
    assert Case.objects.get(pk=case.pk).next_instalment_due is None
    assert tallies.differences() == []


def test_a_case_knows_how_many_mediators_it_has_and_the_unassigned_ones_are_listed(world, client):
    from django.urls import reverse

    case = register(world.mediator_a, world.town_a)
    case = ws.case_accept(case_id=case.pk, actor=world.supervisor_a)  # accepted by a supervisor: nobody assigned
    assert Case.objects.get(pk=case.pk).mediator_count == case.mediators.count()
    # Not being mediated: no count kept (a registered case has nobody to assign yet).
    assert Case.objects.get(pk=register(world.mediator_a, world.town_a).pk).mediator_count == 0
    mediators_assign(case_id=case.pk, actor=world.supervisor_a, mediators=[])
    assert Case.objects.get(pk=case.pk).mediator_count == 0
    client.force_login(world.supervisor_a)
    assert case.number in [c.number for c in client.get(reverse("home")).context["to_assign"]]
    mediators_assign(case_id=case.pk, actor=world.supervisor_a, mediators=[world.mediator_a, world.mediator_a2])
    assert Case.objects.get(pk=case.pk).mediator_count == 2
    assert case.number not in [c.number for c in client.get(reverse("home")).context["to_assign"]]
    # A save with a stale count in memory does not undo it.
    stale = Case.objects.get(pk=case.pk)
    stale.mediator_count = 0
    stale.save()
    assert Case.objects.get(pk=case.pk).mediator_count == 2
    assert tallies.differences() == []


def test_the_follow_through_columns_say_since_when_a_case_waits(world):
    from tests.lifecycle import TODAY

    performed = case_in_state(world, S.PERFORMED)
    since = Case.objects.values_list("awaiting_visit_since", flat=True).get(pk=performed.pk)
    log = performed.transitions.filter(to_state=S.PERFORMED).latest("at")
    assert since == log.at
    from mediation import services as ms

    ms.followup_record(case_id=performed.pk, actor=world.mediator_a, visited_on=TODAY, method="phone",
                       contact="申请人", satisfied=True, content="款项已到账")
    assert Case.objects.values_list("awaiting_visit_since", flat=True).get(pk=performed.pk) is None

    referred = case_in_state(world, S.REFERRED)  # referred on TODAY, outcome pending
    assert Case.objects.values_list("awaiting_outcome_since", flat=True).get(pk=referred.pk) == TODAY
    referral = referred.referrals.get()
    referral.outcome = "award"
    referral.save()
    assert Case.objects.values_list("awaiting_outcome_since", flat=True).get(pk=referred.pk) is None
    assert tallies.differences() == []


def test_triggers_lost_to_a_table_rebuild_come_back_after_migrate(world):
    """SQLite rebuilds a table to alter it and drops its triggers: migrate puts them back, counted afresh."""
    case = register(world.mediator_a, world.town_a)
    tallies.uninstall()
    CaseTally.objects.all().delete()
    assert tallies.ensure_installed(connection) is True
    assert rows(world.town_a) == {(S.REGISTERED, case.acceptance_due): 1}
    assert tallies.ensure_installed(connection) is False  # all there: nothing to do
    register(world.mediator_a, world.town_a)
    assert tallies.differences() == []


def test_generated_cases_are_counted_like_any_others():
    """generate_cases loads with the triggers off on PostgreSQL and counts once at the end."""
    from django.core.management import call_command

    call_command("seed_demo", verbosity=0)
    call_command("generate_cases", count=120, seed=4, batch=50, verbosity=0)
    assert tallies.differences() == []
    assert CaseTally.objects.filter(n__gt=0).exists()
