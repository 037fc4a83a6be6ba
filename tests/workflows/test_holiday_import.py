"""A whole year's holiday schedule entered at once (DOMAIN.md §4: working days follow the State
Council schedule including swapped working days; docs/clocks.md, "Working days, overrides and
confirmed years").

The 2026 notice below is typed by hand from 国务院办公厅关于2026年部分节假日安排的通知
(国办发明电〔2025〕7号, 4 November 2025); the expected days are counted by hand from it and
cross-checked against the chinese-calendar package, which knows 2026.
"""
from __future__ import annotations

import datetime

import chinese_calendar
import pytest
from django.urls import reverse

from mediation.audit.models import AuditEvent
from mediation.models import Case
from mediation.services import deadlines_recompute
from tests.factories import register
from workflows.holiday_import import ScheduleError, parse_csv, parse_notice
from workflows.models import CalendarYear, HolidayOverride

D = datetime.date

NOTICE_2026 = """国务院办公厅关于2026年部分节假日安排的通知
国办发明电〔2025〕7号
各省、自治区、直辖市人民政府，国务院各部委、各直属机构：
经国务院批准，现将2026年元旦、春节、清明节、劳动节、端午节、中秋节和国庆节放假调休日期的具体安排通知如下。
一、元旦：1月1日（周四）至3日（周六）放假调休，共3天。1月4日（周日）上班。
二、春节：2月15日（农历腊月二十八、周日）至23日（农历正月初七、周一）放假调休，共9天。2月14日（周六）、2月28日（周六）上班。
三、清明节：4月4日（周六）至6日（周一）放假，共3天。
四、劳动节：5月1日（周五）至5日（周二）放假调休，共5天。5月9日（周六）上班。
五、端午节：6月19日（周五）至21日（周日）放假，共3天。
六、中秋节：9月25日（周五）至27日（周日）放假，共3天。
七、国庆节：10月1日（周四）至7日（周三）放假调休，共7天。9月20日（周日）、10月10日（周六）上班。
节假日期间，各地区、各部门要妥善安排好值班和安全、保卫等工作，遇有重大突发事件，要按规定及时报告并妥善处置，确保人民群众祥和平安度过节日假期。
国务院办公厅
2025年11月4日
"""


def _span(first: datetime.date, last: datetime.date) -> set[datetime.date]:
    return {first + datetime.timedelta(days=i) for i in range((last - first).days + 1)}


#: Counted by hand from the notice: 3 + 9 + 3 + 5 + 3 + 3 + 7 = 33 days off.
HOLIDAYS_2026 = (_span(D(2026, 1, 1), D(2026, 1, 3)) | _span(D(2026, 2, 15), D(2026, 2, 23))
                 | _span(D(2026, 4, 4), D(2026, 4, 6)) | _span(D(2026, 5, 1), D(2026, 5, 5))
                 | _span(D(2026, 6, 19), D(2026, 6, 21)) | _span(D(2026, 9, 25), D(2026, 9, 27))
                 | _span(D(2026, 10, 1), D(2026, 10, 7)))
WORKDAYS_2026 = {D(2026, 1, 4), D(2026, 2, 14), D(2026, 2, 28), D(2026, 5, 9), D(2026, 9, 20), D(2026, 10, 10)}


