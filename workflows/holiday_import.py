"""A whole year's holiday schedule at once: the State Council notice, or a CSV file.

Each November the General Office of the State Council publishes next year's schedule
(国务院办公厅关于××年部分节假日安排的通知). Its items read, after the title and a
preamble::

    一、元旦：1月1日（周四）至3日（周六）放假调休，共3天。1月4日（周日）上班。
    二、春节：2月15日（农历腊月二十八、周日）至23日（农历正月初七、周一）放假调休，共9天。
        2月14日（周六）、2月28日（周六）上班。

:func:`parse_notice` reads that text: a date or a range of dates before 放假 (or a date
before 补休) is a day off, dates before 上班 are swapped working days; "共N天" is checked
against the range. The year comes from the title or is given. :func:`parse_csv` reads
``date,is_workday,note`` rows. Either returns a :class:`Schedule` or raises
:class:`ScheduleError` listing every line it could not use, so nothing half-read is saved.

:func:`preview` says what saving would do (the dates, the overrides of that year it
replaces, and the open cases whose stored deadlines would move, computed with the clocks
against the new calendar without saving); :func:`schedule_save` does it in one
transaction, on the audit trail (docs/clocks.md, "Working days, overrides and confirmed
years").
"""
from __future__ import annotations

import csv
import datetime
import io
import re
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext as _

#: What the notice spells in full width, read as plain ASCII.
_WIDTH = str.maketrans("０１２３４５６７８９：，；（）～－", "0123456789:,;()~-")
_PARENS = re.compile(r"\([^()]*\)")
_NUMBERED = re.compile(r"^[一二三四五六七八九十]+[、.．]\s*")
_YEAR = r"(?:(\d{4})\s*年\s*)?"
_DATE = re.compile(_YEAR + r"(\d{1,2})\s*月\s*(\d{1,2})\s*日")
_RANGE = re.compile(_YEAR + r"(\d{1,2})\s*月\s*(\d{1,2})\s*日"
                    r"(?:\s*(?:至|到|~|-|—)\s*(?:" + _YEAR + r"(\d{1,2})\s*月\s*)?(\d{1,2})\s*日)?")
_TITLE_YEAR = re.compile(r"(\d{4})\s*年\s*(?:部分)?节假日")
_DAYS = re.compile(r"(?:共|放假)\s*(\d+)\s*天")
#: No notice has given more than nine days off in one range (春节 2026).
_LONGEST_RANGE = 31


