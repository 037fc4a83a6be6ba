"""Reads. Every list, search, export, document and statistic of cases starts from
``case_list_visible_to``, so nothing can leak around the permission rules. About 770 lines:
the lists, searches, counts and figures are kept beside the one filter they all start from."""
from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass, replace
from types import SimpleNamespace
from typing import Any

from django.conf import settings
from django.core.exceptions import EmptyResultSet
from django.db import connections, router
from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet
from django.http import Http404

from mediation import permissions, prepared
from mediation.audit import log as audit
from mediation.lookups import Keys
from mediation.models import Case, CaseTally
from workflows.clocks import local_today
from workflows.states import CaseState


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
    #: Only applications the worker made on the public pages (``Case.applied_online``, docs/portal.md).
    applied_online: bool = False
    query: str = ""
    #: What ``query`` found (``search_matches``), when the caller looked it up already.
    matched: tuple[int, ...] | None = None


#: What a case's row on the home page and the deadlines page shows (``mediation/_case_table.html``,
#: ``mediation/_tasks.html``): those lists read these, not the case's fifty other columns.
CARD_FIELDS = ("number", "state", "applied_online", "acceptance_due", "mediation_due", "deadlines_confirmed",
               "received_at", "updated_at", "consultation_requested_on", "organisation__name",
               "organisation__short_name", "employer__name")


def case_cards(qs: QuerySet[Case]) -> QuerySet[Case]:
    """``qs`` read as rows of a short list (:data:`CARD_FIELDS`), with their organisation and employer."""
    return qs.select_related("organisation", "employer").only(*CARD_FIELDS)


#: What a row of the case list shows (``mediation_tags.case_list_row``): its columns, and the sort
#: keys of the list's head (``views.cases.SORTS``), not the case's other columns.
LIST_ROW_FIELDS = ("number", "state", "applied_online", "is_collective", "is_new_employment_form", "applicant_count",
                   "received_at", "acceptance_due", "mediation_due", "deadlines_confirmed", "amount_claimed",
                   "organisation__name", "organisation__short_name", "employer__name")


def case_list_rows(qs: QuerySet[Case]) -> QuerySet[Case]:
    """``qs`` read as rows of the case list (:data:`LIST_ROW_FIELDS`); the rows of a page then get their
    first applicants' names from :func:`with_first_applicants`."""
    return qs.select_related("organisation", "employer").only(*LIST_ROW_FIELDS)


#: How many applicants a row of the case list names (the rest: "等 n 人").
LISTED_APPLICANTS = 2


#: The lengths of the statements :func:`with_first_applicants` writes once: the case list's page sizes.
APPLICANT_BATCHES = (20, 50, 100)


def with_first_applicants(cases: list[Case]) -> list[Case]:
    """``cases`` (rows of a list page), each given ``applicant_names``: the names of its first
    :data:`LISTED_APPLICANTS` applicants in their order (``position``, then as entered). One statement
    for the page, names only: a collective case's other applicants are neither read nor made into
    objects (docs/performance.md, "Fourteenth pass"). The statement is written once per process for
    each of :data:`APPLICANT_BATCHES` (``prepared.rows_of_anyone``; the ids are its parameters, a page
    with fewer rows filling the rest with ids no case has); a longer list is read as Django reads it."""
    names: dict[int, list[str]] = {case.pk: [] for case in cases}
    ids = [pk for pk in names if pk is not None]  # a case not saved has none (Django's ``__in`` leaves it out)
    if ids:
        size = next((n for n in APPLICANT_BATCHES if n >= len(ids)), None)
        if size is None:
            rows = list(_first_applicants(*ids))
        else:
            padded = (*ids, *range(-1, -(size - len(ids)) - 1, -1))
            rows = prepared.rows_of_anyone(("first applicants", size), _first_applicants, padded)
        for case_id, name in rows:
            names[case_id].append(name)
    for case in cases:
        case.applicant_names = names[case.pk]
    return cases


def _first_applicants(*case_ids: int) -> QuerySet[Any]:
    """(case id, name) of the first :data:`LISTED_APPLICANTS` applicants of each of ``case_ids``."""
    from django.db.models import Window
    from django.db.models.functions import RowNumber

    from mediation.models import CaseParty, PartyRole

    return (CaseParty.objects.filter(case_id__in=case_ids, role=PartyRole.APPLICANT)
            .annotate(nth=Window(RowNumber(), partition_by=[F("case_id")], order_by=[F("position"), F("pk")]))
            .filter(nth__lte=LISTED_APPLICANTS).order_by("case_id", "nth").values_list("case_id", "name"))


