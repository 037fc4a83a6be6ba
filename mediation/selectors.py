"""Reads. Every list, search, export, document and statistic of cases starts from
``case_list_visible_to``, so nothing can leak around the permission rules."""
from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db.models import Exists, F, OuterRef, Q, QuerySet, Subquery
from django.http import Http404

from mediation import permissions
from mediation.audit import log as audit
from mediation.models import Case, CaseAccessLog
from workflows.clocks import local_today
from workflows.states import WORKING_STATES, CaseState


@dataclass(frozen=True)
class CaseFilters:
    state: str | None = None
    organisation_id: int | None = None
    line: int | None = None
    category: str | None = None
    channel: str | None = None
    mediator_id: int | None = None
    received_from: datetime.date | None = None
    received_to: datetime.date | None = None
    overdue: bool = False
    query: str = ""


def case_list_visible_to(*, user: Any, filters: CaseFilters | None = None) -> QuerySet[Case]:
    """The cases ``user`` may read, narrowed by ``filters``. An unknown user sees nothing."""
    q = permissions.visible_cases_q(user)
    if q is None:
        return Case.objects.none()
    qs = Case.objects.filter(q)
    if filters:
        qs = _apply_filters(qs, filters)
    return qs


def _apply_filters(qs: QuerySet[Case], f: CaseFilters) -> QuerySet[Case]:
    if f.state:
        qs = qs.filter(state=f.state)
    if f.organisation_id:
        qs = qs.filter(organisation_id=f.organisation_id)
    if f.line:
        qs = qs.filter(organisation__level__line=f.line)
    # Multi-valued filters are subqueries, not joins: no duplicate rows, no DISTINCT over 100,000 cases.
    if f.category:
        qs = qs.filter(pk__in=Case.categories.through.objects.filter(category__code=f.category).values("case_id"))
    if f.channel:
        qs = qs.filter(channel=f.channel)
    if f.mediator_id:
        qs = qs.filter(pk__in=Case.mediators.through.objects.filter(user_id=f.mediator_id).values("case_id"))
    if f.received_from:
        qs = qs.filter(received_at__date__gte=f.received_from)
    if f.received_to:
        qs = qs.filter(received_at__date__lte=f.received_to)
    if f.overdue:
        qs = qs.filter(overdue_q(local_today()))
    if f.query:
        qs = qs.filter(search_q(f.query))
    return qs


def search_q(text: str) -> Q:
    """Case number, party or employer name, or an exact ID number / credit code."""
    from mediation.identity import normalize_credit_code, normalize_id_number
    from mediation.models import CaseParty, Employer

    text = text.strip()
    q = (Q(number__icontains=text)
         | Q(employer_id__in=Employer.objects.filter(name__icontains=text).values("pk"))
         | Q(pk__in=CaseParty.objects.filter(name__icontains=text).values("case_id")))
    compact = normalize_id_number(text)
    if len(compact) == 18:
        # Exact match only: a partial ID number is no way to look people up.
        q |= Q(pk__in=CaseParty.objects.filter(person__id_number=compact).values("case_id"))
        q |= Q(employer_id__in=Employer.objects.filter(credit_code=normalize_credit_code(text)).values("pk"))
    return q


def overdue_q(today: datetime.date) -> Q:
    """Cases past a stored statutory deadline that is still running."""
    return (Q(state=CaseState.REGISTERED, acceptance_due__lt=today)
            | Q(state__in=[*WORKING_STATES, CaseState.ESCALATION_PENDING], mediation_due__lt=today))


def overdue_count(queryset: QuerySet[Case], today: datetime.date) -> int:
    """How many cases of ``queryset`` are overdue: two index-only counts rather than one OR."""
    return (queryset.filter(state=CaseState.REGISTERED, acceptance_due__lt=today).count()
            + queryset.filter(state__in=[*WORKING_STATES, CaseState.ESCALATION_PENDING],
                              mediation_due__lt=today).count())


def due_soon_q(today: datetime.date, within_days: int | None = None) -> Q:
    within = settings.DUE_SOON_DAYS if within_days is None else within_days
    horizon = today + datetime.timedelta(days=within)
    return (Q(state=CaseState.REGISTERED, acceptance_due__gte=today, acceptance_due__lte=horizon)
            | Q(state__in=[*WORKING_STATES, CaseState.ESCALATION_PENDING],
                mediation_due__gte=today, mediation_due__lte=horizon))