class TestTheNotice:
    def test_the_2026_notice_gives_the_days_off_and_the_swapped_working_days(self):
        schedule = parse_notice(NOTICE_2026)
        assert schedule.year == 2026  # from the title
        assert len(HOLIDAYS_2026) == 33
        assert set(schedule.holidays) == HOLIDAYS_2026
        assert set(schedule.workdays) == WORKDAYS_2026
        assert schedule.days[D(2026, 2, 15)] == (False, "春节")
        assert schedule.days[D(2026, 9, 20)] == (True, "国庆节 调休上班")

    def test_it_agrees_with_the_bundled_schedule_for_2026(self):
        """chinese-calendar 1.11 knows 2026: every parsed day agrees, and every weekday off and
        weekend working day it knows is in the notice."""
        schedule = parse_notice(NOTICE_2026)
        for day, (working, _note) in schedule.days.items():
            assert chinese_calendar.is_workday(day) is working, day
        day = D(2026, 1, 1)
        while day.year == 2026:
            if chinese_calendar.is_workday(day) != (day.weekday() < 5):
                assert day in schedule.days, day
            day += datetime.timedelta(days=1)

    def test_a_given_year_must_match_the_title(self):
        with pytest.raises(ScheduleError, match="标题是2026年"):
            parse_notice(NOTICE_2026, 2027)

    def test_without_a_title_the_year_is_required(self):
        with pytest.raises(ScheduleError, match="无法确定年份"):
            parse_notice("一、元旦：1月1日（周五）至3日（周日）放假，共3天。")
        assert set(parse_notice("一、元旦：1月1日（周五）至3日（周日）放假，共3天。", 2027).holidays) == {
            D(2027, 1, 1), D(2027, 1, 2), D(2027, 1, 3)}

    def test_older_wordings(self):
        """星期六 for 周六; one day off 与周末连休; a range across months; 补休 (a make-up day off)."""
        text = ("一、元旦：1月1日放假，与周末连休。\n"
                "二、端午节：6月20日放假，6月22日（星期一）补休。\n"
                "三、中秋节、国庆节：9月29日至10月6日放假调休，共8天。10月7日（星期六）、10月8日（星期日）上班。")
        schedule = parse_notice(text, 2023)
        assert set(schedule.holidays) == {D(2023, 1, 1), D(2023, 6, 20), D(2023, 6, 22)} | _span(
            D(2023, 9, 29), D(2023, 10, 6))
        assert set(schedule.workdays) == {D(2023, 10, 7), D(2023, 10, 8)}

    def test_a_new_year_range_that_starts_in_the_year_before(self):
        """The 2023 notice: 元旦 2022年12月31日至2023年1月2日 — stated with its years, so accepted."""
        schedule = parse_notice("一、元旦：2022年12月31日至2023年1月2日放假调休，共3天。", 2023)
        assert set(schedule.holidays) == {D(2022, 12, 31), D(2023, 1, 1), D(2023, 1, 2)}

    @pytest.mark.parametrize(("text", "message"), [
        ("一、元旦：1月1日至3日放假，共4天。", "写明共4天，但日期范围是3天"),
        ("一、元旦：1月32日放假。", "“1月32日”不是有效日期"),
        ("一、元旦：1月1日至3日放假调休。1月2日上班。", "2026-01-02 既是放假日又是上班日"),
        ("一、元旦：放假。", "无法识别"),
        ("一、元旦：1月1日至3日。", "没有说明放假还是上班"),
        ("一、元旦：2025年12月30日至31日放假。", "不在2026年内"),
        ("一、元旦：1月1日放假。2027年1月4日上班。", "不是2026年内的有效日期"),
        ("一、元旦：1月3日至1日放假。", "日期范围“1月3日至1日”有误"),
    ])
    def test_bad_lines_are_named_and_nothing_is_returned(self, text, message):
        with pytest.raises(ScheduleError) as caught:
            parse_notice("国务院办公厅关于2026年部分节假日安排的通知\n" + text)
        assert any(message in p and p.startswith("第2行") for p in caught.value.problems), caught.value.problems

    def test_every_bad_line_is_listed(self):
        text = "一、元旦：1月32日放假。\n二、春节：2月15日至23日放假调休，共8天。\n三、清明节：4月4日至6日放假，共3天。"
        with pytest.raises(ScheduleError) as caught:
            parse_notice(text, 2026)
        assert [p[:3] for p in caught.value.problems] == ["第1行", "第2行"]


class TestTheCsv:
    def test_rows_with_a_header(self):
        schedule = parse_csv("date,is_workday,note\n2027-01-01,0,元旦\n2027/1/2,放假,元旦\n2027-02-06,1,春节调休上班\n")
        assert schedule.year == 2027
        assert schedule.days == {D(2027, 1, 1): (False, "元旦"), D(2027, 1, 2): (False, "元旦"),
                                 D(2027, 2, 6): (True, "春节调休上班")}

    def test_bad_rows_are_listed(self):
        text = "2027-01-01,0,元旦\n2026-12-31,0,跨年\n一月一日,0\n2027-01-02,2\n2027-01-01,1,冲突\n"
        with pytest.raises(ScheduleError) as caught:
            parse_csv(text, 2027)
        problems = "\n".join(caught.value.problems)
        assert "第2行" in problems and "2026-12-31 不在2027年内" in problems
        assert "第3行" in problems and "日期无法识别" in problems
        assert "第4行" in problems and "第二列应为 1（上班）或 0（放假）" in problems
        assert "第5行" in problems and "2027-01-01 既是放假日又是上班日" in problems