def case_list_visible_to(*, user: Any, filters: CaseFilters | None = None, closed: bool = True,
                         states: tuple[str, ...] | None = None, row_by_row: bool = False) -> QuerySet[Case]:
    """The cases ``user`` may read, narrowed by ``filters``. An unknown user sees nothing.
    ``closed=False``: less the closed cases, for a list that never shows one (``visible_cases_q``);
    so too when the filters leave every closed case out by themselves (:func:`_never_closed`).
    ``states``: those in these states only, for a list of cases in some states (``visible_cases_q``); so
    too when the filters keep to some states by themselves (:func:`_states_kept`). ``row_by_row``: the
    cases read one by one asked of each row, for a statement that reads few cases (``visible_cases_q``)."""
    states = _states_kept(filters) if states is None else states
    q = permissions.visible_cases_q(user, closed=closed and not _never_closed(filters), states=states,
                                    row_by_row=row_by_row)
    if q is None:
        return Case.objects.none()
    qs = Case.objects.filter(q)
    if filters:
        qs = _apply_filters(qs, filters, user)
    return qs


def _states_kept(f: CaseFilters | None) -> tuple[str, ...] | None:
    """The states filters ``f`` keep to by themselves, if any: the one asked for, or those of a running
    statutory clock (overdue, :func:`overdue_q`)."""
    if f is None:
        return None
    if f.state:
        return (f.state,)
    if f.overdue:
        registered, mediated = clock_half_states()
        return (*registered, *mediated)
    return None


def _never_closed(f: CaseFilters | None) -> bool:
    """Whether filters ``f`` leave every closed case out by themselves: a state other than closed, or
    overdue (a running statutory clock, :func:`overdue_q`)."""
    return f is not None and (bool(f.state and f.state != CaseState.CLOSED) or f.overdue)


def _apply_filters(qs: QuerySet[Case], f: CaseFilters, user: Any) -> QuerySet[Case]:
    if f.state:
        qs = qs.filter(state=f.state)
    if f.organisation_id:
        qs = qs.filter(organisation_id=f.organisation_id)
    if f.line:
        qs = qs.filter(organisation__level__line=f.line)
    # Multi-valued filters are subqueries, not joins: no duplicate rows, no DISTINCT over 100,000 cases.
    if f.category:
        # A correlated EXISTS: the list walks its order and asks each case, so a common category (half
        # of all cases are about wages) never means reading every case of that category first.
        qs = qs.filter(Exists(Case.categories.through.objects.filter(case_id=OuterRef("pk"),
                                                                     category__code=f.category)))
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
    if f.applied_online:
        qs = qs.filter(applied_online=True)
    if f.query:
        qs = qs.filter(pk__any_of=Keys(f.matched)) if f.matched is not None else qs.filter(search_q(f.query, user=user))
    return qs


def visible_case_count(*, user: Any, filters: CaseFilters, request: Any = None) -> int | None:
    """How many cases the case list shows, exactly, when the tallies can say (no filter but the
    state, the organisation and "overdue") or a search alone narrows the list (what it found:
    :func:`search_matches` keeps only the user's own cases); ``None`` when only counting the rows
    would tell.

    Given the ``request`` (whose user is ``user``), a count over the whole reach reads the figures
    the page's frame counts anyway (:func:`frame_figures`): no second query for the same sums."""
    if filters.matched is not None and replace(filters, query="", matched=None) == CaseFilters():
        return len(filters.matched)
    if filters.query or replace(filters, state=None, organisation_id=None, overdue=False) != CaseFilters():
        return None
    today = local_today()
    if request is not None and filters.organisation_id is None and request.user.pk == getattr(user, "pk", None):
        from mediation.frame import frame_figures

        counts = frame_figures(request, today)["overdue" if filters.overdue else "all"]
    else:
        counts = visible_case_counts(user=user, before=today if filters.overdue else None,
                                     organisation_id=filters.organisation_id)
    return counts.get(filters.state, 0) if filters.state else sum(counts.values())


#: A search narrows the list to at most this many cases; a broader one says so (docs/performance.md).
SEARCH_LIMIT = 500
#: Shorter queries match names and numbers from their beginning: a substring of one or two
#: characters cannot use the trigram indexes, and would read every party of every case.
SEARCH_SUBSTRING_MIN = 3