def case_deadline_watchlist(*, user: Any, today: datetime.date | None = None,
                            within_days: int | None = None) -> dict[str, QuerySet[Case]]:
    """Overdue and due-soon cases among those the user may see, for mediators' and supervisors' lists."""
    today = today or local_today()
    visible = case_list_visible_to(user=user).select_related("organisation", "employer")
    return {
        "overdue": visible.filter(overdue_q(today)).order_by("acceptance_due", "mediation_due"),
        "due_soon": visible.filter(due_soon_q(today, within_days)).order_by("acceptance_due", "mediation_due"),
    }


def case_get_for_user(*, user: Any, case_id: int, purpose: str = "view") -> Case:
    """One case, if the user may see it; otherwise 404, so its existence is not revealed.

    Reads by those who do not work the case (auditors, administrators) are logged (DOMAIN.md §5).
    """
    case = (case_list_visible_to(user=user).filter(pk=case_id)
            .select_related("organisation__level", "registered_organisation", "employer", "platform",
                            "created_by").first())
    if case is None:
        raise Http404
    if permissions.read_is_logged(user, case):
        CaseAccessLog.objects.create(case=case, user=user, what=purpose[:60])
        audit.record(actor=user, action="case.read", obj=case, new={"purpose": purpose[:60]})
    return case


def mediators_of(organisation) -> QuerySet:
    """Active users who may be assigned to cases of this organisation: its members who work cases."""
    return permissions.members_holding("work_case", [organisation]).order_by("username")


def mediators_by_organisation(organisation_ids: list[int]) -> dict[int, list[Any]]:
    """:func:`mediators_of` for several organisations in one query (the escalation queue)."""
    found: dict[int, list[Any]] = {pk: [] for pk in organisation_ids}
    for m in (permissions.memberships_holding("work_case", organisation_ids).select_related("user")
              .order_by("user__username")):
        if m.user not in found[m.organisation_id]:
            found[m.organisation_id].append(m.user)
    return found


def escalations_awaiting(*, user: Any) -> QuerySet:
    """Pending escalation requests this user may decide (never their own)."""
    from workflows.models import EscalationRequest

    q = permissions.scope_q(user, "decide_escalation", field="to_organisation")
    if q is None:
        return EscalationRequest.objects.none()
    return (EscalationRequest.objects.filter(q, decision=EscalationRequest.Decision.PENDING)
            .exclude(requested_by=user).select_related("case", "from_organisation", "to_organisation",
                                                       "requested_by"))


def _follow_through_q(user: Any) -> Q | None:
    """The cases whose follow-through is this user's: those they handle, and those they may close.

    The handling mediators (assigned to the case) and the supervisors whose scope
    covers it (``close_case``: the follow-up, the outcome and the performance are what
    closure waits for, DOMAIN.md §3).
    """
    if not getattr(user, "is_authenticated", False):
        return None
    mine = Q(pk__in=Case.mediators.through.objects.filter(user_id=user.pk).values("case_id"))
    closes = permissions.scope_q(user, "close_case")
    return mine if closes is None else mine | closes


def follow_up_due(performed_at: datetime.datetime | None) -> datetime.date | None:
    """When the follow-up visit of a performed case is due: an office rule, not a statute.

    ``settings.FOLLOW_UP_DAYS`` calendar days after the Beijing date on which the
    performance was confirmed (docs/clocks.md, "Follow-up visit").
    """
    if performed_at is None:
        return None
    from workflows.clocks import local_date

    return local_date(performed_at) + datetime.timedelta(days=settings.FOLLOW_UP_DAYS)