# --- the admin page ------------------------------------------------------------------------------

NOTICE_2027 = "国务院办公厅关于2027年部分节假日安排的通知\n一、元旦：1月1日（周五）至3日（周日）放假，共3天。\n"
URL = "admin:workflows_holidayoverride_import"


@pytest.fixture
def case_into_2027(world):
    """Received Wednesday 30 December 2026: 3 working days counted into a year the bundled schedule
    does not know → Monday 4 January 2027, unconfirmed (docs/clocks.md, "What unconfirmed means")."""
    case = register(world.mediator_a, world.town_a)
    Case.objects.filter(pk=case.pk).update(
        received_at=datetime.datetime(2026, 12, 30, 10, 0, tzinfo=datetime.timezone(datetime.timedelta(hours=8))))
    deadlines_recompute(queryset=Case.objects.filter(pk=case.pk))
    case.refresh_from_db()
    assert (case.acceptance_due, case.deadlines_confirmed) == (D(2027, 1, 4), False)
    return case


def test_preview_shows_the_days_and_the_deadlines_that_move_and_saves_nothing(administrator, case_into_2027):
    """With 1 January 2027 off the third working day after 30 Dec is Tuesday 5 January, confirmed."""
    HolidayOverride.objects.create(date=D(2027, 1, 8), is_workday=False, note="预估")

    response = administrator.post(reverse(URL), {"format": "notice", "text": NOTICE_2027})

    assert response.status_code == 200
    body = response.content.decode()
    assert "预览：2027年节假日安排（尚未保存）" in body
    days = body.split('id="schedule-days"')[1].split("</table>")[0]
    assert days.count("<tr>") == 4 and "2027-01-01" in days and "2027-01-03" in days  # header + 3 days
    assert "2027-01-08" in body.split('id="schedule-removed"')[1].split("</ul>")[0]
    moves = body.split('id="schedule-moves"')[1].split("</table>")[0]
    assert case_into_2027.number in moves
    assert "2027-01-04 → <strong>2027-01-05</strong>" in moves and "待确认 → 已确认" in moves
    # Nothing saved.
    assert list(HolidayOverride.objects.values_list("date", flat=True)) == [D(2027, 1, 8)]
    assert not CalendarYear.objects.filter(year=2027).exists()
    assert Case.objects.get(pk=case_into_2027.pk).acceptance_due == D(2027, 1, 4)
    assert not AuditEvent.objects.filter(action="calendar.import").exists()


def test_confirming_saves_the_year_recomputes_and_is_audited(administrator, world, case_into_2027):
    HolidayOverride.objects.create(date=D(2027, 1, 8), is_workday=False, note="预估")

    response = administrator.post(reverse(URL), {"format": "notice", "text": NOTICE_2027, "year": "2027",
                                                 "note": "国务院办公厅关于2027年部分节假日安排的通知",
                                                 "confirm": "1"})

    assert response.status_code == 302
    assert dict(HolidayOverride.objects.values_list("date", "is_workday")) == {
        D(2027, 1, 1): False, D(2027, 1, 2): False, D(2027, 1, 3): False}
    assert CalendarYear.objects.get(year=2027).note == "国务院办公厅关于2027年部分节假日安排的通知"
    case = Case.objects.get(pk=case_into_2027.pk)
    assert (case.acceptance_due, case.deadlines_confirmed) == (D(2027, 1, 5), True)
    event = AuditEvent.objects.get(action="calendar.import")
    assert event.actor_id == world.admin.pk
    assert event.old is not None and event.new is not None
    assert event.old["overrides"] == {"2027-01-08": False} and event.old["confirmed"] is False
    assert event.new["removed"] == ["2027-01-08"] and event.new["recomputed_cases"] == 1
    assert event.new["overrides"] == {"2027-01-01": False, "2027-01-02": False, "2027-01-03": False}