def search_matches(text: str, *, user: Any = None) -> tuple[list[int], bool]:
    """The cases a search finds among those ``user`` may read, at most ``SEARCH_LIMIT`` of them, and
    whether there were more (the case list: its page and its count then read only those cases).

    The limit counts the user's own cases only: what lies beyond their reach never takes a place in
    it nor makes "more were found" appear. The matches are gathered by the indexes alone first (a
    ``SEARCH_CHUNK`` of them, then up to ``SEARCH_GATHER``) and the user's kept, until all were
    gathered or more than the limit of them are the user's own. Only when neither happens, or when
    the first gathering shows too small a share of the user's own for the second to succeed (a
    broad search by someone who reads a small part of the cases), is it asked among the user's
    cases directly (slower, the same answer). The gathering's cost does not grow with the cases;
    asking among the user's cases does."""
    sources = _search_sources(text, user=user)
    if not sources:
        return [], False
    if user is None or permissions.sees_everything(user):
        return _first_matches(sources)
    checked: set[int] = set()
    mine: list[int] = []
    for gather in (SEARCH_CHUNK, SEARCH_GATHER):  # a few first: most searches need no more
        rows = _gathered(sources, gather)
        fresh = [pk for pk in dict.fromkeys(rows) if pk not in checked]
        checked.update(fresh)
        mine += _own_among(fresh, user, need=SEARCH_LIMIT + 1 - len(mine))
        if len(rows) < gather or len(mine) > SEARCH_LIMIT:
            # Every match is here, or more of the user's own than the limit already: either way the
            # answer is known (the limit's worth of their own, and whether there were more).
            return mine[:SEARCH_LIMIT], len(mine) > SEARCH_LIMIT
        if len(mine) * SEARCH_GATHER <= SEARCH_LIMIT * len(rows):
            break  # at this share of their own, the broader gathering would not find enough either
    return _first_matches(_search_sources(text, user=user, scoped=True))


def _own_among(ids: list[int], user: Any, *, need: int) -> list[int]:
    """Those of ``ids`` that ``user`` may read, in their order: checked ``SEARCH_CHUNK`` at a time (by
    the primary key's index), and only until ``need`` of them are found."""
    # A few thousand cases at most: the user's grants asked of each, when they are many.
    visible = case_list_visible_to(user=user, row_by_row=permissions.asks_grants_row_by_row(user)).order_by()
    mine: list[int] = []
    for start in range(0, len(ids), SEARCH_CHUNK):
        chunk = ids[start:start + SEARCH_CHUNK]
        own = set(visible.filter(pk__any_of=Keys(chunk)).values_list("pk", flat=True))
        mine += [pk for pk in chunk if pk in own]
        if len(mine) >= need:
            break
    return mine


#: How many matches a search gathers by the indexes alone before keeping the user's own.
SEARCH_GATHER = SEARCH_LIMIT * 20
#: How many are gathered first, and checked against the user's reach by the primary key's index:
#: most searches by someone with a good share of the cases need no more.
SEARCH_CHUNK = SEARCH_LIMIT * 4


def _gathered(sources: list[QuerySet[Any]], limit: int) -> list[int]:
    """The first ``limit`` case ids the ways of matching give, one way after another (repeats kept).

    Each way is read no further than the limit either (where the database allows a limit inside a
    ``UNION``: PostgreSQL does, SQLite does not): as many rows are gathered, the same ones when every
    way has fewer matches than the limit (beyond it, which of a way's matches come first was never
    fixed: there is no order), but PostgreSQL plans each way for its first rows. A text that most
    names hold (the district's name, which every employer's begins with) is then read from the table
    until enough match, not first looked up whole in the trigram index — at a million cases, some
    200,000 parties' names gathered to keep 2,000."""
    if connections[sources[0].db].features.supports_slicing_ordering_in_compound:
        sources = [source[:limit] for source in sources]
    return list(sources[0].union(*sources[1:], all=True)[:limit])


def _first_matches(sources: list[QuerySet[Any]]) -> tuple[list[int], bool]:
    rows = _gathered(sources, SEARCH_LIMIT * 3)
    ids = list(dict.fromkeys(rows))
    return ids[:SEARCH_LIMIT], len(ids) > SEARCH_LIMIT or len(rows) == SEARCH_LIMIT * 3


def search_q(text: str, *, user: Any = None) -> Q:
    """Every case a search finds, as a filter (exports: no limit; the caller's own filter keeps the
    user's cases)."""
    sources = _search_sources(text, user=user)
    if not sources:
        return Q(pk__in=[])
    return Q(pk__in=sources[0].union(*sources[1:]))


