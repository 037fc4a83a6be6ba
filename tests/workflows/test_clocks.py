"""Statutory clocks (DOMAIN.md §4, docs/clocks.md).

Expectations around National Day 2026 are built from the State Council notice
(国务院办公厅关于2026年部分节假日安排的通知, 2025-11-04), typed in below, and
checked with a counter written independently of ``workflows.clocks``.
"""
from __future__ import annotations

import datetime
import types
from zoneinfo import ZoneInfo

import chinese_calendar
import pytest
import time_machine
from django.db import connection

from workflows.clocks import (
    Deadline,
    DueDate,
    WorkCalendar,
    add_days,
    add_working_days,
    add_years,
    case_deadlines,
    local_date,
    local_today,
    stored_deadline_fields,
)
from workflows.states import CaseState

D = datetime.date
SHANGHAI = ZoneInfo("Asia/Shanghai")

# --- The official schedule around National Day 2026, from the notice itself -------
# 六、中秋节：9月25日（周五）至27日（周日）放假，共3天。
# 七、国庆节：10月1日（周四）至7日（周三）放假调休，共7天。9月20日（周日）、10月10日（周六）上班。
OFFICIAL_DAYS_OFF_2026 = {D(2026, 9, 25), D(2026, 9, 26), D(2026, 9, 27)} | {
    D(2026, 10, day) for day in range(1, 8)
}
OFFICIAL_SWAPPED_WORKDAYS_2026 = {D(2026, 9, 20), D(2026, 10, 10)}
OFFICIAL_WINDOW = (D(2026, 9, 14), D(2026, 10, 25))  # the stretch the lists above cover


def official_is_workday(day: datetime.date) -> bool:
    """Independent of the code under test: the notice plus Monday–Friday."""
    assert OFFICIAL_WINDOW[0] <= day <= OFFICIAL_WINDOW[1], "outside the typed-in schedule"
    if day in OFFICIAL_SWAPPED_WORKDAYS_2026:
        return True
    if day in OFFICIAL_DAYS_OFF_2026:
        return False
    return day.weekday() < 5


def official_nth_working_day_after(start: datetime.date, n: int) -> datetime.date:
    day = start
    while n:
        day += datetime.timedelta(days=1)
        if official_is_workday(day):
            n -= 1
    return day


def official_period_end(start: datetime.date, days: int) -> datetime.date:
    """民法典 art. 201 and 203 written out longhand."""
    day = start + datetime.timedelta(days=days)
    while not official_is_workday(day):
        day += datetime.timedelta(days=1)
    return day


def shanghai(year: int, month: int, day: int, hour: int = 10, minute: int = 0) -> datetime.datetime:
    return datetime.datetime(year, month, day, hour, minute, tzinfo=SHANGHAI)


def make_case(**overrides: object) -> types.SimpleNamespace:
    values: dict[str, object] = {
        "state": CaseState.REGISTERED,
        "received_at": shanghai(2026, 9, 29),
        "accepted_at": None,
        "mediation_extra_days": 0,
        "agreement_effective_on": None,
        "dispute_known_on": None,
        "consultation_requested_on": None,
        "organisation": types.SimpleNamespace(is_peoples_mediation_committee=False),
    }
    values.update(overrides)
    return types.SimpleNamespace(**values)


def by_key(deadlines: list[Deadline]) -> dict[str, Deadline]:
    return {deadline.key: deadline for deadline in deadlines}


@pytest.fixture
def calendar() -> WorkCalendar:
    """The bundled schedule only: no overrides, no confirmed years."""
    return WorkCalendar()


# --- the calendar ----------------------------------------------------------------


def test_bundled_schedule_agrees_with_the_2026_national_day_notice() -> None:
    day = OFFICIAL_WINDOW[0]
    while day <= OFFICIAL_WINDOW[1]:
        assert chinese_calendar.is_workday(day) is official_is_workday(day), day
        day += datetime.timedelta(days=1)