def test_the_real_2026_notice_through_the_page(administrator):
    """Saved as 39 rows (33 days off, 6 working days); the bundled schedule already agrees, so no
    stored deadline moves."""
    preview = administrator.post(reverse(URL), {"format": "notice", "text": NOTICE_2026})
    assert "期限将变动的未结案件：0 件" in preview.content.decode()

    administrator.post(reverse(URL), {"format": "notice", "text": NOTICE_2026, "year": "2026", "confirm": "1",
                                      "note": "国务院办公厅关于2026年部分节假日安排的通知"})

    assert set(HolidayOverride.objects.filter(is_workday=False).values_list("date", flat=True)) == HOLIDAYS_2026
    assert set(HolidayOverride.objects.filter(is_workday=True).values_list("date", flat=True)) == WORKDAYS_2026
    assert CalendarYear.objects.filter(year=2026).exists()


def test_a_csv_upload_previews_like_the_notice(administrator):
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile("2027.csv", "日期,是否工作日,说明\n2027-01-01,0,元旦\n".encode("utf-8-sig"),
                                content_type="text/csv")
    response = administrator.post(reverse(URL), {"format": "notice", "text": "", "year": "2027", "upload": upload})

    body = response.content.decode()
    assert "预览：2027年节假日安排（尚未保存）" in body and "2027-01-01" in body
    assert 'name="format" value="csv"' in body  # the confirmation reads the rows as CSV
    assert not HolidayOverride.objects.exists()


def test_bad_input_is_a_chinese_error_listing_the_lines_and_saves_nothing(administrator, case_into_2027):
    text = NOTICE_2027 + "二、春节：2月6日至13日放假调休，共9天。\n三、清明节：4月31日放假。\n"

    for confirm in ("", "1"):
        response = administrator.post(reverse(URL), {"format": "notice", "text": text, "confirm": confirm})
        assert response.status_code == 200
        errors = response.content.decode().split('id="schedule-errors"')[1].split("</ul>")[0]
        assert "未保存任何内容" in errors
        assert "第3行" in errors and "写明共9天，但日期范围是8天" in errors
        assert "第4行" in errors and "“4月31日”不是有效日期" in errors

    assert not HolidayOverride.objects.exists() and not CalendarYear.objects.exists()
    assert Case.objects.get(pk=case_into_2027.pk).acceptance_due == D(2027, 1, 4)
    assert not AuditEvent.objects.filter(action="calendar.import").exists()


def test_only_those_who_may_change_the_calendar(world, client, administrator):
    """docs/permissions.md: the calendar is the administrators' (their model permissions on
    节假日调整 and 已确认的节假日年份). Staff without them are refused; others go to the admin login."""
    assert administrator.get(reverse(URL)).status_code == 200
    assert "录入全年节假日安排" in administrator.get(
        reverse("admin:workflows_holidayoverride_changelist")).content.decode()

    world.supervisor_a.is_staff = True
    world.supervisor_a.save(update_fields=["is_staff"])
    client.force_login(world.supervisor_a)
    assert client.get(reverse(URL)).status_code == 403
    response = client.post(reverse(URL), {"format": "notice", "text": NOTICE_2027, "confirm": "1"})
    assert response.status_code == 403
    assert not HolidayOverride.objects.exists()

    client.force_login(world.mediator_a)
    response = client.get(reverse(URL))
    assert response.status_code == 302 and "/login/" in response["Location"]


@pytest.mark.parametrize(("reader", "text"), [
    (parse_notice, "国务院办公厅关于1999年部分节假日安排的通知\n一、元旦：1月1日放假，共1天。"),
    (parse_csv, "0001-01-01,0,x"),
    (parse_csv, "9999-12-31,0,x"),
])
def test_a_year_outside_the_calendar_is_refused_in_words(reader, text):
    """A schedule is entered for 2000–2100 (the form's bounds), whatever year the text names."""
    with pytest.raises(ScheduleError) as caught:
        reader(text)
    assert "年份应在2000年至2100年之间。" in caught.value.problems