def _search_sources(text: str, *, user: Any = None, scoped: bool = False) -> list[QuerySet[Any]]:
    """The ways a search matches — employer name or an exact credit code, case number, party name, or
    an exact ID number — each as an index lookup returning case ids (trigram indexes for substrings,
    B-tree prefixes for short queries), in that order.

    With ``scoped``, each way looks only among the cases ``user`` may read (before any limit).
    The ``user`` also decides whether a whole case number is looked up by its own index."""
    from mediation.identity import normalize_credit_code, normalize_id_number
    from mediation.models import CaseParty, Employer

    text = text.strip()
    if not text:
        return []
    own = case_list_visible_to(user=user) if user is not None else Case.objects.all()
    scoped = scoped and user is not None and not permissions.sees_everything(user)
    cases = own if scoped else Case.objects.all()

    def parties(**match: Any) -> QuerySet[Any]:
        # Scoped, the parties' matches are reached through the case, whose reach is tested case by
        # case; otherwise straight from the parties' own index.
        if scoped:
            joined = {f"parties__{k}": v for k, v in match.items()}
            return cases.filter(**joined).order_by().values_list("pk", flat=True)
        return CaseParty.objects.filter(**match).order_by().values_list("case_id", flat=True)

    lookup = "icontains" if len(text) >= SEARCH_SUBSTRING_MIN else "istartswith"
    employers = Q(**{f"name__{lookup}": text})
    numbers = cases.filter(**{f"number__{lookup}": text})
    if user is not None and any(c.isdigit() for c in text) and own.filter(number=text).exists():
        # A whole case number the user may read finds its case by the number's own index. (Read as
        # a substring of every number, its common pieces — the year, the brackets — would make the
        # trigram index hand over every case of the year to be checked: the cost would grow with the
        # cases.) Asked among the user's own cases only: whether a number exists beyond them must
        # not change what the search shows.
        numbers = cases.filter(number=text)
    compact = normalize_id_number(text)
    if len(compact) == 18:
        employers |= Q(credit_code=normalize_credit_code(text))
    # The employers' cases first: their ids come from the index of each employer's cases alone
    # ("case_employer_cases"), as far as the gathering needs. A text that is (part of) an employer's
    # name is also the name of each of its cases' principal respondent: asked first, the parties' names would
    # have the trigram index list all those parties before the first was read.
    found = [cases.filter(employer_id__in=Employer.objects.filter(employers).values("pk"))
             .order_by().values_list("pk", flat=True),
             numbers.order_by().values_list("pk", flat=True), parties(**{f"name__{lookup}": text})]
    if len(compact) == 18:
        # Exact match only: a partial ID number is no way to look people up.
        found.append(parties(person__id_number=compact))
    return found


def overdue_q(today: datetime.date) -> Q:
    """Cases past a stored statutory deadline that is still running."""
    return clock_q(before=today)


def clock_q(*, before: datetime.date | None = None, start: datetime.date | None = None,
            end: datetime.date | None = None) -> Q:
    """Cases whose running statutory clock falls due before ``before`` / from ``start`` to ``end``:
    the acceptance period while registered, the mediation period while mediated or waiting for
    an escalation decision (the same rows ``tallies.running_due_q`` selects in the tallies)."""
    registered, mediated = clock_halves(before=before, start=start, end=end)
    return registered | mediated


def clock_halves(*, before: datetime.date | None = None, start: datetime.date | None = None,
                 end: datetime.date | None = None) -> tuple[Q, Q]:
    """:func:`clock_q`'s two halves apart — the registered cases by their acceptance deadline, the
    mediated ones by their mediation deadline — for a query that reads each half in its own
    deadline's order (each half is what one partial index of ``Case`` holds)."""
    def due(field: str) -> dict[str, datetime.date]:
        bounds = {f"{field}__lt": before, f"{field}__gte": start, f"{field}__lte": end}
        return {k: v for k, v in bounds.items() if v is not None}

    registered, mediated = clock_half_states()
    return (Q(state__in=registered, **due("acceptance_due")), Q(state__in=mediated, **due("mediation_due")))


