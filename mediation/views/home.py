"""The home page: each role's work at a glance.

Which panels a user sees follows from the permissions their groups hold (an
administrator may change them), never from role names. Every count on it comes from the
tallies (``mediation/tallies.py``) or is bounded, and every list is a short index range,
so the page costs the same in a district of 10,000 cases as in one of 1,000,000. Each list's
statement is written once per process for the user's reach and read afresh on every visit
(``mediation/prepared.py``): what a lambda given to ``prepared.rows`` reads must be in its key.
"""
from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.db.models import Exists, OuterRef
from django.shortcuts import render

from mediation import permissions, prepared, tallies
from mediation.frame import frame_escalation_count, frame_figures
from mediation.models import FollowUp, Referral
from mediation.selectors import (
    case_cards,
    case_list_visible_to,
    due_soon_end,
    escalations_awaiting,
    first_merged,
    follow_through,
    soonest_due,
)
from workflows.clocks import local_today
from workflows.states import OPEN_STATES, WORKING_STATES, CaseState

#: What "open" means in a mediator's workload (the cases that still need them).
WORKLOAD_STATES = (*WORKING_STATES, CaseState.REGISTERED, CaseState.ESCALATION_PENDING, CaseState.SETTLED)


@login_required
def home(request):
    user = request.user
    today = local_today()
    horizon = due_soon_end(today)

    def visible(*states: str) -> Any:
        # Each list here is of cases in some states, never closed: the grants on cases in other states
        # are not read (``permissions.visible_cases_q``).
        return case_list_visible_to(user=user, states=states)

    assigns = permissions.scope_q(user, "assign_mediator")
    closes = permissions.scope_q(user, "close_case")
    figures = frame_figures(request, today)  # the navigation's count too: one query for both
    context = {
        "today": today,
        "overdue": soonest_due(user=user, limit=10, before=today),
        "overdue_count": sum(figures["overdue"].values()),
        "due_soon": soonest_due(user=user, limit=10, start=today, end=horizon),
        "due_soon_count": sum(figures["due_soon"].values()),
        "works_cases": permissions.holds(user, "work_case"),
        "decides_escalations": permissions.holds(user, "decide_escalation"),
        "assigns": assigns is not None,
        "closes": closes is not None,
        "has_grants": bool(permissions.grants_of(user)),
    }
    if context["works_cases"]:
        context["my_cases"] = prepared.rows(user, ("home.mine",), lambda: case_cards(
            visible(*OPEN_STATES).filter(pk__in=_assigned_to(user)))
            .order_by("acceptance_due", "mediation_due", "pk")[:15])
        context["my_count"] = tallies.mediator_counts([user.pk], OPEN_STATES).get(user.pk, 0)
    # Waiting for an act no statutory clock asks for (follow-up visit, referral outcome,
    # overdue instalment): the handling mediators' and the supervisors' (DOMAIN.md §3, closed loop).
    if context["works_cases"] or closes is not None:
        context["tasks"] = follow_through(user=user, today=today)
    # "Waiting for me": new applications in my own office nobody has accepted yet.
    my_orgs = permissions.own_organisation_ids(user, "accept_case")
    context["to_accept"] = prepared.rows(user, ("home.to_accept",), lambda: case_cards(
        visible(CaseState.REGISTERED).filter(organisation_id__in=my_orgs)).order_by("received_at")[:10])
    if context["decides_escalations"]:
        context["escalations"] = prepared.rows(user, ("home.escalations",),
                                               lambda: escalations_awaiting(user=user)[:10])
        context["escalation_count"] = frame_escalation_count(request)  # the navigation's count too
    if assigns is not None:
        context["to_assign"] = prepared.rows(user, ("home.to_assign",), lambda: case_cards(
            visible(*WORKING_STATES).filter(assigns, mediator_count=0)).order_by("received_at")[:10])
        # Each mediator's open cases, from the tallies (no count over their cases).
        team = prepared.rows(user, ("home.team",), lambda: permissions.members_holding(
            "work_case", permissions.organisations_where(user, "assign_mediator")))
        load = tallies.mediator_counts([m.pk for m in team], WORKLOAD_STATES)
        for member in team:
            member.open_cases = load.get(member.pk, 0)
        context["load"] = sorted(team, key=lambda m: (-m.open_cases, m.username))[:20]
    if closes is not None:
        # Closable now (DOMAIN.md §3): a performed case with its follow-up, a referred one with
        # its outcome, and rejected or withdrawn ones. EXISTS, not joins: no DISTINCT over the scope.
        # Three short index walks (by last change), merged (one statement where the database can), rather
        # than one OR that would test every follow-up and referral in the district.
        # A case waiting for its follow-up visit or its outcome is never closable: the database keeps
        # which do (Case.awaiting_visit_since, Case.awaiting_outcome_since), and the walk by last change
        # reads only the others (one index); whether they may be closed is still the EXISTS below.
        def closable(states: tuple[str, ...], *conditions: Any) -> Any:
            return (case_cards(visible(*states).filter(closes, awaiting_visit_since__isnull=True,
                                                       awaiting_outcome_since__isnull=True)
                               .filter(*conditions)).order_by("updated_at", "pk")[:10])

        def followed_up() -> Any:
            return Exists(FollowUp.objects.filter(case=OuterRef("pk")))

        def outcome_known() -> Any:
            return Exists(Referral.objects.filter(case=OuterRef("pk")).exclude(outcome=Referral.Outcome.PENDING))

        context["to_close"] = first_merged(
            user, ("home.to_close",),
            [lambda: closable((CaseState.PERFORMED,), followed_up()),
             lambda: closable((CaseState.REFERRED,), outcome_known()),
             lambda: closable((CaseState.REJECTED, CaseState.WITHDRAWN))],
            ("updated_at", "pk"), 10, lambda c: (c.updated_at, c.pk))
    if permissions.holds(user, "read_statistics", "view_case"):
        counts = figures["all"]
        context["totals"] = {
            "open": sum(n for state, n in counts.items() if state in OPEN_STATES),
            "settled": counts.get(CaseState.SETTLED, 0) + counts.get(CaseState.PERFORMED, 0),
            "all": sum(counts.values()),
        }
    return render(request, "mediation/home.html", context)


def _assigned_to(user):
    from mediation.models import Case

    return Case.mediators.through.objects.filter(user_id=user.pk).values("case_id")
