"""What is due, and for whom: every deadline the system already computes, as reminder items.

Nothing here re-derives a rule. The statutory clocks come from ``workflows.clocks.case_deadlines``
(acceptance, the 15-day window, the mediation period with its extensions, the consultation reply,
arbitration review, judicial confirmation, the limitation); the agreed and office deadlines from
the same places the follow-through lists read (instalment due dates, ``follow_up_due``), and an
escalation waits for the people ``permissions.escalation_deciders`` names.

Who is told goes through ``mediation.permissions``: the case's assigned mediators (before anyone
is assigned, the members of its organisation who work cases), the deciders for an escalation, and
of those only the ones who can see the case.
"""
from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db.models import Exists, OuterRef, Q, Subquery
from django.utils import timezone
from django.utils.translation import gettext as _

from mediation import permissions
from workflows.clocks import WorkCalendar, case_deadlines, local_date
from workflows.states import OPEN_STATES, CaseState

#: Clocks counted in working days (``add_working_days``): their "N days before" thresholds
#: are working days too. Every other clock counts calendar days (民法典 art. 201), and so do
#: its thresholds.
WORKING_DAY_CLOCKS = frozenset({"acceptance"})

#: The threshold an escalation gets once it has waited longer than ESCALATION_WAIT_HOURS.
ESCALATION_THRESHOLD = "waiting"


@dataclass(frozen=True)
class DueItem:
    kind: str
    case_id: int
    case_number: str
    subject_id: int
    due: datetime.date
    label: str
    working_days: bool
    recipients: tuple[int, ...]

    @property
    def key(self) -> str:
        """Stable across sweeps; a new due date (an extension) is a new deadline with its own reminders."""
        return f"{self.kind}:{self.case_id}:{self.subject_id}:{self.due.isoformat()}"


def thresholds() -> dict[str, int]:
    """REMINDER_THRESHOLDS: name → days before the last day (0 the day itself, -1 the day after)."""
    return dict(getattr(settings, "REMINDER_THRESHOLDS", {"before_3": 3, "on_day": 0, "overdue": -1}))


def _working_days_before(calendar: WorkCalendar, due: datetime.date, days: int) -> datetime.date:
    day = due
    while days:
        day -= datetime.timedelta(days=1)
        if calendar.is_workday(day)[0]:
            days -= 1
    return day


def fire_date(item: DueItem, days_before: int, calendar: WorkCalendar) -> datetime.date:
    if days_before <= 0:
        return item.due - datetime.timedelta(days=days_before)
    if item.working_days:
        return _working_days_before(calendar, item.due, days_before)
    return item.due - datetime.timedelta(days=days_before)


def current_threshold(item: DueItem, today: datetime.date, calendar: WorkCalendar) -> str | None:
    """The threshold reached most recently on ``today``, or None before the first.

    Only the latest one counts: a sweep that first sees a deadline on its last day sends
    "on the day", not also "3 days before".
    """
    if item.kind == "escalation":
        return ESCALATION_THRESHOLD
    reached = [(fire_date(item, days, calendar), name) for name, days in thresholds().items()
               if fire_date(item, days, calendar) <= today and (days < 0 or today <= item.due)]
    return max(reached)[1] if reached else None


def _open_cases():
    from mediation.models import Case

    return Case.objects.filter(state__in=OPEN_STATES).select_related("organisation").order_by("pk")


def _clock_items(calendar: WorkCalendar) -> Iterable[tuple[Any, DueItem]]:
    for case in _open_cases().iterator(chunk_size=500):
        for d in case_deadlines(case, calendar=calendar):
            if d.active:
                yield case, DueItem(d.key, case.pk, case.number, case.pk, d.due, d.label,
                                    d.key in WORKING_DAY_CLOCKS, ())


def _instalment_items() -> Iterable[tuple[Any, DueItem]]:
    from django.db.models import F

    from mediation.models import Agreement, Instalment

    unpaid = (Instalment.objects.filter(Q(paid_on__isnull=True) | Q(paid_amount__lt=F("amount")),
                                        agreement__status=Agreement.Status.EFFECTIVE,
                                        agreement__case__state=CaseState.SETTLED)
              .select_related("agreement__case__organisation"))
    for inst in unpaid:
        case = inst.agreement.case
        yield case, DueItem("instalment", case.pk, case.number, inst.pk, inst.due_on,
                            _("第%(n)s期履行期限") % {"n": inst.number}, False, ())