def clock_half_states() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The states of :func:`clock_halves`' two halves: registered (the acceptance deadline runs), being
    mediated or waiting for an escalation decision (the mediation deadline runs)."""
    from mediation.tallies import MEDIATION_CLOCK_STATES

    return (CaseState.REGISTERED,), MEDIATION_CLOCK_STATES


def due_soon_end(today: datetime.date, within_days: int | None = None) -> datetime.date:
    """The last day "due soon" reaches from ``today`` (``settings.DUE_SOON_DAYS`` unless told)."""
    within = settings.DUE_SOON_DAYS if within_days is None else within_days
    return today + datetime.timedelta(days=within)


def due_soon_q(today: datetime.date, within_days: int | None = None) -> Q:
    return clock_q(start=today, end=due_soon_end(today, within_days))


#: A window of the running statutory clock for :func:`visible_case_figures`: ``before`` / ``start``
#: / ``end`` as in :func:`clock_q`; no bounds at all means every case.
Window = dict[str, "datetime.date | None"]


def visible_case_counts(*, user: Any, before: datetime.date | None = None, start: datetime.date | None = None,
                        end: datetime.date | None = None, organisation_id: int | None = None) -> dict[str, int]:
    """How many cases ``user`` may read, per state; with a date, only those whose running statutory
    clock falls due before ``before`` / from ``start`` to ``end`` (:func:`clock_q`)."""
    window = {"before": before, "start": start, "end": end}
    return visible_case_figures(user=user, windows={"n": window}, organisation_id=organisation_id)["n"]


def visible_case_figures(*, user: Any, windows: dict[str, Window],
                         organisation_id: int | None = None) -> dict[str, dict[str, int]]:
    """For each named window (:data:`Window`), how many cases ``user`` may read, per state.

    The exact figures without reading the scope, all windows in one query: the tallies of the
    organisations the user's grants reach and of their per-case grants (``mediation/tallies.py``),
    plus a live count of the few cases waiting for their decision beyond that reach.
    """
    sql, params = figures_statement(user, windows, organisation_id)
    if not sql:
        return {name: {} for name in windows}
    return figures_of(prepared.fetchall(router.db_for_read(CaseTally), (sql, params)), list(windows))


def figures_of(rows: list[tuple[Any, ...]], names: list[str]) -> dict[str, dict[str, int]]:
    """The figures per window and state from the (state, n per window) rows of
    :func:`figures_statement`, whatever its parts: their figures summed."""
    figures: dict[str, dict[str, int]] = {name: {} for name in names}
    for state, *values in rows:
        for name, n in zip(names, values, strict=True):
            if n:
                figures[name][state] = figures[name].get(state, 0) + int(n)
    return figures


def figures_statement(user: Any, windows: dict[str, Window],
                      organisation_id: int | None = None) -> tuple[str, tuple[Any, ...]]:
    """The statement of :func:`visible_case_figures` — (SQL, parameters); no SQL when the user may
    read nothing or it can match nothing. It depends on the user's grants, the windows and the
    organisation only, so it is written once per process for each (``mediation/prepared.py``): building
    and writing it cost more than the database's answer."""
    if permissions.visible_cases_q(user) is None or not windows:
        return "", ()
    names = list(windows)
    key = ("figures", organisation_id, tuple((name, tuple(sorted(windows[name].items()))) for name in names))
    return prepared.statement(user, key, lambda: _figures_statement(
        user, names, [windows[name] for name in names], organisation_id))


def _figures_statement(user: Any, names: list[str], windows: list[Window],
                       organisation_id: int | None) -> tuple[str, tuple[Any, ...]]:
    """The one statement of :func:`visible_case_figures` — (SQL, parameters); no SQL when it can
    match nothing — whose (state, n per window) rows are summed."""
    from mediation import tallies

    bounds = [{k: v for k, v in window.items() if v is not None} for window in windows]
    where = Q(organisation_id=organisation_id) if organisation_id is not None else Q()
    if all(bounds):  # every window dated: only the tally rows some window counts
        dated = Q(pk__in=[])
        for b in bounds:
            dated |= tallies.running_due_q(**b)
        where &= dated
    if permissions.sees_everything(user):
        parts = [tallies.state_sums(tallies.case_rows(where), bounds)]
    else:
        # The organisations the user reads whole (the same reach as ``visible_cases_q``), then
        # what lies beyond them: per-case grants, kept per user too (GrantTally), and cases waiting
        # for the user's decision on their escalation — a few, counted live (any already counted
        # by a grant aside).
        reach = permissions.scope_q(user, "view_case")
        parts = [tallies.state_sums(tallies.case_rows(where & reach if reach is not None else Q(pk__in=[])), bounds)]
        if permissions.reads_per_case_grants(user):
            parts.append(tallies.state_sums(tallies.granted_rows(user.pk, where, outside=reach), bounds))
        waiting = permissions.escalations_awaiting_beyond_reach_q(user)
        if waiting is not None:
            extra = Case.objects.filter(waiting)
            if permissions.reads_per_case_grants(user):
                extra = extra.exclude(pk__in=permissions.granted_case_ids(user))
            if organisation_id is not None:
                extra = extra.filter(organisation_id=organisation_id)
            columns = [f"w{i}" for i in range(len(names))]
            counted = {c: Count("pk", filter=clock_q(**b)) if b else Count("pk")
                       for c, b in zip(columns, bounds, strict=True)}
            parts.append(extra.order_by().values("state").annotate(**counted).values_list("state", *columns))
    combined = parts[0].union(*parts[1:], all=True) if len(parts) > 1 else parts[0]
    try:
        sql, params = combined.query.get_compiler(using=combined.db).as_sql()
    except EmptyResultSet:
        return "", ()
    return sql, tuple(params)


