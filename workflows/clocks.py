"""Statutory clocks: the working-day calendar and every deadline a case carries.

The rules are in DOMAIN.md §4 and docs/clocks.md. Everything here is pure except
``WorkCalendar.from_db`` (two small queries) and ``case_deadlines``/
``stored_deadline_fields`` when they are not handed a calendar, so deadline code
can be tested with plain ``types.SimpleNamespace`` cases and no database.

Counting follows the Civil Code (民法典):

* art. 201 — a period in days starts counting on the day *after* the event, so the
  end is ``start + days``;
* art. 202 — a period in years ends on the corresponding day of the last year, or on
  the last day of that month when there is no corresponding day (29 February);
* art. 203 — when the last day is a statutory day off (法定休假日: a public holiday,
  or a weekend day that is not a swapped working day 调休), the period ends on the
  first working day after it.
"""
from __future__ import annotations

import calendar as _gregorian
import dataclasses
import datetime
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import chinese_calendar
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from workflows.states import OPEN_STATES, WORKING_STATES, CaseState

__all__ = [
    "CLOCK_RULES",
    "ClockRule",
    "Deadline",
    "DueDate",
    "WorkCalendar",
    "add_days",
    "add_working_days",
    "add_years",
    "case_deadlines",
    "consultation_awaits_reply",
    "consultation_reply_due",
    "judicial_confirmation_applies",
    "local_date",
    "local_today",
    "stored_deadline_fields",
]

#: The statutory day is the day in China, whatever timezone a user's session has
#: activated or the server is configured with: a case received at 23:30 Beijing time
#: was received that day, not the next one.
CHINA_TZ = ZoneInfo("Asia/Shanghai")

#: The longest stretch of days off we will walk through before deciding the calendar
#: data is broken. The real maximum is 9 (Spring Festival); only a mis-entered override
#: table (say, a whole year marked as holiday) could reach this.
_MAX_DAYS_OFF_IN_A_ROW = 366


# --------------------------------------------------------------------------- dates


def local_date(value: datetime.datetime) -> datetime.date:
    """The calendar date of an aware datetime in Asia/Shanghai.

    Raises ``ValueError`` for a naive datetime: guessing its zone could move a
    deadline by a day.
    """
    return timezone.localdate(value, timezone=CHINA_TZ)


def local_today() -> datetime.date:
    """Today's date in Asia/Shanghai (follows ``time_machine`` in tests)."""
    return timezone.localdate(timezone=CHINA_TZ)


@dataclass(frozen=True)
class DueDate:
    """The last day of a period, and whether every day it relied on is known.

    ``confirmed`` is False when any day the computation looked at came from the
    Monday–Friday fallback: the holiday schedule of that year was not known to the
    bundled ``chinese_calendar`` and no administrator has confirmed the year.
    """

    date: datetime.date
    confirmed: bool


def _calendar_rows() -> Any:
    """Every override (date, is_workday, None) and confirmed year (None, None, year): both tables
    in one round trip (``WorkCalendar.from_db``)."""
    from django.db.models import BooleanField, DateField, IntegerField, Value

    from workflows.models import CalendarYear, HolidayOverride

    return HolidayOverride.objects.order_by().values_list(
        "date", "is_workday", Value(None, output_field=IntegerField())).union(
        CalendarYear.objects.order_by().values_list(
            Value(None, output_field=DateField()), Value(None, output_field=BooleanField()), "year"),
        all=True)


