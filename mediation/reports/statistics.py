"""The district's figures (DOMAIN.md §9), computed by the database.

Definitions are in docs/statistics.md; in short:

* every figure is a count or sum over *events* in the period: a case is received
  when ``received_at`` falls in it; accepted, rejected, settled, failed, referred,
  withdrawn, closed when its ``TransitionLog`` row of that move (accept, reject,
  record_agreement, terminate, refer, withdraw, close) does;
* a case counts at the organisation that handles it now (``Case.organisation``),
  and at that organisation's line, exactly as the case list filters it;
* concluded = settled + failed; success rate = settled / concluded; grassroots rate
  = concluded at lines 1–2 of cases not referred to arbitration or court / concluded.

涉及人数 (``workers``: the workers involved, ``Case.workers_involved``, 劳动争议调解仲裁法 art. 7)
is summed with the receipts and stored like them (it was once summed live over the period's
cases: a scan that grew with the data).

Two sources give the same numbers. ``compute_facts`` groups raw rows with SQL
aggregates (``GROUP BY month, organisation, channel``); ``statistics_refresh`` stores
its result for all cases up to a watermark in ``MonthlyFact``, and a page reads the
stored rows plus ``compute_facts`` over the cases and moves above the watermark only.
Python never loops over cases: it adds up grouped rows (months × organisations ×
channels, a few thousand at most) and places them in the tables.

The module is longer than most on purpose: the live aggregates, the stored summary and the
tables built from both must agree figure by figure, and keeping them side by side in one
file is how a change to one measure is made in all three.
"""
from __future__ import annotations

import datetime
import time
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Iterable, Mapping

from django.db import transaction
from django.db.models import (
    Count,
    DurationField,
    ExpressionWrapper,
    F,
    Max,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
)
from django.db.models.functions import TruncMonth
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from mediation import permissions
from mediation.db_router import replica_reads
from mediation.models import Case, Category, Channel, LineName, Organisation
from mediation.reports.models import AMOUNT_MEASURES, MEASURES, MonthlyFact, SummaryState
from mediation.selectors import CaseFilters, case_list_visible_to, clock_halves
from workflows.clocks import CHINA_TZ, local_today
from workflows.models import TransitionLog
from workflows.states import WORKING_STATES, CaseState, Line

#: What reading figures takes: the permission, and reading the cases they count, in one grant
#: (supervisors, administrators and auditors by default; DOMAIN.md §5).
STATISTICS_PERMISSIONS: tuple[str, ...] = ("read_statistics", "view_case")

#: transition name → the measure one such move adds to.
EVENT_MEASURES: dict[str, str] = {
    "accept": "accepted",
    "reject": "rejected",
    "record_agreement": "settled",
    "terminate": "failed",
    "report_nonperformance": "nonperformed",
    "refer": "referred",
    "withdraw": "withdrawn",
    "close": "closed",
}
#: Moves that conclude mediation (DOMAIN.md §9 "concluded"): each case makes at most one.
CONCLUDING: tuple[str, ...] = ("record_agreement", "terminate")
#: Moves that end a case's stay at an organisation, and those that start one.
STAY_ENDS: tuple[str, ...] = ("record_agreement", "terminate", "withdraw", "approve_escalation")
STAY_STARTS: tuple[str, ...] = ("accept", "approve_escalation")
#: A case that has gone on to arbitration or court (the closed loop keeps it referred until closed).
REFERRED_NOW = Q(case__state=CaseState.REFERRED) | Q(case__state=CaseState.CLOSED,
                                                     case__closed_from_state=CaseState.REFERRED)
LINES: tuple[int, ...] = tuple(Line.values)

FactKey = tuple  # (month, organisation_id, channel) or (month, organisation_id, channel, category_id)

#: Measures summed from ``Case`` for every page and not stored in ``MonthlyFact``: none any more
#: (the workers involved, art. 7, are stored since the summary got their column).
LIVE_MEASURES: tuple[str, ...] = ()


# ------------------------------------------------------------------ who, and over what