def follow_through(*, user: Any, today: datetime.date | None = None, limit: int = 10) -> dict[str, Any]:
    """Open cases that wait for an act no statutory clock asks for, so that none drops off every list.

    - ``follow_up``: performed, no follow-up visit (回访) recorded; ``task_due`` from
      :func:`follow_up_due`, oldest first;
    - ``referral_outcome``: referred to arbitration or a court, no outcome recorded
      (the closed loop); ``task_since`` is the referral date;
    - ``instalment_overdue``: settled, an instalment of the effective agreement unpaid
      past its date; ``task_due`` is the earliest such date;
    - ``consultation_reply``: a consultation (协商) requested and neither a reply nor an
      outcome recorded, while consultation can be recorded; ``task_due`` the 5-day reply
      date (人社部令第17号; ``task_confirmed`` as the calendar knows it). These are also the
      organisation's mediators' (``work_case``), since nobody is assigned before acceptance.

    A fixed number of queries whatever the number of rows (annotations, no per-row reads).
    """
    from mediation.models import Agreement, FollowUp, Instalment, Referral
    from workflows.models import TransitionLog

    today = today or local_today()
    found: dict[str, Any] = {"follow_up": [], "referral_outcome": [], "instalment_overdue": [],
                             "consultation_reply": [], "follow_up_count": 0, "referral_outcome_count": 0,
                             "instalment_overdue_count": 0, "consultation_reply_count": 0}
    scope = _follow_through_q(user)
    if scope is None:
        return found
    base = case_list_visible_to(user=user).filter(scope).select_related("organisation", "employer")

    performed_at = Subquery(TransitionLog.objects.filter(case=OuterRef("pk"), to_state=CaseState.PERFORMED)
                            .order_by("-at").values("at")[:1])
    awaiting_visit = (base.filter(state=CaseState.PERFORMED)
                      .exclude(Exists(FollowUp.objects.filter(case=OuterRef("pk")))))
    rows = list(awaiting_visit.annotate(performed_at=performed_at)
                .order_by(F("performed_at").asc(nulls_first=True), "pk")[:limit])
    for case in rows:
        case.task_due = follow_up_due(case.performed_at)  # type: ignore[attr-defined]
    found["follow_up"], found["follow_up_count"] = rows, awaiting_visit.count()

    referred_on = Subquery(Referral.objects.filter(case=OuterRef("pk")).order_by("-referred_on", "-pk")
                           .values("referred_on")[:1])
    awaiting_outcome = (base.filter(state=CaseState.REFERRED)
                        .exclude(Exists(Referral.objects.filter(case=OuterRef("pk"))
                                        .exclude(outcome=Referral.Outcome.PENDING))))
    found["referral_outcome"] = list(awaiting_outcome.annotate(task_since=referred_on)
                                     .order_by("task_since", "pk")[:limit])
    found["referral_outcome_count"] = awaiting_outcome.count()

    first_unpaid = Subquery(Instalment.objects.filter(
        Q(paid_on__isnull=True) | Q(paid_amount__lt=F("amount")),  # unpaid, or only part paid
        agreement__case=OuterRef("pk"), agreement__status=Agreement.Status.EFFECTIVE,
        due_on__lt=today).order_by("due_on").values("due_on")[:1])
    unpaid = (base.filter(state=CaseState.SETTLED).annotate(task_due=first_unpaid)
              .filter(task_due__isnull=False))
    found["instalment_overdue"] = list(unpaid.order_by("task_due", "pk")[:limit])
    found["instalment_overdue_count"] = unpaid.count()

    from mediation.services import CONSULTATION_STATES
    from workflows.clocks import WorkCalendar, consultation_reply_due

    works = permissions.scope_q(user, "work_case")
    consulting = (case_list_visible_to(user=user).filter(scope if works is None else scope | works)
                  .select_related("organisation", "employer")
                  .filter(state__in=CONSULTATION_STATES, consultation_requested_on__isnull=False,
                          consultation_replied_on__isnull=True, consultation_outcome__in=["", "pending"]))
    waiting: list[Case] = list(consulting.order_by("consultation_requested_on", "pk")[:limit])
    calendar = WorkCalendar.from_db() if waiting else None
    for asked in waiting:
        assert calendar is not None and asked.consultation_requested_on is not None  # the filter above
        due = consultation_reply_due(calendar, asked.consultation_requested_on)
        asked.task_due, asked.task_confirmed = due.date, due.confirmed  # type: ignore[attr-defined]
    found["consultation_reply"], found["consultation_reply_count"] = waiting, consulting.count()
    return found