def test_saturday_october_10_2026_is_a_confirmed_swapped_working_day(calendar: WorkCalendar) -> None:
    assert D(2026, 10, 10).weekday() == 5
    assert calendar.is_workday(D(2026, 10, 10)) == (True, True)


def test_sunday_september_27_2026_is_a_confirmed_day_off(calendar: WorkCalendar) -> None:
    assert calendar.is_workday(D(2026, 9, 27)) == (False, True)


def test_a_year_the_library_does_not_know_falls_back_to_weekdays_unconfirmed(
        calendar: WorkCalendar) -> None:
    # 1 January 2027 is a Friday: the fallback cannot know it is New Year's Day.
    assert D(2027, 1, 1).weekday() == 4
    assert calendar.is_workday(D(2027, 1, 1)) == (True, False)
    assert calendar.is_workday(D(2027, 1, 2)) == (False, False)
    with pytest.raises(NotImplementedError):
        chinese_calendar.is_workday(D(2027, 1, 1))


@pytest.mark.parametrize("day", [datetime.date.min, D(1999, 12, 31), D(2003, 12, 31),
                                 D(2027, 6, 1), D(2100, 1, 1), datetime.date.max])
def test_is_workday_never_raises_for_any_date(calendar: WorkCalendar, day: datetime.date) -> None:
    working, confirmed = calendar.is_workday(day)
    assert working is (day.weekday() < 5)
    assert confirmed is False


def test_an_override_wins_over_the_bundled_schedule_and_is_confirmed() -> None:
    calendar = WorkCalendar(overrides={D(2026, 10, 9): False, D(2026, 10, 11): True})
    assert calendar.is_workday(D(2026, 10, 9)) == (False, True)
    assert calendar.is_workday(D(2026, 10, 11)) == (True, True)


def test_an_override_in_an_unknown_year_is_confirmed_but_its_neighbours_are_not() -> None:
    calendar = WorkCalendar(overrides={D(2027, 1, 1): False})
    assert calendar.is_workday(D(2027, 1, 1)) == (False, True)
    assert calendar.is_workday(D(2027, 1, 4)) == (True, False)


def test_a_confirmed_year_makes_the_weekday_fallback_confirmed() -> None:
    calendar = WorkCalendar(overrides={D(2027, 1, 1): False}, confirmed_years=[2027])
    assert calendar.is_workday(D(2027, 1, 4)) == (True, True)
    assert calendar.is_workday(D(2027, 1, 2)) == (False, True)
    assert calendar.is_workday(D(2028, 1, 3)) == (True, False)


# --- counting -------------------------------------------------------------------


def test_add_days_ending_on_october_3_rolls_to_october_8(calendar: WorkCalendar) -> None:
    start = D(2026, 9, 18)
    assert start + datetime.timedelta(days=15) == D(2026, 10, 3)
    expected = official_period_end(start, 15)
    assert expected == D(2026, 10, 8)
    assert add_days(calendar, start, 15) == DueDate(expected, True)


def test_add_days_does_not_count_the_start_day(calendar: WorkCalendar) -> None:
    # Monday 14 September + 15 days = Tuesday 29 September, a working day.
    assert add_days(calendar, D(2026, 9, 14), 15) == DueDate(D(2026, 9, 29), True)


def test_add_days_ending_on_swapped_saturday_october_10_does_not_roll(calendar: WorkCalendar) -> None:
    expected = official_period_end(D(2026, 9, 25), 15)
    assert expected == D(2026, 10, 10)
    assert add_days(calendar, D(2026, 9, 25), 15) == DueDate(expected, True)


def test_add_days_ending_on_an_ordinary_sunday_rolls_to_monday(calendar: WorkCalendar) -> None:
    assert add_days(calendar, D(2026, 10, 6), 5) == DueDate(D(2026, 10, 12), True)