def case_deadline_watchlist(*, user: Any, today: datetime.date | None = None,
                            within_days: int | None = None) -> dict[str, QuerySet[Case]]:
    """Overdue and due-soon cases among those the user may see, for mediators' and supervisors' lists."""
    today = today or local_today()
    visible = case_list_visible_to(user=user, closed=False).select_related("organisation", "employer")
    return {
        "overdue": visible.filter(overdue_q(today)).order_by("acceptance_due", "mediation_due"),
        "due_soon": visible.filter(due_soon_q(today, within_days)).order_by("acceptance_due", "mediation_due"),
    }


def soonest_due(*, user: Any, limit: int, before: datetime.date | None = None, start: datetime.date | None = None,
                end: datetime.date | None = None) -> list[Case]:
    """The ``limit`` cases the user may see whose running clock falls due first (within the bounds of
    :func:`clock_q`), most urgent first: each half of the clock read in its own deadline's order
    (an index range each, stopping at ``limit``), the two merged (:func:`first_merged`). Each case
    comes with ``clock_due``, the deadline it was ranked by (none last)."""
    halves = dict(zip(("acceptance_due", "mediation_due"), clock_halves(before=before, start=start, end=end),
                      strict=True))

    states = dict(zip(("acceptance_due", "mediation_due"), clock_half_states(), strict=True))

    def half(deadline: str) -> QuerySet[Case]:
        return (case_cards(case_list_visible_to(user=user, states=states[deadline])).filter(halves[deadline])
                .annotate(clock_due=F(deadline)).order_by(F(deadline).asc(nulls_last=True), "pk")[:limit])

    return first_merged(user, ("soonest_due", limit, before, start, end),
                        [lambda: half("acceptance_due"), lambda: half("mediation_due")],
                        (F("clock_due").asc(nulls_last=True), "pk"), limit,
                        lambda c: (c.clock_due or datetime.date.max, c.pk))


def first_merged(user: Any, key: tuple[Any, ...], parts: list[Callable[[], QuerySet[Any]]], order: tuple[Any, ...],
                 limit: int, sort_key: Callable[[Any], Any]) -> list[Any]:
    """The first ``limit`` rows, in ``order``, of what ``parts`` give (querysets of the same columns, each
    already ordered and limited: a short index walk each): on a database that orders and limits within a
    compound statement (PostgreSQL), one statement merges them; elsewhere (SQLite), each is read and the
    rows are merged here by ``sort_key``, the same order in Python. Read through ``prepared.rows`` for
    ``user`` and ``key``: whatever ``parts`` read must be in the key."""
    if connections[router.db_for_read(Case)].features.supports_slicing_ordering_in_compound:
        return prepared.rows(user, key, lambda: _merged([part() for part in parts], order, limit))
    found = [row for i, part in enumerate(parts) for row in prepared.rows(user, (*key, i), part)]
    return sorted(found, key=sort_key)[:limit]


def _merged(parts: list[QuerySet[Any]], order: tuple[Any, ...], limit: int) -> QuerySet[Any]:
    """:func:`first_merged`'s one statement. A part that can match nothing (a user who reads nothing) is
    left out; a part alone is its own order already."""
    found = [part for part in parts if not part.query.is_empty()]
    if len(found) <= 1:
        return found[0] if found else parts[0]
    return found[0].union(*found[1:], all=True).order_by(*order)[:limit]


def case_get_for_user(*, user: Any, case_id: int, purpose: str = "view",
                      annotations: dict[str, Any] | None = None) -> Case:
    """One case, if the user may see it; otherwise 404, so its existence is not revealed.

    Reads by those who do not work the case (auditors, administrators) are logged (DOMAIN.md §5).
    ``annotations`` are read in the same query (the case page asks which related rows exist).
    """
    # Written once per process for the user's reach (``mediation/prepared.py``): the case's id is
    # the statement's own value; annotations are the very object given (pass a constant).
    # Whether the user holds any per-case grant on it comes with the case (none, nearly always: then
    # the grants' own statement is spared).
    found = prepared.rows(user, ("case", prepared.Same(annotations)), lambda pk: (
        case_list_visible_to(user=user).filter(pk=pk)
        .annotate(**(annotations or {}), case_grants_held=permissions.case_grants_held(user))
        .select_related("organisation__level", "registered_organisation", "employer", "platform", "created_by")
        .order_by("pk")[:1]), values=(int(case_id),))
    if not found:
        raise Http404
    case = found[0]
    permissions.note_case_grants_held(user, case.pk, case.case_grants_held)
    if permissions.read_is_logged(user, case):  # on the audit trail, the one record of reads
        audit.record(actor=user, action="case.read", obj=case, new={"purpose": purpose[:60]})
    return case


