"""The home page's lists hold what the rules say, request after request, in one process.

Their statements are written once per process for each user's reach (``mediation/prepared.py``):
these tests ask the same process again after something changed — a case, a grant, a membership,
the day, another user with the very same reach — and expect what the rules say then, never what
an earlier request saw. "Ready to close" follows DOMAIN.md §3: a performed case once its follow-up
visit is recorded, a referred one once the outcome is known, and rejected or withdrawn ones.
"""
from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from mediation import permissions
from mediation import services as ms
from mediation.models import Membership, Referral, Role
from tests.factories import register
from tests.lifecycle import accepted, case_in_state
from tests.web.test_follow_through import pinned
from workflows import services as ws
from workflows.states import CaseState

pytestmark = pytest.mark.django_db


def _home(user) -> Any:
    client = Client()
    client.force_login(user)
    response = client.get(reverse("home"))
    assert response.status_code == 200
    return response.context


def _numbers(cases) -> set[str]:
    return {case.number for case in cases}


class TestReadyToClose:
    def test_performed_cases_once_visited_referred_ones_once_the_outcome_is_known(self, world):
        performed = case_in_state(world, CaseState.PERFORMED)
        referred = case_in_state(world, CaseState.REFERRED)
        rejected = case_in_state(world, CaseState.REJECTED)
        withdrawn = case_in_state(world, CaseState.WITHDRAWN)
        working = accepted(world, world.town_a)
        # Not yet: the visit and the outcome are what closure waits for.
        assert _numbers(_home(world.supervisor_a)["to_close"]) == {rejected.number, withdrawn.number}

        ms.followup_record(case_id=performed.pk, actor=world.mediator_a, visited_on=datetime.date(2026, 12, 1),
                           method="phone", contact="申请人本人", content="款项已全部收到")
        assert _numbers(_home(world.supervisor_a)["to_close"]) == {performed.number, rejected.number,
                                                                    withdrawn.number}
        ms.referral_record_outcome(referral_id=Referral.objects.get(case=referred).pk, actor=world.mediator_a,
                                   outcome=Referral.Outcome.AWARD, outcome_on=datetime.date(2026, 12, 2),
                                   summary="裁决支付工资差额")
        ready = _numbers(_home(world.supervisor_a)["to_close"])
        assert ready == {performed.number, referred.number, rejected.number, withdrawn.number}
        assert working.number not in ready

    def test_only_where_the_user_may_close(self, world):
        case_in_state(world, CaseState.REJECTED)  # in the first township
        assert _home(world.supervisor_b)["to_close"] == []
        assert "to_close" not in _home(world.mediator_a)  # mediators close nothing


    def test_the_ten_changed_longest_ago_of_every_kind_together_oldest_first(self, world):
        """Ten at most, by last change, whatever kind each is: a rule of the page, written by hand here
        (the last change set on each case so that the kinds interleave)."""
        from mediation.models import Case

        performed = [case_in_state(world, CaseState.PERFORMED) for _ in range(4)]
        for case in performed:
            ms.followup_record(case_id=case.pk, actor=world.mediator_a, visited_on=datetime.date(2026, 12, 1),
                               method="phone", contact="申请人本人", content="款项已全部收到")
        rejected = [case_in_state(world, CaseState.REJECTED) for _ in range(4)]
        withdrawn = [case_in_state(world, CaseState.WITHDRAWN) for _ in range(4)]
        start = datetime.datetime(2026, 11, 1, 9, 0, tzinfo=datetime.UTC)
        # Changed in turn: withdrawn, performed, rejected, withdrawn, performed, rejected, ...
        order = [case for trio in zip(withdrawn, performed, rejected, strict=True) for case in trio]
        for hours, case in enumerate(order):
            Case.objects.filter(pk=case.pk).update(updated_at=start + datetime.timedelta(hours=hours))
        shown = [case.number for case in _home(world.supervisor_a)["to_close"]]
        assert shown == [case.number for case in order[:10]]


class TestDeadlineLists:
    """The overdue list: the ten cases whose running statutory clock fell due first, most urgent first
    (DOMAIN.md: the acceptance period while registered, the mediation period while mediated), both
    clocks in one list; the same date, the case registered first."""

    def test_both_clocks_in_one_list_ranked_by_the_running_one(self, world):
        from mediation.models import Case
        from workflows.clocks import local_today

        today = local_today()

        def days(n: int) -> datetime.date:
            return today - datetime.timedelta(days=n)

        registered = [register(world.mediator_a, world.town_a) for _ in range(7)]
        mediated = [accepted(world, world.town_a) for _ in range(7)]
        # Registered i: acceptance due 30 − 2i days ago; mediated i: mediation due 29 − 2i days ago.
        # Each case's other deadline says the opposite and must not count.
        for i, case in enumerate(registered):
            Case.objects.filter(pk=case.pk).update(acceptance_due=days(30 - 2 * i), mediation_due=days(200))
        for i, case in enumerate(mediated):
            Case.objects.filter(pk=case.pk).update(mediation_due=days(29 - 2 * i), acceptance_due=days(300))
        # Two more on one day (the 11th most urgent date): the one registered first comes first.
        tie = [register(world.mediator_a, world.town_a) for _ in range(2)]
        Case.objects.filter(pk__in=[c.pk for c in tie]).update(acceptance_due=days(19))
        expected = [registered[0], mediated[0], registered[1], mediated[1], registered[2], mediated[2],
                    registered[3], mediated[3], registered[4], mediated[4]]
        home = _home(world.supervisor_a)
        assert [c.number for c in home["overdue"]] == [c.number for c in expected]
        assert home["overdue"][1].clock_due == days(29)
        # The registered ones now fell due only yesterday: every mediated one and the tie come first,
        # the sixth mediated one (19 days, as the tie, but registered before them) ahead of the tie.
        Case.objects.filter(pk__in=[c.pk for c in registered]).update(acceptance_due=days(1))
        shown = [c.number for c in _home(world.supervisor_a)["overdue"]]
        assert shown == [c.number for c in [*mediated[:6], *tie, mediated[6], registered[0]]]

    def test_a_case_without_its_deadline_comes_after_every_one_with_a_deadline(self, world):
        from mediation.models import Case
        from mediation.selectors import soonest_due

        undated, dated = register(world.mediator_a, world.town_a), register(world.mediator_a, world.town_a)
        Case.objects.filter(pk=undated.pk).update(acceptance_due=None)
        Case.objects.filter(pk=dated.pk).update(acceptance_due=datetime.date(2027, 3, 1))
        # No bounds: every registered case, the one without a deadline last (on both databases).
        assert [c.pk for c in soonest_due(user=world.supervisor_a, limit=1)] == [dated.pk]
        assert [c.pk for c in soonest_due(user=world.supervisor_a, limit=2)] == [dated.pk, undated.pk]