def may_read_statistics(user: Any) -> bool:
    """Supervisors, administrators and auditors read figures and ledgers; mediators do not."""
    return permissions.holds(user, *STATISTICS_PERMISSIONS)


def statistics_organisations(user: Any) -> QuerySet[Organisation]:
    """The organisations whose cases count in this user's figures: the subtrees they supervise or read.

    Every case of these organisations is visible to the user through
    ``case_list_visible_to`` (the same grants give ``view_case`` on the subtree), so
    the stored summary, which knows organisations and not users, never shows more
    than the case list would.
    """
    return permissions.organisations_where(user, *STATISTICS_PERMISSIONS)


def statistics_roots(user: Any, organisations: Iterable[Organisation]) -> list[Organisation]:
    """The tops of the user's scope: the organisations of their grants (the tree's roots for the district)."""
    orgs = list(organisations)
    paths = {o.path for o in orgs}
    return sorted((o for o in orgs if not any(o.path != p and o.path.startswith(p) for p in paths)),
                  key=lambda o: o.path)


# ------------------------------------------------------------------------ the question

def month_start(day: datetime.date) -> datetime.date:
    return day.replace(day=1)


def add_months(month: datetime.date, n: int) -> datetime.date:
    index = month.year * 12 + month.month - 1 + n
    return datetime.date(index // 12, index % 12 + 1, 1)


@dataclass(frozen=True)
class StatisticsQuery:
    """Whole months ``first_month``..``last_month`` (first days), narrowed like the case list."""

    first_month: datetime.date
    last_month: datetime.date
    organisation: Organisation | None = None  # this organisation and its subtree
    line: int | None = None
    channel: str | None = None
    category: str | None = None  # Category.code

    @classmethod
    def last_twelve_months(cls, today: datetime.date | None = None, **kwargs: Any) -> "StatisticsQuery":
        this_month = month_start(today or local_today())
        return cls(first_month=add_months(this_month, -11), last_month=this_month, **kwargs)

    @property
    def start(self) -> datetime.datetime:
        # Months are China's months: a case received at 23:30 on 31 March Beijing time is March's.
        return datetime.datetime.combine(self.first_month, datetime.time.min, tzinfo=CHINA_TZ)

    @property
    def end(self) -> datetime.datetime:
        return datetime.datetime.combine(add_months(self.last_month, 1), datetime.time.min, tzinfo=CHINA_TZ)

    @property
    def months(self) -> list[datetime.date]:
        out, m = [], self.first_month
        while m <= self.last_month:
            out.append(m)
            m = add_months(m, 1)
        return out


# -------------------------------------------------------------------- the SQL aggregates

def _month(expression: str) -> TruncMonth:
    return TruncMonth(expression, tzinfo=CHINA_TZ)


def _as_month(value: Any) -> datetime.date:
    # TruncMonth gives an aware datetime (PostgreSQL) or one in UTC (SQLite); the month is China's.
    if isinstance(value, datetime.datetime):
        if timezone.is_aware(value):
            value = value.astimezone(CHINA_TZ)
        return value.date()
    return value


def _micros(value: Any) -> int:
    """A summed duration as whole microseconds (exact: sums of parts equal the sum of the whole)."""
    if value is None:
        return 0
    if isinstance(value, datetime.timedelta):
        return (value.days * 86400 + value.seconds) * 1_000_000 + value.microseconds
    return int(value)  # SQLite already returns microseconds


def _empty() -> dict[str, Any]:
    return {m: (Decimal("0") if m in AMOUNT_MEASURES else 0) for m in (*MEASURES, *LIVE_MEASURES)}


def _between(rows: QuerySet, field: str, start: datetime.datetime | None, end: datetime.datetime | None) -> QuerySet:
    """Rows whose ``field`` falls in [start, end); an open end when None."""
    if start is not None:
        rows = rows.filter(**{f"{field}__gte": start})
    if end is not None:
        rows = rows.filter(**{f"{field}__lt": end})
    return rows


def _receipts(cases: QuerySet[Case], start: datetime.datetime | None, end: datetime.datetime | None,
              case_keys: tuple[str, ...], by_category: bool) -> QuerySet:
    """The cases received in [start, end), grouped by (month, *case_keys): add the aggregates.

    Grouped over ``Case`` alone (and its categories for the by-category rows): never over its
    parties, so a case with several respondents or applicants is one case.
    """
    received = _between(cases, "received_at", start, end)
    if by_category:
        received = received.filter(categories__isnull=False)
    return received.annotate(m=_month("received_at")).values("m", *case_keys)


def _add_rows(facts: dict[FactKey, dict[str, Any]], rows: Iterable[Mapping[str, Any]], key_fields: tuple[str, ...],
              measures: Iterable[str], *, durations: bool = False) -> None:
    measures = tuple(measures)
    for row in rows:
        key = (_as_month(row["m"]), *(row[k] for k in key_fields))
        target = facts[key]
        for name in measures:
            value = row[name]
            if durations and name.startswith("stay_micros"):
                value = _micros(value)
            if value:
                target[name] += value


def compute_facts(*, cases: QuerySet[Case], logs: QuerySet[TransitionLog], start: datetime.datetime | None,
                  end: datetime.datetime | None, by_category: bool = False,
                  stays: bool = True) -> dict[FactKey, dict[str, Any]]:
    """Every measure grouped by (month, organisation, channel[, category]): three GROUP BY queries.

    ``cases`` says which cases are received; ``logs`` which moves count (their case
    must be in scope: callers pass ``TransitionLog.objects.filter(case__in=cases)``
    or all logs for the district-wide summary). ``start``/``end`` bound the events.
    """
    facts: dict[FactKey, dict[str, Any]] = defaultdict(_empty)
    case_keys: tuple[str, ...] = ("organisation_id", "channel") + (("categories",) if by_category else ())
    log_keys: tuple[str, ...] = ("case__organisation_id", "case__channel") + (
        ("case__categories",) if by_category else ())

    rows = (_receipts(cases, start, end, case_keys, by_category)
            .annotate(received=Count("pk"), collective=Count("pk", filter=Q(is_collective=True)),
                      new_form=Count("pk", filter=Q(is_new_employment_form=True)), claimed=Sum("amount_claimed"),
                      workers=Sum("workers_involved"))
            .order_by())
    _add_rows(facts, rows, case_keys, ("received", "collective", "new_form", "claimed", "workers"))

    moves = _between(logs, "at", start, end)
    if by_category:
        moves = moves.filter(case__categories__isnull=False)
    counts = {measure: Count("pk", filter=Q(transition=name)) for name, measure in EVENT_MEASURES.items()}
    rows = (moves.filter(transition__in=list(EVENT_MEASURES)).annotate(m=_month("at")).values("m", *log_keys)
            .annotate(**counts,
                      concluded_unreferred=Count("pk", filter=Q(transition__in=CONCLUDING) & ~REFERRED_NOW),
                      agreed=Sum("case__amount_agreed", filter=Q(transition="record_agreement")),
                      recovered=Sum("case__amount_recovered", filter=Q(transition="record_agreement")))
            .order_by())
    _add_rows(facts, rows, log_keys, (*EVENT_MEASURES.values(), "concluded_unreferred", "agreed", "recovered"))

    if stays:
        # A stay: from the move that brought the case to an organisation (acceptance or an
        # approved escalation) to the move that ended its work there. The start is the
        # latest such move before the end: one indexed look-up on (case, at) per stay.
        entered = (TransitionLog.objects.filter(case_id=OuterRef("case_id"), transition__in=STAY_STARTS)
                   .filter(Q(at__lt=OuterRef("at")) | Q(at=OuterRef("at"), pk__lt=OuterRef("pk")))
                   .order_by("-at", "-pk").values("at")[:1])
        ends = (moves.filter(transition__in=STAY_ENDS,
                             from_state__in=[*WORKING_STATES, CaseState.ESCALATION_PENDING])
                .annotate(entered=Subquery(entered)).filter(entered__isnull=False)
                .annotate(stay=ExpressionWrapper(F("at") - F("entered"), output_field=DurationField())))
        per_line: dict[str, Any] = {}
        for n in LINES:
            on_line = Q(from_organisation__level__line=n)
            per_line[f"stays_{n}"] = Count("pk", filter=on_line)
            per_line[f"stay_micros_{n}"] = Sum("stay", filter=on_line)
        rows = ends.annotate(m=_month("at")).values("m", *log_keys).annotate(**per_line).order_by()
        _add_rows(facts, rows, log_keys, per_line, durations=True)
    return facts


# ------------------------------------------------------------------------- the summary

def summary_state() -> SummaryState | None:
    return SummaryState.objects.order_by("-pk").first()


def statistics_refresh() -> SummaryState:
    """Rebuild ``MonthlyFact`` from every case and move up to now; returns the new watermarks.

    Run by ``manage.py refresh_statistics`` (hourly or nightly, see docs/statistics.md).
    Readers keep seeing the old rows until the transaction commits. Rows committed
    after the watermarks were read are counted live by the pages until the next run.
    """
    started = time.monotonic()
    SummaryState.objects.get_or_create(pk=1, defaults={
        "refreshed_at": timezone.now(), "case_watermark": 0, "log_watermark": 0})
    with transaction.atomic():
        # One refresh at a time: a second waits here, then rebuilds from fresher data.
        state = SummaryState.objects.select_for_update().get(pk=1)
        case_mark = Case.objects.aggregate(m=Max("pk"))["m"] or 0
        log_mark = TransitionLog.objects.aggregate(m=Max("pk"))["m"] or 0
        cases = Case.objects.filter(pk__lte=case_mark)
        logs = TransitionLog.objects.filter(pk__lte=log_mark)
        objects = []
        for by_category in (False, True):
            facts = compute_facts(cases=cases, logs=logs, start=None, end=None, by_category=by_category)
            for key, values in facts.items():
                month, org_id, channel = key[:3]
                stored = {k: v for k, v in values.items() if k not in LIVE_MEASURES}
                objects.append(MonthlyFact(month=month, organisation_id=org_id, channel=channel,
                                           category_id=key[3] if by_category else None, **stored))
        MonthlyFact.objects.all().delete()
        MonthlyFact.objects.bulk_create(objects, batch_size=2000)
        state.refreshed_at = timezone.now()
        state.case_watermark, state.log_watermark = case_mark, log_mark
        state.rows = len(objects)
        state.seconds = round(time.monotonic() - started, 3)
        state.save()
    return state


def _summary_facts(query: StatisticsQuery, organisation_ids: list[int], *, by_category: bool) -> dict[FactKey, dict]:
    qs = MonthlyFact.objects.filter(month__gte=query.first_month, month__lte=query.last_month,
                                    organisation_id__in=organisation_ids)
    if query.channel:
        qs = qs.filter(channel=query.channel)
    if by_category:
        qs = qs.filter(category__isnull=False)
        if query.category:
            qs = qs.filter(category__code=query.category)
    elif query.category:
        qs = qs.filter(category__code=query.category)
    else:
        qs = qs.filter(category__isnull=True)
    # The by-category table needs neither months nor channels (they are filters there),
    # nor stays: grouping by organisation and category alone returns a few dozen rows.
    facts: dict[FactKey, dict[str, Any]] = defaultdict(_empty)
    if by_category:
        measures = [m for m in MEASURES if not m.startswith("stay")]
        grouped = qs.values("organisation_id", "category_id").annotate(**{m: Sum(m) for m in measures}).order_by()
        keyed = ({**row, "m": None, "channel": None} for row in grouped)
        _add_rows(facts, keyed, ("organisation_id", "channel", "category_id"), measures)
        return facts
    keys = ("organisation_id", "channel")
    rows = qs.annotate(m=F("month")).values("m", *keys).annotate(**{m: Sum(m) for m in MEASURES}).order_by()
    _add_rows(facts, rows, keys, MEASURES)
    return facts


# ----------------------------------------------------------------------- the figures

@dataclass
class Figures:
    """The measures of one table row, and what follows from them."""

    values: dict[str, Any] = field(default_factory=_empty)
    grassroots: int = 0
    overdue: int | None = None

    def add(self, values: Mapping[str, Any], *, grassroots_line: bool) -> None:
        for k, v in values.items():
            self.values[k] += v
        if grassroots_line:
            self.grassroots += values["concluded_unreferred"]

    def add_overdue(self, n: int) -> None:
        """Count ``n`` more overdue cases (rows with an overdue column start at 0)."""
        self.overdue = (self.overdue or 0) + n

    def __getattr__(self, name: str) -> Any:
        values = self.__dict__.get("values")
        if values is not None and name in values:
            return values[name]
        raise AttributeError(name)

    @property
    def concluded(self) -> int:
        return self.values["settled"] + self.values["failed"]

    @property
    def success_rate(self) -> float | None:
        return self.values["settled"] / self.concluded if self.concluded else None

    @property
    def grassroots_rate(self) -> float | None:
        return self.grassroots / self.concluded if self.concluded else None

    def average_days(self, line: int) -> float | None:
        n = self.values[f"stays_{line}"]
        return self.values[f"stay_micros_{line}"] / 86_400_000_000 / n if n else None

    @property
    def average_days_by_line(self) -> list[tuple[int, float | None]]:
        return [(n, self.average_days(n)) for n in LINES]


@dataclass
class OrganisationGroup:
    """A row of the by-organisation tables: an organisation's own cases, or its whole subtree."""

    organisation: Organisation
    label: str
    own_only: bool
    drill_down: bool

    def contains(self, org: Organisation) -> bool:
        return org.pk == self.organisation.pk if self.own_only else org.path.startswith(self.organisation.path)


@dataclass
class Statistics:
    query: StatisticsQuery
    totals: Figures
    by_month: list[tuple[datetime.date, Figures]]
    by_organisation: list[tuple[OrganisationGroup, Figures]]
    by_line: list[tuple[int, str, Figures]]
    by_channel: list[tuple[str, str, Figures]]
    by_category: list[tuple[Category, Figures]]
    state: SummaryState | None
    today: datetime.date
    organisations: list[Organisation]
    roots: list[Organisation]


def organisation_groups(roots: list[Organisation], organisations: list[Organisation]) -> list[OrganisationGroup]:
    """Each root's own cases, then one row per child subtree (the townships, for the district)."""
    groups: list[OrganisationGroup] = []
    for root in roots:
        children = sorted((o for o in organisations if o.parent_id == root.pk), key=lambda o: o.path)
        if not children:
            groups.append(OrganisationGroup(root, root.display_name, own_only=False, drill_down=False))
            continue
        groups.append(OrganisationGroup(root, _("%(name)s（本级）") % {"name": root.display_name},
                                        own_only=True, drill_down=False))
        for child in children:
            has_below = any(o.parent_id == child.pk for o in organisations)
            groups.append(OrganisationGroup(child, child.display_name, own_only=False, drill_down=has_below))
    return groups


def _scope(user: Any, query: StatisticsQuery) -> tuple[list[Organisation], list[Organisation], list[Organisation]]:
    """(organisations counted, every organisation of the scope, roots) after the organisation and line filters."""
    orgs = list(statistics_organisations(user).select_related("level"))
    if query.organisation is not None:
        prefix = query.organisation.path
        orgs = [o for o in orgs if o.path.startswith(prefix)]
        roots = [o for o in orgs if o.pk == query.organisation.pk]
    else:
        roots = statistics_roots(user, orgs)
    counted = [o for o in orgs if query.line is None or o.level.line == query.line]
    return counted, orgs, roots


def _scoped_cases(user: Any, query: StatisticsQuery, organisation_ids: list[int], *,
                  with_category: bool) -> QuerySet[Case]:
    filters = CaseFilters(line=query.line, channel=query.channel,
                          category=query.category if with_category else None)
    return case_list_visible_to(user=user, filters=filters).filter(organisation_id__in=organisation_ids)


def _facts(query: StatisticsQuery, cases: QuerySet[Case], state: SummaryState | None, organisation_ids: list[int],
           *, by_category: bool) -> dict[FactKey, dict[str, Any]]:
    """The query's facts: counted live above the summary's watermarks, plus the stored rows below them."""
    case_mark = state.case_watermark if state else 0
    log_mark = state.log_watermark if state else 0
    facts = compute_facts(cases=cases.filter(pk__gt=case_mark),
                          logs=TransitionLog.objects.filter(case__in=cases, pk__gt=log_mark),
                          start=query.start, end=query.end, by_category=by_category, stays=not by_category)
    if state is not None and organisation_ids:
        for key, values in _summary_facts(query, organisation_ids, by_category=by_category).items():
            target = facts[key]
            for k, v in values.items():
                target[k] += v
    return facts


def _overdue_counts(cases: QuerySet[Case], today: datetime.date) -> dict[tuple[int, str], int]:
    """Open cases past their deadline today, by (organisation id, channel).

    ``selectors.overdue_q``'s two halves (``clock_halves``) counted apart and added: each is one
    range on one stored deadline, which a partial index answers from the index alone; the OR of
    both makes PostgreSQL visit every open case's row (300 ms at 1,000,000 cases against 20 ms;
    docs/performance.md). A test checks that the sum equals the case list's overdue count."""
    overdue: dict[tuple[int, str], int] = defaultdict(int)
    for part in clock_halves(before=today):
        for row in cases.filter(part).values("organisation_id", "channel").annotate(n=Count("pk")).order_by():
            overdue[(row["organisation_id"], row["channel"])] += row["n"]
    return overdue


@dataclass
class _Placement:
    """Where an organisation's figures go: its group row, its line, and whether that line is grassroots."""

    by_id: dict[int, Organisation]
    groups: list[OrganisationGroup]
    group_of: dict[int, OrganisationGroup | None]
    grassroots: dict[int, bool]

    @classmethod
    def of(cls, roots: list[Organisation], organisations: list[Organisation]) -> _Placement:
        groups = organisation_groups(roots, organisations)
        return cls(
            by_id={o.pk: o for o in organisations},
            groups=groups,
            group_of={o.pk: next((g for g in groups if g.contains(o)), None) for o in organisations},
            grassroots={o.pk: o.level.line in (Line.WORKPLACE, Line.JOINT) for o in organisations},
        )


@dataclass
class _Tables:
    """The rows being added up: the totals, and one row per month, organisation group, line and channel."""

    totals: Figures
    months: dict[datetime.date, Figures]
    org_rows: dict[int, Figures]  # by id() of the OrganisationGroup
    lines: dict[int, Figures]
    channels: dict[str, Figures]

    @classmethod
    def empty(cls, query: StatisticsQuery, groups: list[OrganisationGroup]) -> _Tables:
        return cls(totals=Figures(), months={m: Figures() for m in query.months},
                   org_rows={id(g): Figures() for g in groups}, lines={n: Figures() for n in LINES},
                   channels={c: Figures() for c in Channel.values})

    def add_facts(self, facts: Mapping[FactKey, Mapping[str, Any]], placement: _Placement) -> None:
        for (month, org_id, channel), values in facts.items():
            org = placement.by_id.get(org_id)
            if org is None:
                continue
            group = placement.group_of.get(org_id)
            for target in (self.totals, self.months.get(month), self.lines.get(org.level.line),
                           self.channels.get(channel), self.org_rows.get(id(group)) if group else None):
                if target is not None:
                    target.add(values, grassroots_line=placement.grassroots[org_id])

    def add_overdue(self, overdue: Mapping[tuple[int, str], int], placement: _Placement) -> None:
        # Months have no overdue column: their rows keep None.
        for target in (self.totals, *self.org_rows.values(), *self.lines.values(), *self.channels.values()):
            target.overdue = 0
        for (org_id, channel), n in overdue.items():
            org = placement.by_id.get(org_id)
            if org is None:
                continue
            self.totals.add_overdue(n)
            self.lines[org.level.line].add_overdue(n)
            if channel in self.channels:
                self.channels[channel].add_overdue(n)
            group = placement.group_of.get(org_id)
            if group:
                self.org_rows[id(group)].add_overdue(n)


def _category_figures(category_facts: Mapping[FactKey, Mapping[str, Any]], categories: list[Category],
                      placement: _Placement) -> dict[int, Figures]:
    """Figures per category id (a case with several categories counts under each)."""
    by_category = {c.pk: Figures() for c in categories}
    for key, values in category_facts.items():
        org_id, category_id = key[1], key[3]  # (month, organisation, channel, category)
        if org_id in placement.by_id and category_id in by_category:
            by_category[category_id].add(values, grassroots_line=placement.grassroots[org_id])
    return by_category


@replica_reads  # figures a few seconds behind are fine (docs/operations.md)
def statistics_compute(*, user: Any, query: StatisticsQuery, today: datetime.date | None = None,
                       use_summary: bool = True) -> Statistics:
    """All the figures of the statistics page for ``user``'s scope (DOMAIN.md §9).

    Cases come from ``case_list_visible_to`` (the case list's own selector and
    filters) and the summary is read for the same organisations only.
    """
    today = today or local_today()
    counted, organisations, roots = _scope(user, query)
    org_ids = [o.pk for o in counted]
    state = summary_state() if use_summary else None

    main_cases = _scoped_cases(user, query, org_ids, with_category=True)
    all_category_cases = _scoped_cases(user, query, org_ids, with_category=False)
    category_cases = main_cases if query.category else all_category_cases

    facts = _facts(query, main_cases, state, org_ids, by_category=False)
    category_facts = _facts(query, category_cases, state, org_ids, by_category=True)

    placement = _Placement.of(roots, organisations)
    tables = _Tables.empty(query, placement.groups)
    tables.add_facts(facts, placement)
    tables.add_overdue(_overdue_counts(main_cases, today), placement)

    categories = list(Category.objects.all())
    by_category = _category_figures(category_facts, categories, placement)

    line_names = dict(LineName.objects.values_list("number", "name"))
    return Statistics(
        query=query, totals=tables.totals, by_month=[(m, tables.months[m]) for m in query.months],
        by_organisation=[(g, tables.org_rows[id(g)]) for g in placement.groups],
        by_line=[(n, line_names.get(n) or str(Line(n).label), tables.lines[n]) for n in LINES],
        by_channel=[(c, str(label), tables.channels[c]) for c, label in Channel.choices],
        by_category=[(c, by_category[c.pk]) for c in categories
                     if not query.category or c.code == query.category],
        state=state, today=today, organisations=counted, roots=roots,
    )


# ------------------------------------------------------------- the monthly table (劳资纠纷月统计表)

#: (measure or derived property, header, kind): kind is "n" count, "pct" rate, "yuan" amount.
MONTHLY_COLUMNS: tuple[tuple[str, Any, str], ...] = (
    ("received", gettext_lazy("收案数"), "n"),
    ("workers", gettext_lazy("涉及人数"), "n"),
    ("collective", gettext_lazy("其中：集体争议"), "n"),
    ("new_form", gettext_lazy("其中：新就业形态"), "n"),
    ("accepted", gettext_lazy("受理数"), "n"),
    ("rejected", gettext_lazy("不予受理"), "n"),
    ("settled", gettext_lazy("调解成功"), "n"),
    ("failed", gettext_lazy("调解不成"), "n"),
    ("withdrawn", gettext_lazy("撤回"), "n"),
    ("referred", gettext_lazy("转仲裁/诉讼"), "n"),
    ("success_rate", gettext_lazy("调解成功率"), "pct"),
    ("grassroots_rate", gettext_lazy("基层化解率"), "pct"),
    ("claimed", gettext_lazy("涉及金额（元）"), "yuan"),
    ("agreed", gettext_lazy("协议金额（元）"), "yuan"),
    ("recovered", gettext_lazy("已履行金额（元）"), "yuan"),
)


def monthly_rows(stats: Statistics) -> list[tuple[str, list[Any]]]:
    """(label, values in MONTHLY_COLUMNS order) per organisation row, then the total."""
    def values(f: Figures) -> list[Any]:
        return [getattr(f, key) for key, _h, _k in MONTHLY_COLUMNS]

    rows = [(group.label, values(f)) for group, f in stats.by_organisation]
    rows.append((_("合计"), values(stats.totals)))
    return rows