def test_add_working_days_counts_swapped_saturday_october_10(calendar: WorkCalendar) -> None:
    expected = official_nth_working_day_after(D(2026, 10, 8), 2)
    assert expected == D(2026, 10, 10)
    assert add_working_days(calendar, D(2026, 10, 8), 2) == DueDate(expected, True)


def test_add_working_days_of_zero_is_the_start_day(calendar: WorkCalendar) -> None:
    assert add_working_days(calendar, D(2026, 10, 3), 0) == DueDate(D(2026, 10, 3), True)


def test_negative_periods_are_refused(calendar: WorkCalendar) -> None:
    with pytest.raises(ValueError):
        add_days(calendar, D(2026, 10, 3), -1)
    with pytest.raises(ValueError):
        add_working_days(calendar, D(2026, 10, 3), -1)
    with pytest.raises(ValueError):
        add_years(calendar, D(2026, 10, 3), -1)


def test_add_years_from_leap_day_ends_on_february_28(calendar: WorkCalendar) -> None:
    # 民法典 art. 202: no 29 February in 2025, so the last day of February; a Friday.
    assert D(2025, 2, 28).weekday() == 4
    assert add_years(calendar, D(2024, 2, 29), 1) == DueDate(D(2025, 2, 28), True)


def test_add_years_from_leap_day_into_a_leap_year_keeps_february_29(calendar: WorkCalendar) -> None:
    # 2028 is unknown to the bundled schedule: right date, but unconfirmed.
    assert add_years(calendar, D(2024, 2, 29), 4) == DueDate(D(2028, 2, 29), False)


def test_add_years_ending_on_national_day_rolls_past_the_holiday(calendar: WorkCalendar) -> None:
    # The corresponding day, 1 October 2026, is off: 民法典 art. 203 moves it on.
    assert add_years(calendar, D(2025, 10, 1), 1) == DueDate(official_period_end(D(2026, 10, 1), 0),
                                                             True)
    assert official_period_end(D(2026, 10, 1), 0) == D(2026, 10, 8)


# --- case deadlines -------------------------------------------------------------


def test_acceptance_deadline_skips_national_day_holiday(calendar: WorkCalendar) -> None:
    case = make_case(received_at=shanghai(2026, 9, 29))
    expected = official_nth_working_day_after(D(2026, 9, 29), 3)
    assert expected == D(2026, 10, 9)  # 30 Sep, 8 Oct, 9 Oct
    acceptance = by_key(case_deadlines(case, calendar=calendar))["acceptance"]
    assert (acceptance.due, acceptance.confirmed, acceptance.active) == (expected, True, True)


def test_receipt_late_in_the_evening_counts_from_the_beijing_date(calendar: WorkCalendar) -> None:
    # 17:30 UTC on 28 September is 01:30 on 29 September in Beijing.
    received = datetime.datetime(2026, 9, 28, 17, 30, tzinfo=datetime.timezone.utc)
    assert local_date(received) == D(2026, 9, 29)
    case = make_case(received_at=received)
    assert by_key(case_deadlines(case, calendar=calendar))["acceptance"].due == D(2026, 10, 9)


def test_statutory_window_is_fifteen_days_from_receipt_rolled_past_the_holiday(
        calendar: WorkCalendar) -> None:
    case = make_case(received_at=shanghai(2026, 9, 18), state=CaseState.JOINT_MEDIATION,
                     accepted_at=shanghai(2026, 9, 21))
    window = by_key(case_deadlines(case, calendar=calendar))["statutory_window"]
    assert window.due == official_period_end(D(2026, 9, 18), 15) == D(2026, 10, 8)
    assert window.active
    assert window.basis == "劳动争议调解仲裁法第十四条"