class WorkCalendar:
    """Which days are working days under the State Council holiday schedule.

    Sources, in order:

    1. the administrator's ``HolidayOverride`` table (a correction, or a newly
       published year entered before the library is upgraded) — confirmed;
    2. ``chinese_calendar``, which includes swapped working days (调休) — confirmed;
    3. Monday to Friday, for a year neither knows — confirmed only when an
       administrator has marked the year as entered (``CalendarYear``), because then
       the absence of an override means "an ordinary day" rather than "not known".
    """

    def __init__(
        self,
        overrides: Mapping[datetime.date, bool] | None = None,
        confirmed_years: Iterable[int] = (),
    ) -> None:
        self._overrides: dict[datetime.date, bool] = dict(overrides or {})
        self._confirmed_years: frozenset[int] = frozenset(int(y) for y in confirmed_years)

    @classmethod
    def from_db(cls) -> WorkCalendar:
        """Load every override and confirmed year (one query; a few dozen rows a year).

        Build it once per request or per batch and pass it to ``case_deadlines`` so a
        list of cases does not query the calendar once per row. The statement is the same
        every time: outside a transaction (the pages that show deadlines) it is written once
        per process and planned once per connection (``mediation.prepared``); inside one (a
        registration, a move that sets a deadline) it is Django's own query, which a
        connection's lost prepared statements can never fail. What it reads is read afresh
        each time.
        """
        # Imported here, not at the top: mediation.models may import clocks, and
        # pure callers (tests with SimpleNamespace cases) need no app registry.
        from django.db import router

        from mediation import prepared
        from workflows.models import HolidayOverride

        rows = (list(_calendar_rows()) if prepared.in_transaction(router.db_for_read(HolidayOverride))
                else prepared.rows_of_anyone(("work calendar",), _calendar_rows, ()))
        overrides: dict[datetime.date, bool] = {}
        years: list[int] = []
        for day, is_workday, year in rows:
            if day is not None:
                overrides[day] = bool(is_workday)
            else:
                years.append(year)
        return cls(overrides=overrides, confirmed_years=years)

    @property
    def confirmed_years(self) -> frozenset[int]:
        return self._confirmed_years

    def is_workday(self, day: datetime.date) -> tuple[bool, bool]:
        """Return ``(is_workday, confirmed)`` for ``day``. Never raises for a date.

        Per 民法典 art. 203 a day off is a statutory holiday or a weekend day that
        is not a swapped working day, so plain weekday arithmetic is not enough.
        """
        if isinstance(day, datetime.datetime):
            # A datetime is a date subclass; an aware one belongs to its Chinese day.
            day = local_date(day) if timezone.is_aware(day) else day.date()
        override = self._overrides.get(day)
        if override is not None:
            return bool(override), True
        try:
            return bool(chinese_calendar.is_workday(day)), True
        except NotImplementedError:
            # The schedule for next year is published late each year (DOMAIN.md §4):
            # keep working with weekends and let the caller flag the result.
            return day.weekday() < 5, day.year in self._confirmed_years

    def __repr__(self) -> str:
        return (f"WorkCalendar(overrides={len(self._overrides)}, "
                f"confirmed_years={sorted(self._confirmed_years)})")


# ------------------------------------------------------------------------ counting


def _roll_to_working_day(calendar: WorkCalendar, day: datetime.date) -> DueDate:
    """Move ``day`` forward to the first working day (民法典 art. 203).

    Every day inspected counts towards ``confirmed``: if an unknown day was taken to
    be a day off, the true end could be earlier.
    """
    confirmed = True
    for _step in range(_MAX_DAYS_OFF_IN_A_ROW + 1):
        working, known = calendar.is_workday(day)
        confirmed = confirmed and known
        if working:
            return DueDate(day, confirmed)
        day += datetime.timedelta(days=1)
    raise ValueError(
        f"No working day within {_MAX_DAYS_OFF_IN_A_ROW} days after {day}: "
        "check the holiday overrides."
    )


def add_days(calendar: WorkCalendar, start: datetime.date, days: int) -> DueDate:
    """The last day of a period of ``days`` days starting on ``start``.

    民法典 art. 201: the starting day is not counted, so the nominal end is
    ``start + days``. 民法典 art. 203: if that day is a statutory day off the period
    ends on the first working day after it.
    """
    if days < 0:
        raise ValueError("days must not be negative")
    return _roll_to_working_day(calendar, start + datetime.timedelta(days=days))