def _follow_up_items() -> Iterable[tuple[Any, DueItem]]:
    from mediation.models import Case, FollowUp
    from mediation.selectors import follow_up_due
    from workflows.models import TransitionLog

    performed_at = Subquery(TransitionLog.objects.filter(case=OuterRef("pk"), to_state=CaseState.PERFORMED)
                            .order_by("-at").values("at")[:1])
    waiting = (Case.objects.filter(state=CaseState.PERFORMED).select_related("organisation")
               .exclude(Exists(FollowUp.objects.filter(case=OuterRef("pk")))).annotate(performed_at=performed_at))
    for case in waiting:
        due = follow_up_due(case.performed_at)
        if due is not None:
            yield case, DueItem("follow_up", case.pk, case.number, case.pk, due, _("回访期限"), False, ())


def _recipients_by_case(cases: dict[int, Any]) -> dict[int, set[int]]:
    """Assigned mediators; for a case nobody is assigned to yet, its organisation's mediators."""
    from mediation.models import Case

    found: dict[int, set[int]] = defaultdict(set)
    for case_id, user_id in Case.mediators.through.objects.filter(
            case_id__in=list(cases), user__is_active=True).values_list("case_id", "user_id"):
        found[case_id].add(user_id)
    orphan_orgs = {c.organisation_id for pk, c in cases.items() if pk not in found}
    if orphan_orgs:
        by_org: dict[int, set[int]] = defaultdict(set)
        for m in permissions.memberships_holding("work_case", list(orphan_orgs)):
            by_org[m.organisation_id].add(m.user_id)
        for pk, c in cases.items():
            if pk not in found:
                found[pk] = by_org.get(c.organisation_id, set())
    return found


def _visible(pairs: dict[int, set[int]]) -> dict[int, set[int]]:
    """Keep (case, user) only where the user can see the case: one query per user."""
    from django.contrib.auth import get_user_model

    from mediation.models import Case

    by_user: dict[int, set[int]] = defaultdict(set)
    for case_id, users in pairs.items():
        for user_id in users:
            by_user[user_id].add(case_id)
    kept: dict[int, set[int]] = defaultdict(set)
    for user in get_user_model().objects.filter(pk__in=list(by_user), is_active=True):
        q = permissions.visible_cases_q(user)
        if q is None:
            continue
        for case_id in Case.objects.filter(q, pk__in=sorted(by_user[user.pk])).values_list("pk", flat=True):
            kept[case_id].add(user.pk)
    return kept


def _escalation_items(now: datetime.datetime) -> list[DueItem]:
    from workflows.models import EscalationRequest

    hours = int(getattr(settings, "ESCALATION_WAIT_HOURS", 24))
    waiting = (EscalationRequest.objects.filter(decision=EscalationRequest.Decision.PENDING,
                                                requested_at__lte=now - datetime.timedelta(hours=hours))
               .select_related("case", "to_organisation"))
    items = []
    for e in waiting:
        deciders = set(permissions.escalation_deciders(e.to_organisation, exclude=e.requested_by)
                       .values_list("pk", flat=True))
        seen = _visible({e.case_id: deciders}).get(e.case_id, set())
        items.append(DueItem("escalation", e.case_id, e.case.number, e.pk, local_date(e.requested_at),
                             _("提级呈报待审批已超过%(hours)s小时") % {"hours": hours}, False,
                             tuple(sorted(seen))))
    return items


def due_items(*, today: datetime.date, calendar: WorkCalendar, now: datetime.datetime | None = None,
              horizon_days: int | None = None) -> list[DueItem]:
    """Every running deadline whose first threshold has been reached by ``today``, with its recipients."""
    now = now or timezone.now()
    ahead = max([d for d in thresholds().values()] + [0])
    # Working-day thresholds reach further back than calendar ones: allow for the longest run of days off.
    horizon = today + datetime.timedelta(days=horizon_days if horizon_days is not None else ahead * 3 + 10)
    found: list[tuple[Any, DueItem]] = []
    for source in (_clock_items(calendar), _instalment_items(), _follow_up_items()):
        found.extend((case, item) for case, item in source if item.due <= horizon)
    cases = {case.pk: case for case, _item in found}
    visible = _visible(_recipients_by_case(cases)) if cases else {}
    items = [DueItem(i.kind, i.case_id, i.case_number, i.subject_id, i.due, i.label, i.working_days,
                     tuple(sorted(visible.get(i.case_id, set())))) for _case, i in found]
    items.extend(_escalation_items(now))
    return [i for i in items if i.recipients]