def test_mediation_deadline_runs_from_acceptance_and_adds_consented_extensions(
        calendar: WorkCalendar) -> None:
    case = make_case(state=CaseState.SELF_RESOLUTION, received_at=shanghai(2026, 9, 14),
                     accepted_at=shanghai(2026, 9, 15), mediation_extra_days=10)
    mediation = by_key(case_deadlines(case, calendar=calendar))["mediation"]
    # 15 + 10 days after 15 September is 10 October, the swapped Saturday.
    assert mediation.due == official_period_end(D(2026, 9, 15), 25) == D(2026, 10, 10)
    assert mediation.active


def test_a_case_not_yet_accepted_has_no_mediation_deadline(calendar: WorkCalendar) -> None:
    keys = [d.key for d in case_deadlines(make_case(), calendar=calendar)]
    assert keys == ["acceptance", "statutory_window"]


def test_consultation_reply_is_five_days_and_runs_only_early_on(calendar: WorkCalendar) -> None:
    case = make_case(consultation_requested_on=D(2026, 9, 28))
    reply = by_key(case_deadlines(case, calendar=calendar))["consultation_reply"]
    assert reply.due == official_period_end(D(2026, 9, 28), 5) == D(2026, 10, 8)
    assert reply.active
    settled = make_case(consultation_requested_on=D(2026, 9, 28), state=CaseState.JOINT_MEDIATION,
                        accepted_at=shanghai(2026, 9, 30))
    assert not by_key(case_deadlines(settled, calendar=calendar))["consultation_reply"].active


def test_a_settled_case_has_arbitration_review_and_judicial_confirmation_at_any_mediation_organisation(
        calendar: WorkCalendar) -> None:
    """民事诉讼法 (2023) art. 205 (art. 201 before 2024): the parties to an agreement reached through
    any lawfully established mediation organisation may jointly apply for judicial confirmation within
    30 days of it taking effect; 人民调解法 art. 33 says so too for people's mediation committees."""
    common = {"state": CaseState.SETTLED, "received_at": shanghai(2026, 9, 14),
              "accepted_at": shanghai(2026, 9, 15), "agreement_effective_on": D(2026, 9, 18)}
    enterprise = by_key(case_deadlines(make_case(**common), calendar=calendar))
    assert enterprise["arbitration_review"].due == D(2026, 10, 8)  # 3 Oct rolls
    assert enterprise["arbitration_review"].active
    assert enterprise["arbitration_review"].basis == "劳动人事争议仲裁办案规则第七十四条"
    # 18 Sept + 30 days = 18 Oct, a Sunday that is not a swapped working day in 2026: Monday 19 Oct.
    assert enterprise["judicial_confirmation"].due == D(2026, 10, 19)
    assert enterprise["judicial_confirmation"].active
    assert enterprise["judicial_confirmation"].basis == "民事诉讼法第二百零五条"

    peoples = make_case(**common, organisation=types.SimpleNamespace(
        is_peoples_mediation_committee=True))
    confirmation = by_key(case_deadlines(peoples, calendar=calendar))["judicial_confirmation"]
    assert confirmation.due == D(2026, 10, 19)
    assert confirmation.active
    assert confirmation.basis == "民事诉讼法第二百零五条、人民调解法第三十三条"


def test_limitation_runs_a_year_from_the_latest_interruption(calendar: WorkCalendar) -> None:
    known_only = make_case(dispute_known_on=D(2025, 3, 3), received_at=shanghai(2025, 2, 3))
    assert by_key(case_deadlines(known_only, calendar=calendar))["limitation"].due == D(2026, 3, 3)

    request_interrupts = make_case(dispute_known_on=D(2025, 3, 3),
                                   received_at=shanghai(2025, 9, 30))
    # 30 September 2026 is a Wednesday and a working day.
    assert by_key(case_deadlines(request_interrupts, calendar=calendar))["limitation"].due == \
        D(2026, 9, 30)

    agreement_interrupts = make_case(
        state=CaseState.SETTLED, dispute_known_on=D(2025, 3, 3), received_at=shanghai(2025, 9, 1),
        accepted_at=shanghai(2025, 9, 2), agreement_effective_on=D(2025, 10, 1))
    limitation = by_key(case_deadlines(agreement_interrupts, calendar=calendar))["limitation"]
    assert limitation.due == D(2026, 10, 8)  # 1 Oct 2026 is National Day
    assert limitation.basis == "劳动争议调解仲裁法第二十七条"


