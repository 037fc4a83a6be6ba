"""The home page: each role's work at a glance.

Which panels a user sees follows from the permissions their groups hold (an
administrator may change them), never from role names.
"""
from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.db.models import Count, Exists, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.shortcuts import render

from mediation import permissions
from mediation.models import Case, FollowUp, Referral
from mediation.selectors import case_deadline_watchlist, case_list_visible_to, escalations_awaiting, follow_through
from workflows.clocks import local_today
from workflows.states import OPEN_STATES, WORKING_STATES, CaseState


@login_required
def home(request):
    user = request.user
    today = local_today()
    visible = case_list_visible_to(user=user)
    watch = case_deadline_watchlist(user=user, today=today)
    assigns = permissions.scope_q(user, "assign_mediator")
    closes = permissions.scope_q(user, "close_case")
    context = {
        "today": today,
        "overdue": list(watch["overdue"][:10]),
        "overdue_count": watch["overdue"].count(),
        "due_soon": list(watch["due_soon"][:10]),
        "due_soon_count": watch["due_soon"].count(),
        "works_cases": permissions.holds(user, "work_case"),
        "decides_escalations": permissions.holds(user, "decide_escalation"),
        "assigns": assigns is not None,
        "closes": closes is not None,
        "has_grants": bool(permissions.grants_of(user)),
    }
    mine = (visible.filter(mediators=user, state__in=OPEN_STATES)
            .select_related("organisation", "employer").order_by("acceptance_due", "mediation_due"))
    context["my_cases"] = list(mine[:15])
    context["my_count"] = mine.count()
    # Waiting for an act no statutory clock asks for (follow-up visit, referral outcome,
    # overdue instalment): the handling mediators' and the supervisors' (DOMAIN.md §3, closed loop).
    if context["works_cases"] or closes is not None:
        context["tasks"] = follow_through(user=user, today=today)
    # "Waiting for me": new applications in my own office nobody has accepted yet.
    my_orgs = permissions.own_organisation_ids(user, "accept_case")
    context["to_accept"] = list(visible.filter(state=CaseState.REGISTERED, organisation_id__in=my_orgs)
                                .select_related("organisation", "employer").order_by("received_at")[:10])
    if context["decides_escalations"]:
        context["escalations"] = list(escalations_awaiting(user=user)[:10])
    if assigns is not None:
        context["to_assign"] = list(visible.filter(assigns, state__in=WORKING_STATES, mediators__isnull=True)
                                    .select_related("organisation", "employer").order_by("received_at")[:10])
        # Each mediator's open cases, counted per user in a correlated subquery (no join fan-out).
        open_cases = (Case.mediators.through.objects
                      .filter(user_id=OuterRef("pk"), case__state__in=[
                          *WORKING_STATES, CaseState.REGISTERED, CaseState.ESCALATION_PENDING, CaseState.SETTLED])
                      .values("user_id").annotate(n=Count("*")).values("n"))
        team = permissions.members_holding("work_case", permissions.organisations_where(user, "assign_mediator"))
        context["load"] = (team.annotate(open_cases=Coalesce(Subquery(open_cases), 0))
                           .order_by("-open_cases", "username")[:20])
    if closes is not None:
        # Closable now (DOMAIN.md §3): a performed case with its follow-up, a referred one with
        # its outcome, and rejected or withdrawn ones. EXISTS, not joins: no DISTINCT over the scope.
        followed_up = Exists(FollowUp.objects.filter(case=OuterRef("pk")))
        outcome_known = Exists(Referral.objects.filter(case=OuterRef("pk")).exclude(outcome=Referral.Outcome.PENDING))
        context["to_close"] = list(visible.filter(closes).filter(
            Q(state=CaseState.PERFORMED) & followed_up | Q(state=CaseState.REFERRED) & outcome_known
            | Q(state__in=[CaseState.REJECTED, CaseState.WITHDRAWN]))
            .select_related("organisation", "employer").order_by("updated_at")[:10])
    if permissions.holds(user, "read_statistics", "view_case"):
        context["totals"] = visible.aggregate(
            open=Count("pk", filter=Q(state__in=OPEN_STATES)),
            settled=Count("pk", filter=Q(state__in=[CaseState.SETTLED, CaseState.PERFORMED])),
            all=Count("pk"))
    return render(request, "mediation/home.html", context)