def mediators_of(organisation) -> QuerySet:
    """Active users who may be assigned to cases of this organisation: its members who work cases."""
    return permissions.members_holding("work_case", [organisation]).order_by("username")


def mediators_by_organisation(organisation_ids: list[int]) -> dict[int, list[Any]]:
    """:func:`mediators_of` for several organisations in one query (the escalation queue), written once
    per process for those organisations and planned once per connection (``prepared``)."""
    ids = sorted(set(organisation_ids))
    found: dict[int, list[Any]] = {pk: [] for pk in ids}
    for m in prepared.rows_of_anyone(("mediators_by_organisation", tuple(ids)), lambda: (
            permissions.memberships_holding("work_case", ids).select_related("user").order_by("user__username")), ()):
        if m.user not in found[m.organisation_id]:
            found[m.organisation_id].append(m.user)
    return found


def decided_by_another(organisation: Any, *, exclude: Any) -> bool:
    """Whether anyone but ``exclude`` may decide an escalation into ``organisation``
    (``permissions.escalation_deciders``, the rule), read through a statement written once per process
    for the organisation's place in the tree and planned once per connection (``prepared``), the one
    left out its parameter: the case page asks it of each organisation above the case's."""
    key = ("escalation_deciders.another", organisation.pk, organisation.path)
    if exclude is None:
        return bool(prepared.rows_of_anyone((*key, None), lambda: permissions.escalation_deciders(
            organisation).values_list("pk", flat=True)[:1], ()))
    return bool(prepared.rows_of_anyone(key, lambda pk: permissions.escalation_deciders(
        organisation, exclude=SimpleNamespace(pk=pk)).values_list("pk", flat=True)[:1], (exclude.pk,)))


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

    today = today or local_today()
    found: dict[str, Any] = {"follow_up": [], "referral_outcome": [], "instalment_overdue": [],
                             "consultation_reply": [], "follow_up_count": 0, "referral_outcome_count": 0,
                             "instalment_overdue_count": 0, "consultation_reply_count": 0}
    scope = _follow_through_q(user)
    if scope is None:
        return found
    # Each list and the counts are written once per process for the user's reach and the day
    # (``mediation/prepared.py``), and read afresh: the querysets are built only to write them.
    built: dict[str, QuerySet[Case]] = {}

    def waiting_for(name: str) -> QuerySet[Case]:
        if not built:
            built.update(_follow_through_sets(user, scope, today))
        return built[name]

    def first(name: str, field: str, **annotations: Any) -> list[Case]:
        return prepared.rows(user, ("follow_through", name, today, limit), lambda: (
            _first(waiting_for(name), field, limit).annotate(**annotations)))

    rows = first("follow_up", "awaiting_visit_since", performed_at=F("awaiting_visit_since"))
    for case in rows:
        case.task_due = follow_up_due(case.performed_at)  # type: ignore[attr-defined]
    found["follow_up"] = rows
    found["referral_outcome"] = first("referral_outcome", "awaiting_outcome_since",
                                      task_since=F("awaiting_outcome_since"))
    found["instalment_overdue"] = first("instalment_overdue", "next_instalment_due", task_due=F("next_instalment_due"))

    from workflows.clocks import WorkCalendar, consultation_reply_due

    waiting: list[Case] = first("consultation_reply", "consultation_requested_on")
    calendar = WorkCalendar.from_db() if waiting else None
    for asked in waiting:
        assert calendar is not None and asked.consultation_requested_on is not None  # the filter above
        due = consultation_reply_due(calendar, asked.consultation_requested_on)
        asked.task_due, asked.task_confirmed = due.date, due.confirmed  # type: ignore[attr-defined]
    found["consultation_reply"] = waiting
    names = ("follow_up", "referral_outcome", "instalment_overdue", "consultation_reply")
    counts = prepared.statement(user, ("follow_through.counts", today, TASK_COUNT_CAP), lambda: capped_counts_statement(
        *[waiting_for(name) for name in names]))
    for name, n in zip(names, prepared.fetchall(router.db_for_read(Case), counts)[0], strict=True):
        found[f"{name}_count"] = int(n)
    return found