class TestReadAfresh:
    def test_two_users_with_the_same_reach_each_see_their_own_cases(self, world):
        """Two mediators of one township hold the same organisations, roles and permissions: what
        they are assigned still differs, and neither sees the other's list."""
        assert permissions.reach_signature(world.mediator_a) == permissions.reach_signature(world.mediator_a2)
        mine = accepted(world, world.town_a)  # accepted by, and assigned to, the first
        assert _numbers(_home(world.mediator_a)["my_cases"]) == {mine.number}
        assert _home(world.mediator_a2)["my_cases"] == []
        ms.mediators_assign(case_id=mine.pk, actor=world.supervisor_a, mediators=[world.mediator_a2])
        assert _numbers(_home(world.mediator_a2)["my_cases"]) == {mine.number}
        assert _home(world.mediator_a)["my_cases"] == []

    def test_a_new_application_appears_on_the_next_request(self, world):
        assert _home(world.mediator_a)["to_accept"] == []
        first = register(world.mediator_a, world.town_a)
        assert _numbers(_home(world.mediator_a)["to_accept"]) == {first.number}
        ws.case_accept(case_id=first.pk, actor=world.mediator_a)
        second = register(world.mediator_a, world.town_a)
        assert _numbers(_home(world.mediator_a)["to_accept"]) == {second.number}

    def test_a_membership_gained_or_lost_changes_the_lists_at_once(self, world):
        application = register(world.mediator_a, world.town_a)
        assert _home(world.mediator_b)["to_accept"] == []
        Membership.objects.create(user=world.mediator_b, organisation=world.town_a, role=Role.MEDIATOR)
        assert _numbers(_home(world.mediator_b)["to_accept"]) == {application.number}
        Membership.objects.filter(user=world.mediator_b, organisation=world.town_a).delete()
        assert _home(world.mediator_b)["to_accept"] == []

    def test_a_case_granted_one_by_one_is_read_from_the_next_request(self, world):
        """Per-case grants are read when the statement runs, not when it was written."""
        case = register(world.mediator_a, world.town_a)
        with pinned(case.acceptance_due):
            assert _home(world.mediator_b)["due_soon"] == []
            permissions.grant_case_read(world.mediator_b, case)
            assert _numbers(_home(world.mediator_b)["due_soon"]) == {case.number}

    def test_the_day_moves_the_deadline_lists(self, world):
        """Due on its last day, then overdue the day after (docs/clocks.md)."""
        case = register(world.mediator_a, world.town_a)
        due = case.acceptance_due
        with pinned(due):
            home = _home(world.supervisor_a)
            assert _numbers(home["due_soon"]) == {case.number} and home["overdue"] == []
        with pinned(due + datetime.timedelta(days=1)):
            home = _home(world.supervisor_a)
            assert _numbers(home["overdue"]) == {case.number} and home["due_soon"] == []

    def test_an_account_switched_off_and_on_again(self, world):
        from mediation.selectors import soonest_due

        case = register(world.mediator_a, world.town_a)
        start = case.acceptance_due
        assert _numbers(soonest_due(user=world.supervisor_a, limit=10, start=start, end=start)) == {case.number}
        world.supervisor_a.is_active = False
        assert soonest_due(user=world.supervisor_a, limit=10, start=start, end=start) == []
        world.supervisor_a.is_active = True
        assert _numbers(soonest_due(user=world.supervisor_a, limit=10, start=start, end=start)) == {case.number}


class TestCasePageReadAfresh:
    """The case page's read of the case is written once per reach, the case's id bound on each read."""

    def test_each_case_its_own_page_and_none_beyond_reach(self, world):
        first, second = register(world.mediator_a, world.town_a), register(world.mediator_a, world.town_a)
        elsewhere = register(world.mediator_b, world.town_b)
        client = Client()
        client.force_login(world.mediator_a)
        for case in (first, second, first):
            page = client.get(reverse("case_detail", args=[case.pk]))
            assert page.status_code == 200 and page.context["case"].pk == case.pk
        assert client.get(reverse("case_detail", args=[elsewhere.pk])).status_code == 404
        assert client.get(reverse("case_detail", args=[2**63])).status_code == 404

    def test_a_grant_opens_the_page_on_the_next_request(self, world):
        case = register(world.mediator_a, world.town_a)
        client = Client()
        client.force_login(world.mediator_b)
        assert client.get(reverse("case_detail", args=[case.pk])).status_code == 404
        permissions.grant_case_read(world.mediator_b, case)
        assert client.get(reverse("case_detail", args=[case.pk])).status_code == 200