def test_without_a_known_date_there_is_no_limitation_clock(calendar: WorkCalendar) -> None:
    assert "limitation" not in by_key(case_deadlines(make_case(), calendar=calendar))


@pytest.mark.parametrize(("state", "active"), [
    (CaseState.REGISTERED, True), (CaseState.SELF_RESOLUTION, True),
    (CaseState.JOINT_MEDIATION, True), (CaseState.LINKED_MEDIATION, True),
    (CaseState.ESCALATION_PENDING, True), (CaseState.SETTLED, True),
    (CaseState.MEDIATION_FAILED, True), (CaseState.REFERRED, False),
    (CaseState.PERFORMED, False), (CaseState.REJECTED, False),
    (CaseState.WITHDRAWN, False), (CaseState.CLOSED, False),
])
def test_limitation_runs_only_while_the_case_is_open_and_not_referred(
        calendar: WorkCalendar, state: str, active: bool) -> None:
    case = make_case(state=state, dispute_known_on=D(2026, 9, 1))
    assert by_key(case_deadlines(case, calendar=calendar))["limitation"].active is active


@pytest.mark.parametrize(("state", "active_keys"), [
    (CaseState.REGISTERED, {"acceptance", "statutory_window", "consultation_reply"}),
    (CaseState.SELF_RESOLUTION, {"statutory_window", "mediation", "consultation_reply"}),
    (CaseState.JOINT_MEDIATION, {"statutory_window", "mediation"}),
    (CaseState.LINKED_MEDIATION, {"statutory_window", "mediation"}),
    (CaseState.ESCALATION_PENDING, {"statutory_window", "mediation"}),
    (CaseState.SETTLED, {"arbitration_review", "judicial_confirmation"}),
    (CaseState.PERFORMED, set()),
    (CaseState.MEDIATION_FAILED, set()),
    (CaseState.CLOSED, set()),
])
def test_each_clock_runs_only_in_its_states(calendar: WorkCalendar, state: str,
                                            active_keys: set[str]) -> None:
    # Every start event set, so every clock is present; limitation is covered above.
    case = make_case(state=state, accepted_at=shanghai(2026, 9, 30),
                     consultation_requested_on=D(2026, 9, 29),
                     agreement_effective_on=D(2026, 10, 9),
                     organisation=types.SimpleNamespace(is_peoples_mediation_committee=True))
    deadlines = case_deadlines(case, calendar=calendar)
    assert [d.key for d in deadlines] == ["acceptance", "statutory_window", "mediation",
                                          "consultation_reply", "arbitration_review",
                                          "judicial_confirmation"]
    assert {d.key for d in deadlines if d.active} == active_keys


def test_deadline_labels_are_chinese(calendar: WorkCalendar) -> None:
    labels = {d.key: d.label for d in case_deadlines(make_case(), calendar=calendar)}
    assert labels == {"acceptance": "受理期限", "statutory_window": "法定调解期间"}


# --- 2027: the schedule is not published yet --------------------------------------


def test_case_received_2026_12_30_gets_an_unconfirmed_acceptance_date_in_2027(
        calendar: WorkCalendar) -> None:
    # Weekday fallback: 31 Dec (Thu), 1 Jan (Fri, in truth New Year's Day), 4 Jan (Mon).
    case = make_case(received_at=shanghai(2026, 12, 30))
    acceptance = by_key(case_deadlines(case, calendar=calendar))["acceptance"]
    assert (acceptance.due, acceptance.confirmed) == (D(2027, 1, 4), False)