def add_working_days(calendar: WorkCalendar, start: datetime.date, days: int) -> DueDate:
    """The ``days``-th working day after ``start`` (start day not counted, 民法典 art. 201).

    Used for "3 working days" (企业劳动争议协商调解规定, 人社部令第17号). Swapped
    working days (调休 weekends) count; weekday holidays do not. The result is a
    working day by construction, so art. 203 needs no separate roll-forward.
    """
    if days < 0:
        raise ValueError("days must not be negative")
    day = start
    confirmed = True
    remaining = days
    days_off_in_a_row = 0
    while remaining:
        day += datetime.timedelta(days=1)
        working, known = calendar.is_workday(day)
        confirmed = confirmed and known
        if working:
            remaining -= 1
            days_off_in_a_row = 0
        else:
            days_off_in_a_row += 1
            if days_off_in_a_row > _MAX_DAYS_OFF_IN_A_ROW:
                raise ValueError(
                    f"No working day within {_MAX_DAYS_OFF_IN_A_ROW} days after {start}: "
                    "check the holiday overrides."
                )
    return DueDate(day, confirmed)


def add_years(calendar: WorkCalendar, start: datetime.date, years: int) -> DueDate:
    """The last day of a period of ``years`` years starting on ``start``.

    民法典 art. 202: the period ends on the corresponding day of the last year; with
    no corresponding day (29 February into a common year) on the last day of that
    month. 民法典 art. 203: a day off rolls forward to the next working day.
    """
    if years < 0:
        raise ValueError("years must not be negative")
    year = start.year + years
    last_day_of_month = _gregorian.monthrange(year, start.month)[1]
    nominal = start.replace(year=year, day=min(start.day, last_day_of_month))
    return _roll_to_working_day(calendar, nominal)


# ----------------------------------------------------------------------- deadlines


@dataclass(frozen=True)
class Deadline:
    """One statutory clock of one case, as shown on the case page and in lists.

    ``due`` is the last day on which the act is still in time; the case is overdue
    from the day after. ``active`` says whether the clock matters in the case's
    current state: an inactive clock is shown for the record but never flagged.
    """

    key: str
    label: str
    basis: str
    due: datetime.date
    confirmed: bool
    active: bool

    def days_left(self, today: datetime.date) -> int:
        """Calendar days from ``today`` to ``due``: 0 on the last day, negative after."""
        return (self.due - today).days

    def is_overdue(self, today: datetime.date) -> bool:
        return self.active and today > self.due

    def is_due_soon(self, today: datetime.date, within_days: int) -> bool:
        return self.active and not self.is_overdue(today) and self.days_left(today) <= within_days


@dataclass(frozen=True)
class ClockRule:
    """What a clock is called, where it comes from and when it runs."""

    key: str
    label: str | Promise
    basis: str | Promise
    active_states: tuple[str, ...]


#: States in which the arbitration limitation still matters to the mediator. Once the
#: case is referred the claim is before the arbitration commission or court (a claim
#: interrupts the limitation, art. 27) and timing is theirs to judge; performed,
#: rejected, withdrawn and closed cases have nothing left to protect here.
_LIMITATION_STATES: tuple[str, ...] = tuple(s for s in OPEN_STATES if s != CaseState.REFERRED)

#: Every clock, in display order. Keys are stable machine names other code filters on.
CLOCK_RULES: tuple[ClockRule, ...] = (
    ClockRule("acceptance", _("受理期限"),
              _("企业劳动争议协商调解规定（人社部令第17号）"),
              (CaseState.REGISTERED,)),
    ClockRule("statutory_window", _("法定调解期间"),
              _("劳动争议调解仲裁法第十四条"),
              (CaseState.REGISTERED, *WORKING_STATES, CaseState.ESCALATION_PENDING)),
    ClockRule("mediation", _("调解期限"),
              _("企业劳动争议协商调解规定（人社部令第17号）"),
              (*WORKING_STATES, CaseState.ESCALATION_PENDING)),
    ClockRule("consultation_reply", _("协商回应期限"),
              _("企业劳动争议协商调解规定（人社部令第17号）"),
              (CaseState.REGISTERED, CaseState.SELF_RESOLUTION)),
    ClockRule("arbitration_review", _("仲裁审查申请期限"),
              _("劳动人事争议仲裁办案规则第七十四条"),
              (CaseState.SETTLED,)),
    ClockRule("judicial_confirmation", _("司法确认申请期限"),
              _("民事诉讼法第二百零五条"),
              (CaseState.SETTLED,)),
    ClockRule("limitation", _("仲裁时效"),
              _("劳动争议调解仲裁法第二十七条"),
              _LIMITATION_STATES),
)
_RULES: dict[str, ClockRule] = {rule.key: rule for rule in CLOCK_RULES}