class ScheduleError(ValueError):
    """The input could not be read; ``problems`` lists each line and what is wrong with it."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass
class Schedule:
    """One year's days off and swapped working days, each with a note (the holiday's name)."""

    year: int
    days: dict[datetime.date, tuple[bool, str]] = field(default_factory=dict)

    @property
    def holidays(self) -> list[datetime.date]:
        return sorted(d for d, (working, _note) in self.days.items() if not working)

    @property
    def workdays(self) -> list[datetime.date]:
        return sorted(d for d, (working, _note) in self.days.items() if working)


class _Reader:
    """Collects days and problems line by line; a date both off and working is a problem."""

    def __init__(self) -> None:
        self.days: dict[datetime.date, tuple[bool, str, int]] = {}
        self.problems: list[str] = []

    def problem(self, number: int, line: str, message: str) -> None:
        self.problems.append(_("第%(n)d行“%(line)s”：%(message)s") % {
            "n": number, "line": line.strip()[:60], "message": message})

    def add(self, number: int, line: str, day: datetime.date, working: bool, note: str) -> None:
        seen = self.days.get(day)
        if seen is not None and seen[0] != working:
            self.problem(number, line, _("%(day)s 既是放假日又是上班日（另见第%(other)d行）。") % {
                "day": day.isoformat(), "other": seen[2]})
            return
        if seen is None:
            self.days[day] = (working, note[:100], number)

    def schedule(self, year: int) -> Schedule:
        if self.problems:
            raise ScheduleError(self.problems)
        if not FIRST_YEAR <= year <= LAST_YEAR:
            raise ScheduleError([_("年份应在%(first)d年至%(last)d年之间。") % {"first": FIRST_YEAR, "last": LAST_YEAR}])
        if not self.days:
            raise ScheduleError([_("没有读到任何放假或上班日期。")])
        return Schedule(year=year, days={d: (w, n) for d, (w, n, _line) in sorted(self.days.items())})


#: The years a schedule may be entered for (the form's bounds too): the calendar around them
#: must stay inside what ``datetime.date`` can hold.
FIRST_YEAR, LAST_YEAR = 2000, 2100


def _date(year: int, month: str, day: str) -> datetime.date | None:
    try:
        return datetime.date(year, int(month), int(day))
    except ValueError:
        return None


def _notice_year(lines: list[str], year: int | None) -> int:
    found = sorted({int(m.group(1)) for line in lines for m in _TITLE_YEAR.finditer(line.translate(_WIDTH))})
    if len(found) > 1:
        raise ScheduleError([_("通知中出现多个年份（%(years)s），请只粘贴一年的通知。") % {
            "years": "、".join(str(y) for y in found)}])
    if found and year and found[0] != year:
        raise ScheduleError([_("通知标题是%(title)d年，填写的年份是%(year)d年，请核对。") % {
            "title": found[0], "year": year}])
    if found:
        return found[0]
    if year:
        return year
    raise ScheduleError([_("无法确定年份：请填写年份，或粘贴含标题（××年部分节假日安排的通知）的通知全文。")])


def parse_notice(text: str, year: int | None = None) -> Schedule:
    """The days of a pasted State Council notice (see the module's docstring for the format).

    Lines that are neither numbered items nor mention 放假/上班 with a date (the title, the
    preamble, the closing paragraph, the signature) are skipped. A date may carry its own
    year (跨年的元旦: "2022年12月31日至2023年1月2日"): a range must touch the notice's year,
    a single day must be in it.
    """
    lines = text.splitlines()
    year = _notice_year(lines, year)
    reader = _Reader()
    for number, raw in enumerate(lines, 1):
        line = raw.translate(_WIDTH).strip()
        numbered = bool(_NUMBERED.match(line))
        while _PARENS.search(line):  # weekdays and lunar dates in brackets, nested ones too
            line = _PARENS.sub("", line)
        mentions = any(word in line for word in ("放假", "上班", "补休"))
        if not numbered and not (mentions and _DATE.search(line)):
            continue
        body = _NUMBERED.sub("", line)
        name, colon, rest = body.partition(":")
        note, body = (name.strip(), rest) if colon else ("", body)
        before = len(reader.days), len(reader.problems)
        _notice_item(reader, number, raw, body, year, note)
        if (len(reader.days), len(reader.problems)) == before:
            reader.problem(number, raw, _("没有读到放假或上班的日期。"))
    return reader.schedule(year)


def _notice_item(reader: _Reader, number: int, raw: str, body: str, year: int, note: str) -> None:
    """One numbered item, sentence by sentence and clause by clause; stops at its first problem."""
    for sentence in re.split(r"[。;]", body):
        last_range: list[datetime.date] | None = None
        for clause in (c.strip() for c in sentence.split(",")):
            if "放假" in clause or "补休" in clause:
                last_range = _days_off(reader, number, raw, clause, year, note)
                if last_range is None:
                    return
            elif "上班" in clause:
                if not _working_days(reader, number, raw, clause, year, note):
                    return
            elif _DATE.search(clause):
                reader.problem(number, raw, _("“%(clause)s”没有说明放假还是上班。") % {"clause": clause})
                return
            total = _DAYS.search(clause)
            if total and last_range is not None and int(total.group(1)) != len(last_range):
                reader.problem(number, raw, _("写明共%(n)s天，但日期范围是%(m)d天。") % {
                    "n": total.group(1), "m": len(last_range)})
                return


def _days_off(reader: _Reader, number: int, raw: str, clause: str, year: int, note: str,
              ) -> list[datetime.date] | None:
    """"1月1日至3日放假调休", "4月5日放假", "6月22日补休": one date or range before the word."""
    head = clause.split("放假" if "放假" in clause else "补休")[0]
    ranges = list(_RANGE.finditer(head))
    if len(ranges) != 1:
        reader.problem(number, raw, _("无法识别“%(clause)s”中的放假日期。") % {"clause": clause})
        return None
    days = _range_days(reader, number, raw, ranges[0], year)
    for day in days or ():
        reader.add(number, raw, day, False, note)
    return days


def _working_days(reader: _Reader, number: int, raw: str, clause: str, year: int, note: str) -> bool:
    """"2月14日、2月28日上班": every date of the clause is a swapped working day."""
    found = list(_DATE.finditer(clause))
    if not found:
        reader.problem(number, raw, _("无法识别“%(clause)s”中的上班日期。") % {"clause": clause})
        return False
    label = _("%(name)s 调休上班") % {"name": note} if note else _("调休上班")
    for m in found:
        day = _date(int(m.group(1) or year), m.group(2), m.group(3))
        if day is None or day.year != year:
            reader.problem(number, raw, _("“%(date)s”不是%(year)d年内的有效日期。") % {
                "date": m.group(0), "year": year})
            return False
        reader.add(number, raw, day, True, label)
    return True


def _range_days(reader: _Reader, number: int, raw: str, m: re.Match[str], year: int,
                ) -> list[datetime.date] | None:
    start_year = int(m.group(1) or year)
    start = _date(start_year, m.group(2), m.group(3))
    end = start
    if m.group(6):
        end = _date(int(m.group(4) or start_year), m.group(5) or m.group(2), m.group(6))
    if start is None or end is None:
        reader.problem(number, raw, _("“%(date)s”不是有效日期。") % {"date": m.group(0)})
        return None
    if end < start or (end - start).days >= _LONGEST_RANGE:
        reader.problem(number, raw, _("日期范围“%(date)s”有误。") % {"date": m.group(0)})
        return None
    if start.year != year and end.year != year:
        reader.problem(number, raw, _("“%(date)s”不在%(year)d年内。") % {"date": m.group(0), "year": year})
        return None
    return [start + datetime.timedelta(days=i) for i in range((end - start).days + 1)]


_TRUE = {"1", "true", "yes", "y", "是", "上班", "工作日", "t"}
_FALSE = {"0", "false", "no", "n", "否", "放假", "休息", "休息日", "f"}


def _csv_date(text: str) -> datetime.date | None:
    m = re.fullmatch(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?", text.translate(_WIDTH).strip())
    return _date(int(m.group(1)), m.group(2), m.group(3)) if m else None


def parse_csv(text: str, year: int | None = None) -> Schedule:
    """Rows ``date,is_workday,note`` (a header row is allowed). ``is_workday``: 1/0, 是/否, 上班/放假.

    Every date must be in ``year`` (or, when no year is given, all in one year).
    """
    reader = _Reader()
    rows: list[tuple[int, str, datetime.date, bool, str]] = []
    for number, row in enumerate(csv.reader(io.StringIO(text.lstrip("\ufeff"))), 1):
        cells = [c.strip() for c in row]
        if not any(cells):
            continue
        raw = ",".join(cells)
        day = _csv_date(cells[0])
        if day is None:
            if number == 1 and not re.search(r"\d", cells[0]):
                continue  # the header
            reader.problem(number, raw, _("日期无法识别（应为 2026-01-01 这样的格式）。"))
            continue
        flag = cells[1].lower() if len(cells) > 1 else ""
        if flag not in _TRUE | _FALSE:
            reader.problem(number, raw, _("第二列应为 1（上班）或 0（放假）。"))
            continue
        rows.append((number, raw, day, flag in _TRUE, cells[2] if len(cells) > 2 else ""))
    years = sorted({day.year for _n, _r, day, _w, _note in rows})
    if year is None:
        if len(years) > 1:
            reader.problem(0, "", _("文件中的日期分属多个年份，请填写年份。"))
        year = years[0] if years else 0
    for number, raw, day, working, note in rows:
        if day.year != year:
            reader.problem(number, raw, _("%(day)s 不在%(year)d年内。") % {"day": day.isoformat(), "year": year})
            continue
        reader.add(number, raw, day, working, note)
    return reader.schedule(year)


# --- what saving would do, and saving ------------------------------------------------


@dataclass
class Move:
    """An open case whose stored deadlines the new schedule changes."""

    case: Any
    old: dict[str, Any]
    new: dict[str, Any]


@dataclass
class Preview:
    schedule: Schedule
    #: (date, is_workday, note, the override stored for that date now: None, True or False)
    days: list[tuple[datetime.date, bool, str, bool | None]]
    #: overrides of that year the schedule does not list; saving removes them
    removed: list[Any]
    year_confirmed: bool
    moves: list[Move]
    moves_total: int
    #: moved cases the user may not see: counted, not named
    moves_hidden: int


def _window(year: int) -> tuple[datetime.date, datetime.date]:
    """Stored due dates a change to ``year``'s days can move: computations that looked at a day of
    the year end in it, or shortly after it (rolled past a year-end holiday), or (a range that
    crosses the year's edge) shortly before it."""
    return datetime.date(year - 1, 12, 1), datetime.date(year + 1, 1, 31)


def _new_calendar(schedule: Schedule):
    from workflows.clocks import WorkCalendar
    from workflows.models import CalendarYear, HolidayOverride

    overrides = {d: w for d, w in HolidayOverride.objects.values_list("date", "is_workday")
                 if d.year != schedule.year}
    overrides.update({d: w for d, (w, _note) in schedule.days.items()})
    years = set(CalendarYear.objects.values_list("year", flat=True)) | {schedule.year}
    return WorkCalendar(overrides=overrides, confirmed_years=years)


def _moves(schedule: Schedule) -> list[Move]:
    from django.db.models import Q

    from mediation.models import Case
    from workflows.clocks import stored_deadline_fields
    from workflows.states import OPEN_STATES

    calendar = _new_calendar(schedule)
    low, high = _window(schedule.year)
    fields = ("acceptance_due", "mediation_due", "deadlines_confirmed")
    cases = (Case.objects.filter(state__in=OPEN_STATES)
             .filter(Q(acceptance_due__range=(low, high)) | Q(mediation_due__range=(low, high)))
             .select_related("organisation")
             .only("id", "number", "state", "received_at", "accepted_at", "mediation_extra_days",
                   "agreement_effective_on", "dispute_known_on", "consultation_requested_on",
                   "organisation__is_peoples_mediation_committee", *fields)
             .order_by("acceptance_due", "mediation_due", "pk"))
    moves = []
    for case in cases.iterator(chunk_size=2000):
        new = stored_deadline_fields(case, calendar=calendar)
        old = {k: getattr(case, k) for k in fields}
        if any(old[k] != new[k] for k in fields):
            moves.append(Move(case=case, old=old, new=new))
    return moves


def preview(schedule: Schedule, *, user: Any, limit: int = 200) -> Preview:
    """What :func:`schedule_save` would write and move, computed without saving anything."""
    from mediation import permissions
    from mediation.models import Case
    from workflows.models import CalendarYear, HolidayOverride

    stored = dict(HolidayOverride.objects.filter(date__in=list(schedule.days)).values_list("date", "is_workday"))
    removed = list(HolidayOverride.objects.filter(date__year=schedule.year)
                   .exclude(date__in=list(schedule.days)).order_by("date"))
    moves = _moves(schedule)
    q = permissions.visible_cases_q(user)
    visible = set() if q is None else set(
        Case.objects.filter(q, pk__in=[m.case.pk for m in moves]).values_list("pk", flat=True))
    shown = [m for m in moves if m.case.pk in visible]
    return Preview(
        schedule=schedule,
        days=[(d, w, note, stored.get(d)) for d, (w, note) in schedule.days.items()],
        removed=removed, year_confirmed=CalendarYear.objects.filter(year=schedule.year).exists(),
        moves=shown[:limit], moves_total=len(moves), moves_hidden=len(moves) - len(shown))


def schedule_save(schedule: Schedule, *, actor: Any, note: str, request: Any = None) -> dict[str, int]:
    """Write the year's overrides (replacing those of that year it does not list), mark the year
    confirmed, recompute the stored deadlines of the open cases; one transaction, audited."""
    from django.db import transaction

    from mediation.audit import log as audit
    from mediation.services import deadlines_recompute
    from workflows.models import CalendarYear, HolidayOverride

    with transaction.atomic():
        # One importer at a time: the rows of the year are locked before they are compared.
        before = {o.date: o for o in HolidayOverride.objects.select_for_update()
                  .filter(date__year=schedule.year).order_by("date")}
        before.update({o.date: o for o in HolidayOverride.objects.select_for_update()
                       .filter(date__in=list(schedule.days))})
        removed = [d for d in before if d.year == schedule.year and d not in schedule.days]
        HolidayOverride.objects.filter(date__in=removed).delete()
        written = 0
        for day, (working, day_note) in schedule.days.items():
            row = before.get(day)
            if row is None:
                HolidayOverride.objects.create(date=day, is_workday=working, note=day_note)
                written += 1
            elif row.is_workday != working or row.note != day_note:
                row.is_workday, row.note = working, day_note
                row.save(update_fields=["is_workday", "note"])
                written += 1
        year_row = CalendarYear.objects.select_for_update().filter(year=schedule.year).first()
        was_confirmed = year_row is not None
        old_note = year_row.note if year_row else ""
        if year_row is None:
            year_row = CalendarYear.objects.create(year=schedule.year, note=note[:200])
        elif note and year_row.note != note[:200]:
            year_row.note = note[:200]
            year_row.save(update_fields=["note"])
        recomputed = deadlines_recompute()
        audit.record(
            actor=actor, action="calendar.import", obj=year_row, request=request, reason=note,
            old={"confirmed": was_confirmed, "note": old_note,
                 "overrides": {d.isoformat(): before[d].is_workday for d in sorted(before)}},
            new={"confirmed": True, "note": year_row.note,
                 "overrides": {d.isoformat(): w for d, (w, _n) in schedule.days.items()},
                 "removed": [d.isoformat() for d in sorted(removed)], "recomputed_cases": recomputed})
    return {"written": written, "removed": len(removed), "recomputed": recomputed}