def test_a_2026_deadline_that_only_touches_2026_days_stays_confirmed(calendar: WorkCalendar) -> None:
    assert add_working_days(calendar, D(2026, 12, 29), 2) == DueDate(D(2026, 12, 31), True)


def test_admin_overrides_in_memory_move_the_2027_acceptance_date_and_confirm_it() -> None:
    calendar = WorkCalendar(overrides={D(2027, 1, 1): False}, confirmed_years=[2027])
    assert add_working_days(calendar, D(2026, 12, 30), 3) == DueDate(D(2027, 1, 5), True)


@pytest.mark.django_db
def test_calendar_from_db_honours_admin_overrides_and_confirmed_years(
        django_assert_max_num_queries: object) -> None:
    from workflows.models import CalendarYear, HolidayOverride

    case = make_case(received_at=shanghai(2026, 12, 30))
    before = by_key(case_deadlines(case, calendar=WorkCalendar.from_db()))["acceptance"]
    assert (before.due, before.confirmed) == (D(2027, 1, 4), False)

    HolidayOverride.objects.create(date=D(2027, 1, 1), is_workday=False, note="元旦")
    HolidayOverride.objects.create(date=D(2027, 1, 4), is_workday=False, note="测试：放假")
    CalendarYear.objects.create(year=2027, note="国务院办公厅关于2027年部分节假日安排的通知")

    with django_assert_max_num_queries(2):  # type: ignore[operator]
        calendar = WorkCalendar.from_db()
    after = by_key(case_deadlines(case, calendar=calendar))["acceptance"]
    # 31 Dec, then 1 and 4 Jan are off: 5 Jan, 6 Jan.
    assert (after.due, after.confirmed) == (D(2027, 1, 6), True)