# Statutory lengths (DOMAIN.md §4). Named so docs/clocks.md and the code can be
# compared line by line.
ACCEPTANCE_WORKING_DAYS = 3        # 人社部令第17号
STATUTORY_WINDOW_DAYS = 15         # 劳动争议调解仲裁法 art. 14
MEDIATION_DAYS = 15                # 人社部令第17号, plus consented extensions
CONSULTATION_REPLY_DAYS = 5        # 人社部令第17号
ARBITRATION_REVIEW_DAYS = 15       # 劳动人事争议仲裁办案规则 art. 74
JUDICIAL_CONFIRMATION_DAYS = 30    # 民事诉讼法 (2023) art. 205; 人民调解法 art. 33
LIMITATION_YEARS = 1               # 劳动争议调解仲裁法 art. 27


def judicial_confirmation_applies(organisation: object) -> bool:
    """Whether the parties may jointly ask a court to confirm the agreement within 30 days of it
    taking effect: for an agreement reached through any lawfully established mediation organisation
    (民事诉讼法 (2023) art. 205, art. 201 before 2024), so enterprise committees and union mediation
    centres as much as people's mediation committees (人民调解法 art. 33). Every organisation that
    handles cases here is one; the question is only whether the case has one."""
    return organisation is not None


def _deadline(key: str, due: DueDate, state: str, *, runs: bool = True) -> Deadline:
    """``runs`` False stops a clock whose act has been done, whatever the state."""
    rule = _RULES[key]
    # str() resolves the lazy strings in the language active for this request.
    return Deadline(key=key, label=str(rule.label), basis=str(rule.basis), due=due.date,
                    confirmed=due.confirmed, active=runs and state in rule.active_states)


#: Consultation outcomes that mean the other side has not answered yet (人社部令第17号).
_CONSULTATION_AWAITING_REPLY = frozenset({"", "pending"})


def consultation_reply_due(calendar: WorkCalendar, requested_on: datetime.date) -> DueDate:
    """人社部令第17号: the other side replies within 5 days of the request, else it is taken as refusing.

    Counted like every period in days (民法典 arts. 201, 203): the request day is not
    counted, and a last day that is a day off moves to the next working day.
    """
    return add_days(calendar, requested_on, CONSULTATION_REPLY_DAYS)


def consultation_awaits_reply(case: Any) -> bool:
    """A consultation was requested and neither a reply nor an outcome is on record."""
    return (case.consultation_requested_on is not None
            and getattr(case, "consultation_replied_on", None) is None
            and (getattr(case, "consultation_outcome", "") or "") in _CONSULTATION_AWAITING_REPLY)


def _acceptance_due(case: Any, calendar: WorkCalendar) -> DueDate:
    """企业劳动争议协商调解规定 (人社部令第17号): accept or reject within 3 working days of receipt."""
    return add_working_days(calendar, local_date(case.received_at), ACCEPTANCE_WORKING_DAYS)


def _mediation_due(case: Any, calendar: WorkCalendar) -> DueDate | None:
    """人社部令第17号: conclude within 15 days of acceptance, longer when both parties consent.

    The extensions are added to the base period and counted as one period, so the
    art. 203 roll-forward applies once, to the final last day.
    """
    if case.accepted_at is None:
        return None
    days = MEDIATION_DAYS + int(case.mediation_extra_days or 0)
    return add_days(calendar, local_date(case.accepted_at), days)