def _follow_through_sets(user: Any, scope: Q, today: datetime.date) -> dict[str, QuerySet[Case]]:
    """:func:`follow_through`'s four kinds of waiting cases, each in no order yet."""
    from mediation.services import CONSULTATION_STATES

    # Each kind is of cases in some states only: the grants on cases in other states are not read
    # (``visible_cases_q``), and none of them is ever closed.
    def base(*states: str) -> QuerySet[Case]:
        return case_list_visible_to(user=user, states=states).filter(scope)

    works = permissions.scope_q(user, "work_case")
    return {
        # Each list walks an index in the order it is shown (the performance's log rows, the pending
        # referrals, the unpaid instalments, the open consultations) and stops at ``limit``; each
        # count stops at TASK_COUNT_CAP + 1 ("99+"): no step reads the whole scope.
        # Performed, no follow-up visit yet; referred, no outcome yet: the database keeps since when
        # (Case.awaiting_visit_since, Case.awaiting_outcome_since, mediation/tallies.py).
        "follow_up": base(CaseState.PERFORMED).filter(awaiting_visit_since__isnull=False),
        "referral_outcome": base(CaseState.REFERRED).filter(awaiting_outcome_since__isnull=False),
        # Settled, an instalment of the effective agreement unpaid past its date: the database keeps
        # each settled case's earliest unpaid date (Case.next_instalment_due, mediation/tallies.py).
        "instalment_overdue": base(CaseState.SETTLED).filter(next_instalment_due__lt=today),
        "consultation_reply": (case_list_visible_to(user=user, states=CONSULTATION_STATES)
                               .filter(scope if works is None else scope | works)
                               .filter(consultation_requested_on__isnull=False,
                                       consultation_replied_on__isnull=True,
                                       consultation_outcome__in=["", "pending"])),
    }


def _first(cases: QuerySet[Case], field: str, limit: int) -> QuerySet[Case]:
    """The first ``limit`` of ``cases`` by ``field`` (then id), as rows of a short list: their ids are
    found first, from the follow-through's own index alone (it holds the organisation and the id the
    user's reach is checked against: no row is read for a case the user may not see), then their rows.
    """
    first = cases.order_by(field, "pk").values("pk")[:limit]
    return case_cards(Case.objects.filter(pk__in=first)).order_by(field, "pk")


#: A count of things to do stops here: "99+" says enough, and counting on would read the scope.
TASK_COUNT_CAP = 99


def capped_counts(*querysets: QuerySet[Any], cap: int = TASK_COUNT_CAP) -> list[int]:
    """Each queryset's ``count()``, but at most ``cap`` + 1 (read as "more than ``cap``"): all in one
    query, a scalar subquery each that stops at ``cap`` + 1 rows."""
    if not querysets:
        return []
    return run_counts(capped_counts_statement(*querysets, cap=cap), querysets[0].db)


def capped_counts_statement(*querysets: QuerySet[Any], cap: int = TASK_COUNT_CAP) -> prepared.Statement:
    """:func:`capped_counts`'s statement: (SQL, parameters)."""
    columns: list[str] = []
    params: list[Any] = []
    for queryset in querysets:
        sql, values = capped_count_sql(queryset, cap=cap)
        columns.append(sql)
        params.extend(values)
    return f"SELECT {', '.join(columns)}", tuple(params)


def capped_count(user: Any, key: tuple[Any, ...], rows: Callable[[], QuerySet[Any]], cap: int) -> int:
    """:func:`capped_counts` of what ``rows`` gives, its statement written once per process for ``user``
    and ``key`` (whatever ``rows`` reads must be in the key) and planned once per connection."""
    written = prepared.statement(user, (*key, cap), lambda: capped_counts_statement(rows(), cap=cap))
    return int(prepared.fetchall(router.db_for_read(Case), written)[0][0])


def run_counts(statement: prepared.Statement, using: str) -> list[int]:
    """The counts a :func:`capped_counts_statement` finds, read on the database ``using``."""
    sql, params = statement
    with connections[using].cursor() as cursor:
        cursor.execute(sql, params)
        return [int(n) for n in cursor.fetchone()]


def capped_count_sql(queryset: QuerySet[Any], *, cap: int | None = TASK_COUNT_CAP) -> tuple[str, tuple[Any, ...]]:
    """:func:`capped_counts`'s count of ``queryset`` as a scalar subquery: (SQL, parameters); every row
    counted with ``cap=None``."""
    from django.core.exceptions import EmptyResultSet

    try:
        rows = queryset.order_by().values("pk")
        query = (rows if cap is None else rows[: cap + 1]).query
        sql, values = query.get_compiler(using=queryset.db).as_sql()
    except EmptyResultSet:  # a filter that can match nothing (Case.objects.none())
        return "0", ()
    return f"(SELECT COUNT(*) FROM ({sql}) AS capped)", tuple(values)