@pytest.mark.django_db
def test_the_calendar_is_read_by_one_statement_written_once_and_read_afresh() -> None:
    """One statement every time (on PostgreSQL the one prepared on the connection, ``EXECUTE``), and
    each read sees the tables as they are now: an override added, changed or removed after a read."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from workflows.models import CalendarYear, HolidayOverride

    assert WorkCalendar.from_db().is_workday(D(2026, 10, 9)) == (True, True)  # a Friday, a working day
    override = HolidayOverride.objects.create(date=D(2026, 10, 9), is_workday=False, note="测试")
    CalendarYear.objects.create(year=2099)
    with CaptureQueriesContext(connection) as ctx:
        calendar = WorkCalendar.from_db()
    assert calendar.is_workday(D(2026, 10, 9)) == (False, True) and calendar.confirmed_years == {2099}
    assert len(ctx.captured_queries) == 1
    assert not ctx.captured_queries[0]["sql"].startswith("EXECUTE")  # in a transaction: Django's own query
    HolidayOverride.objects.filter(pk=override.pk).update(is_workday=True)
    assert WorkCalendar.from_db().is_workday(D(2026, 10, 9)) == (True, True)
    override.delete()
    CalendarYear.objects.all().delete()
    assert WorkCalendar.from_db().confirmed_years == frozenset() and WorkCalendar.from_db()._overrides == {}


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PREPARE is PostgreSQL's")
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_outside_a_transaction_the_calendar_is_prepared_and_inside_one_never_depends_on_it() -> None:
    """A page's read is ``EXECUTE`` of the statement prepared on the connection and sees what was written
    since; a registration's read, inside its transaction, is Django's query: with the connection's prepared
    statements gone (``DEALLOCATE ALL``, as a pooler may do) it still reads, and the next page's read
    prepares the statement again."""
    from django.db import transaction
    from django.test.utils import CaptureQueriesContext

    from workflows.models import HolidayOverride

    WorkCalendar.from_db()
    HolidayOverride.objects.create(date=D(2026, 10, 9), is_workday=False, note="测试")
    with CaptureQueriesContext(connection) as ctx:
        assert WorkCalendar.from_db().is_workday(D(2026, 10, 9)) == (False, True)
    assert [q["sql"].split()[0] for q in ctx.captured_queries] == ["EXECUTE"]
    with connection.cursor() as cursor:
        cursor.execute("DEALLOCATE ALL")
    with transaction.atomic(), CaptureQueriesContext(connection) as ctx:
        assert WorkCalendar.from_db().is_workday(D(2026, 10, 9)) == (False, True)
    assert len(ctx.captured_queries) == 1 and not ctx.captured_queries[0]["sql"].startswith("EXECUTE")
    assert WorkCalendar.from_db().is_workday(D(2026, 10, 9)) == (False, True)  # prepared again, outside
    HolidayOverride.objects.all().delete()


@pytest.mark.django_db
def test_case_deadlines_load_the_calendar_when_none_is_given() -> None:
    from workflows.models import HolidayOverride

    HolidayOverride.objects.create(date=D(2026, 10, 9), is_workday=False, note="测试")
    case = make_case(received_at=shanghai(2026, 9, 29))
    # 30 Sep, 8 Oct, (9 Oct off), 10 Oct (swapped Saturday).
    assert by_key(case_deadlines(case))["acceptance"].due == D(2026, 10, 10)
    assert stored_deadline_fields(case)["acceptance_due"] == D(2026, 10, 10)


# --- overdue and due soon, with a frozen clock --------------------------------------


@pytest.mark.parametrize(("now", "days_left", "overdue", "due_soon_3"), [
    (shanghai(2026, 10, 5, 9), 4, False, False),
    (shanghai(2026, 10, 6, 9), 3, False, True),
    (shanghai(2026, 10, 9, 0, 1), 0, False, True),
    (shanghai(2026, 10, 9, 23, 59), 0, False, True),
    (shanghai(2026, 10, 10, 0, 1), -1, True, False),
])
def test_acceptance_is_overdue_only_after_its_last_day_in_beijing_time(
        calendar: WorkCalendar, now: datetime.datetime, days_left: int, overdue: bool,
        due_soon_3: bool) -> None:
    case = make_case(received_at=shanghai(2026, 9, 29))
    with time_machine.travel(now, tick=False):
        today = local_today()
        acceptance = by_key(case_deadlines(case, calendar=calendar))["acceptance"]
        assert acceptance.days_left(today) == days_left
        assert acceptance.is_overdue(today) is overdue
        assert acceptance.is_due_soon(today, within_days=3) is due_soon_3


def test_local_today_follows_beijing_not_utc() -> None:
    # 16:30 UTC on 9 October is already 00:30 on 10 October in Beijing.
    with time_machine.travel(datetime.datetime(2026, 10, 9, 16, 30, tzinfo=datetime.timezone.utc),
                             tick=False):
        assert local_today() == D(2026, 10, 10)


def test_an_inactive_clock_is_never_overdue_or_due_soon(calendar: WorkCalendar) -> None:
    case = make_case(state=CaseState.JOINT_MEDIATION, received_at=shanghai(2026, 9, 29),
                     accepted_at=shanghai(2026, 9, 30))
    with time_machine.travel(shanghai(2026, 12, 1), tick=False):
        today = local_today()
        acceptance = by_key(case_deadlines(case, calendar=calendar))["acceptance"]
        assert not acceptance.active
        assert acceptance.days_left(today) < 0
        assert not acceptance.is_overdue(today)
        assert not acceptance.is_due_soon(today, within_days=3)
        assert by_key(case_deadlines(case, calendar=calendar))["mediation"].is_overdue(today)


# --- stored fields ----------------------------------------------------------------


def test_stored_fields_of_a_case_not_yet_accepted(calendar: WorkCalendar) -> None:
    fields = stored_deadline_fields(make_case(received_at=shanghai(2026, 9, 29)), calendar=calendar)
    assert fields == {"acceptance_due": D(2026, 10, 9), "mediation_due": None,
                      "deadlines_confirmed": True}


def test_stored_fields_of_an_accepted_case_keep_the_acceptance_date(calendar: WorkCalendar) -> None:
    case = make_case(state=CaseState.JOINT_MEDIATION, received_at=shanghai(2026, 9, 29),
                     accepted_at=shanghai(2026, 9, 30), mediation_extra_days=3)
    fields = stored_deadline_fields(case, calendar=calendar)
    # 30 Sep + 18 days = 18 Oct, a Sunday: rolls to Monday 19 Oct.
    assert fields == {"acceptance_due": D(2026, 10, 9),
                      "mediation_due": official_period_end(D(2026, 9, 30), 18),
                      "deadlines_confirmed": True}
    assert fields["mediation_due"] == D(2026, 10, 19)


def test_stored_fields_are_unconfirmed_when_the_mediation_date_leans_on_the_fallback(
        calendar: WorkCalendar) -> None:
    case = make_case(state=CaseState.JOINT_MEDIATION, received_at=shanghai(2026, 12, 21),
                     accepted_at=shanghai(2026, 12, 22))
    fields = stored_deadline_fields(case, calendar=calendar)
    # Acceptance lands on 24 Dec 2026 (known); mediation on 6 Jan 2027 (fallback).
    assert fields == {"acceptance_due": D(2026, 12, 24), "mediation_due": D(2027, 1, 6),
                      "deadlines_confirmed": False}


# --- the clocks on real cases ------------------------------------------------------------

@pytest.mark.django_db
def test_registered_case_received_before_national_day_is_overdue_only_after_the_holiday(world):
    from zoneinfo import ZoneInfo

    import time_machine

    from mediation.selectors import case_deadline_watchlist
    from tests.factories import register

    tz = ZoneInfo("Asia/Shanghai")
    with time_machine.travel(datetime.datetime(2026, 9, 30, 10, 0, tzinfo=tz), tick=False):
        case = register(world.mediator_a, world.town_a,
                        received_at=datetime.datetime(2026, 9, 29, 9, 0, tzinfo=tz))
    # Sep 29 + 3 working days: Sep 30, (Oct 1–7 off), Oct 8, Oct 9 → due Oct 9.
    assert case.acceptance_due == datetime.date(2026, 10, 9)
    assert case.deadlines_confirmed
    with time_machine.travel(datetime.datetime(2026, 10, 7, 12, 0, tzinfo=tz), tick=False):
        assert not case.is_overdue
        watch = case_deadline_watchlist(user=world.mediator_a)
        assert case in watch["due_soon"] and case not in watch["overdue"]
    with time_machine.travel(datetime.datetime(2026, 10, 10, 12, 0, tzinfo=tz), tick=False):
        assert case.is_overdue
        watch = case_deadline_watchlist(user=world.mediator_a)
        assert case in watch["overdue"]
        # another township's mediator is not told about it
        assert case not in case_deadline_watchlist(user=world.mediator_b)["overdue"]


@pytest.mark.django_db
def test_case_received_on_2026_12_30_gets_an_unconfirmed_deadline_and_no_error(world):
    from zoneinfo import ZoneInfo

    import time_machine

    from tests.factories import register

    tz = ZoneInfo("Asia/Shanghai")
    with time_machine.travel(datetime.datetime(2026, 12, 30, 16, 0, tzinfo=tz), tick=False):
        case = register(world.mediator_a, world.town_a,
                        received_at=datetime.datetime(2026, 12, 30, 15, 0, tzinfo=tz))
        deadlines = {d.key: d for d in case.deadlines()}
    assert case.number.startswith("锦调〔2026〕")
    assert not case.deadlines_confirmed
    assert deadlines["acceptance"].confirmed is False
    assert deadlines["statutory_window"].due >= datetime.date(2027, 1, 14)