def case_deadlines(case: Any, *, calendar: WorkCalendar | None = None) -> list[Deadline]:
    """Every statutory clock that applies to ``case``, in display order.

    Reads only: ``state``, ``received_at``, ``accepted_at``, ``mediation_extra_days``,
    ``agreement_effective_on``, ``dispute_known_on``, ``consultation_requested_on`` (with
    ``consultation_replied_on`` and ``consultation_outcome`` when present) and
    ``organisation.is_peoples_mediation_committee`` (for the basis it cites). A clock whose start event has not
    happened is left out; one that no longer matters is returned with ``active=False``.
    Without ``calendar`` the calendar is loaded from the database (two queries).
    """
    if calendar is None:
        calendar = WorkCalendar.from_db()
    state = str(case.state)
    received_on = local_date(case.received_at)
    deadlines: list[Deadline] = [
        _deadline("acceptance", _acceptance_due(case, calendar), state),
        # 劳动争议调解仲裁法 art. 14: no agreement within 15 days of receipt and a
        # party may apply for arbitration; counted from receipt, not acceptance.
        _deadline("statutory_window",
                  add_days(calendar, received_on, STATUTORY_WINDOW_DAYS), state),
    ]
    mediation = _mediation_due(case, calendar)
    if mediation is not None:
        deadlines.append(_deadline("mediation", mediation, state))
    if case.consultation_requested_on is not None:
        # 人社部令第17号: no reply within 5 days is taken as refusing to consult. The clock
        # stops once a reply or an outcome is on record.
        deadlines.append(_deadline(
            "consultation_reply", consultation_reply_due(calendar, case.consultation_requested_on),
            state, runs=consultation_awaits_reply(case)))
    effective_on = case.agreement_effective_on
    if effective_on is not None:
        # 劳动人事争议仲裁办案规则 art. 74: joint application for arbitration review
        # within 15 days of the agreement taking effect.
        deadlines.append(_deadline(
            "arbitration_review",
            add_days(calendar, effective_on, ARBITRATION_REVIEW_DAYS), state))
        if judicial_confirmation_applies(case.organisation):
            confirmation = _deadline(
                "judicial_confirmation", add_days(calendar, effective_on, JUDICIAL_CONFIRMATION_DAYS), state)
            if case.organisation.is_peoples_mediation_committee:
                confirmation = dataclasses.replace(
                    confirmation, basis=str(_("民事诉讼法第二百零五条、人民调解法第三十三条")))
            deadlines.append(confirmation)
    if case.dispute_known_on is not None:
        # 劳动争议调解仲裁法 art. 27: one year from when the party knew or should have
        # known; a request for help (the application we received) and the other
        # side's agreement to perform (the effective agreement) interrupt it, and
        # it runs afresh from the latest interruption.
        restarts = [case.dispute_known_on, received_on]
        if effective_on is not None:
            restarts.append(effective_on)
        deadlines.append(_deadline(
            "limitation", add_years(calendar, max(restarts), LIMITATION_YEARS), state))
    return deadlines


def stored_deadline_fields(case: Any, *, calendar: WorkCalendar | None = None) -> dict[str, object]:
    """The denormalised deadline columns of the case row.

    Lists filter overdue cases in SQL on these, so every service that changes
    ``received_at``, ``accepted_at`` or the extensions must store them again, and
    so must a change to the holiday overrides. ``deadlines_confirmed`` is False when
    either date leans on the weekend fallback.
    """
    if calendar is None:
        calendar = WorkCalendar.from_db()
    acceptance = _acceptance_due(case, calendar)
    mediation = _mediation_due(case, calendar)
    return {
        "acceptance_due": acceptance.date,
        "mediation_due": mediation.date if mediation is not None else None,
        "deadlines_confirmed": acceptance.confirmed and (mediation is None or mediation.confirmed),
    }
