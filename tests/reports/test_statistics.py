"""The figures agree with the cases they count, however they are computed, and stay in scope."""
from __future__ import annotations

import datetime
import io
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook
from openpyxl.worksheet.worksheet import Worksheet
from pypdf import PdfReader

from mediation.models import Case, Organisation
from mediation.reports.statistics import (
    StatisticsQuery,
    may_read_statistics,
    statistics_compute,
    statistics_refresh,
)
from mediation.selectors import CaseFilters, case_list_visible_to
from tests.factories import register
from tests.lifecycle import case_in_state
from workflows import services as ws
from workflows.clocks import CHINA_TZ, local_today
from workflows.models import TransitionLog
from workflows.states import CaseState as S

#: A spread of states over the enterprise (line 1), township A (line 2) and the court desk (line 3).
STATES = [S.REGISTERED, S.REJECTED, S.WITHDRAWN, S.SELF_RESOLUTION, S.JOINT_MEDIATION, S.LINKED_MEDIATION,
          S.ESCALATION_PENDING, S.SETTLED, S.PERFORMED, S.MEDIATION_FAILED, S.REFERRED, S.CLOSED]


def this_year() -> StatisticsQuery:
    return StatisticsQuery.last_twelve_months()


def build_cases(world) -> list[Case]:
    cases = [case_in_state(world, state) for state in STATES]
    # Township B and a second line-1 case, so that organisations and lines differ.
    cases.append(register(world.mediator_b, world.town_b, applicants=12, channel="hotline"))
    b = register(world.mediator_b, world.town_b, is_new_employment_form=True, work_form="delivery")
    ws.case_accept(case_id=b.pk, actor=world.mediator_b)
    ws.case_terminate(case_id=b.pk, actor=world.mediator_b, reason="分歧较大")
    cases.append(b)
    # Received three weeks ago and never accepted: overdue now.
    cases.append(register(world.mediator_a, world.town_a, received_at=timezone.now() - datetime.timedelta(days=21)))
    line3 = case_in_state(world, S.LINKED_MEDIATION)
    ws.case_terminate(case_id=line3.pk, actor=world.court_desk_mediator, reason="调解不成")
    cases.append(line3)
    return [Case.objects.select_related("organisation__level").get(pk=c.pk) for c in cases]


def expected(cases: list[Case], query: StatisticsQuery) -> dict[str, int | Decimal]:
    """The figures of docs/statistics.md worked out case by case in Python, not by the SQL under test."""
    def in_period(moment: datetime.datetime) -> bool:
        return query.start <= moment < query.end

    out: dict[str, int | Decimal] = {k: 0 for k in ("received", "accepted", "rejected", "settled", "failed", "referred",
                                             "withdrawn", "closed", "collective", "new_form", "grassroots")}
    out["claimed"] = out["agreed"] = Decimal("0")
    for case in cases:
        if in_period(case.received_at):
            out["received"] += 1
            out["claimed"] += case.amount_claimed
            out["collective"] += case.is_collective
            out["new_form"] += case.is_new_employment_form
        referred_now = case.state == S.REFERRED or case.closed_from_state == S.REFERRED
        for log in TransitionLog.objects.filter(case=case):
            if not in_period(log.at):
                continue
            measure = {"accept": "accepted", "reject": "rejected", "record_agreement": "settled",
                       "terminate": "failed", "refer": "referred", "withdraw": "withdrawn",
                       "close": "closed"}.get(log.transition)
            if measure:
                out[measure] += 1
            if log.transition == "record_agreement":
                out["agreed"] += case.amount_agreed
            if log.transition in ("record_agreement", "terminate") and case.organisation.level.line <= 2 \
                    and not referred_now:
                out["grassroots"] += 1
    return out


def test_figures_agree_with_the_cases_counted_one_by_one(world):
    cases = build_cases(world)
    query = this_year()
    stats = statistics_compute(user=world.admin, query=query)
    want = expected(cases, query)
    t = stats.totals
    for measure in ("received", "accepted", "rejected", "settled", "failed", "referred", "withdrawn", "closed",
                    "collective", "new_form", "claimed", "agreed"):
        assert getattr(t, measure) == want[measure], measure
    assert t.grassroots == want["grassroots"]
    assert t.settled == 2 and t.failed == 4  # settled+performed; failed, referred, township B, line 3
    assert t.success_rate == pytest.approx(2 / 6)
    assert t.grassroots_rate == pytest.approx(want["grassroots"] / 6)
    assert t.collective == 1 and t.new_form == 1


def test_received_agrees_with_the_case_list_for_every_filter(world):
    build_cases(world)
    today = local_today()
    query = this_year()
    for extra in ({}, {"line": 1}, {"line": 2}, {"line": 3}, {"channel": "hotline"}, {"category": "wages"}):
        stats = statistics_compute(user=world.admin, query=StatisticsQuery(
            first_month=query.first_month, last_month=query.last_month, **extra))
        listed = case_list_visible_to(user=world.admin, filters=CaseFilters(
            received_from=query.first_month, received_to=today, **extra)).count()
        assert stats.totals.received == listed, extra
        overdue = case_list_visible_to(user=world.admin, filters=CaseFilters(overdue=True, **extra)).count()
        assert stats.totals.overdue == overdue, extra


def test_breakdowns_add_up_to_the_totals(world):
    build_cases(world)
    stats = statistics_compute(user=world.admin, query=this_year())
    for rows in (stats.by_organisation, stats.by_line, stats.by_channel, stats.by_month):
        figures = [row[-1] for row in rows]
        for measure in ("received", "settled", "failed", "referred", "withdrawn", "claimed"):
            assert sum(getattr(f, measure) for f in figures) == getattr(stats.totals, measure), (rows, measure)
    labels = [g.label for g, _f in stats.by_organisation]
    assert labels[0].startswith(world.district.display_name) and "（本级）" in labels[0]
    assert {world.town_a.display_name, world.town_b.display_name} <= set(labels)
    by_line = {n: f for n, _name, f in stats.by_line}
    assert by_line[1].received == 2 and by_line[3].failed == 1


def test_summary_plus_live_tail_gives_the_same_figures_as_all_live(world):
    build_cases(world)
    statistics_refresh()
    # Moves and registrations after the refresh are counted live, above the watermarks.
    later = case_in_state(world, S.SETTLED)
    ws.case_terminate(case_id=case_in_state(world, S.JOINT_MEDIATION).pk, actor=world.mediator_a, reason="不成")
    open_case = Case.objects.filter(state=S.JOINT_MEDIATION).first()
    ws.case_withdraw(case_id=open_case.pk, actor=world.mediator_a, reason="撤回")
    assert later.pk
    for user in (world.admin, world.supervisor_a, world.auditor_a, world.supervisor_b):
        for extra in ({}, {"category": "wages"}, {"line": 2}, {"organisation": world.town_a}):
            if extra.get("organisation") and user == world.supervisor_b:
                continue
            query = StatisticsQuery(first_month=this_year().first_month, last_month=this_year().last_month,
                                    **extra)
            hybrid = statistics_compute(user=user, query=query)
            live = statistics_compute(user=user, query=query, use_summary=False)
            assert hybrid.state is not None and live.state is None
            assert hybrid.totals.values == live.totals.values, (user, extra)
            hybrid_rows: list[tuple[Any, ...]] = [*hybrid.by_organisation, *hybrid.by_line, *hybrid.by_month]
            live_rows: list[tuple[Any, ...]] = [*live.by_organisation, *live.by_line, *live.by_month]
            for a, b in zip(hybrid_rows, live_rows, strict=True):
                assert a[-1].values == b[-1].values
            assert [f.values for _c, f in hybrid.by_category] == [f.values for _c, f in live.by_category]


def test_township_supervisor_sees_only_their_township(world):
    build_cases(world)
    stats = statistics_compute(user=world.supervisor_a, query=this_year())
    in_a = Case.objects.filter(organisation__path__startswith=world.town_a.path).count()
    assert stats.totals.received == in_a
    assert all(g.organisation.path.startswith(world.town_a.path) for g, _f in stats.by_organisation)
    assert world.town_b.display_name not in [g.label for g, _f in stats.by_organisation]
    b = statistics_compute(user=world.supervisor_b, query=this_year())
    assert b.totals.received == Case.objects.filter(organisation=world.town_b).count() == 2
    # Asking for another township's subtree gives nothing rather than its figures.
    other = statistics_compute(user=world.supervisor_b, query=StatisticsQuery(
        first_month=this_year().first_month, last_month=this_year().last_month, organisation=world.town_a))
    assert other.totals.received == 0 and other.by_organisation == []


def test_time_at_each_line_is_measured_from_arrival_to_departure(world):
    start = datetime.datetime(2026, 3, 2, 9, 0, tzinfo=CHINA_TZ)
    with time_machine.travel(start, tick=False):
        case = register(world.enterprise_mediator, world.enterprise_a)
        ws.case_accept(case_id=case.pk, actor=world.enterprise_mediator)
    with time_machine.travel(start + datetime.timedelta(days=2), tick=False):
        ws.escalation_request(case_id=case.pk, actor=world.enterprise_mediator, to_organisation_id=world.town_a.pk,
                              reason="企业内部未能化解")
    with time_machine.travel(start + datetime.timedelta(days=3), tick=False):
        ws.escalation_approve(case_id=case.pk, actor=world.supervisor_a)
    with time_machine.travel(start + datetime.timedelta(days=7, hours=12), tick=False):
        ws.case_terminate(case_id=case.pk, actor=world.mediator_a, reason="调解不成")
        stats = statistics_compute(user=world.admin, query=StatisticsQuery(
            first_month=datetime.date(2026, 3, 1), last_month=datetime.date(2026, 3, 1)))
    # Line 1 from acceptance until the escalation was approved (waiting included); line 2 after.
    assert stats.totals.average_days(1) == pytest.approx(3.0)
    assert stats.totals.average_days(2) == pytest.approx(4.5)
    assert stats.totals.average_days(3) is None
    assert stats.totals.failed == 1 and stats.totals.grassroots == 1


def test_months_are_chinese_calendar_months(world):
    # 23:30 on 31 March in Beijing is 15:30 UTC: March's case, not April's.
    moment = datetime.datetime(2026, 3, 31, 23, 30, tzinfo=CHINA_TZ)
    with time_machine.travel(moment + datetime.timedelta(minutes=10), tick=False):
        register(world.mediator_a, world.town_a, received_at=moment)
        stats = statistics_compute(user=world.admin, query=StatisticsQuery(
            first_month=datetime.date(2026, 3, 1), last_month=datetime.date(2026, 4, 1)))
    assert [(m.month, f.received) for m, f in stats.by_month] == [(3, 1), (4, 0)]


def test_refresh_is_idempotent_and_counts_everything_up_to_the_watermarks(world):
    build_cases(world)
    first = statistics_refresh()
    second = statistics_refresh()
    assert (first.case_watermark, first.log_watermark, first.rows) == (
        second.case_watermark, second.log_watermark, second.rows)
    assert second.case_watermark == Case.objects.order_by("-pk").first().pk


@pytest.mark.parametrize("role", ["admin", "auditor_a", "district_supervisor", "supervisor_a"])
def test_statistics_page_renders_charts_for_readers(world, client, role, django_assert_max_num_queries):
    build_cases(world)
    client.force_login(getattr(world, role))
    with django_assert_max_num_queries(40):
        response = client.get(reverse("reports:statistics"))
    assert response.status_code == 200
    html = response.content.decode()
    assert html.count("<svg") == 3 and "每月收案与调解结果" in html and "基层化解率" in html
    assert 'src="http' not in html and 'href="http' not in html  # nothing loaded from elsewhere


def test_statistics_page_filters_and_drills_down(world, client):
    build_cases(world)
    client.force_login(world.admin)
    response = client.get(reverse("reports:statistics"), {"organisation": world.town_a.pk, "line": 2})
    assert response.status_code == 200
    assert response.context["stats"].totals.received == Case.objects.filter(organisation=world.town_a).count()
    bad = client.get(reverse("reports:statistics"), {"first_month": "2026-05", "last_month": "2026-01"})
    assert "起始月份不能晚于截止月份" in bad.content.decode()


@pytest.mark.parametrize("role", ["mediator_a", "enterprise_mediator", "court_desk_mediator"])
def test_mediators_are_refused_the_statistics(world, client, role):
    user = getattr(world, role)
    assert not may_read_statistics(user)
    client.force_login(user)
    for name in ("reports:statistics", "reports:monthly", "reports:monthly_xlsx", "reports:ledger",
                 "reports:ledger_export"):
        assert client.get(reverse(name)).status_code == 403, name


def test_anonymous_users_are_sent_to_log_in(client, db):
    response = client.get(reverse("reports:statistics"))
    assert response.status_code == 302 and "login" in response["Location"]


def _active_sheet(xlsx: bytes) -> Worksheet:
    sheet = load_workbook(io.BytesIO(xlsx)).active
    assert isinstance(sheet, Worksheet)
    return sheet


def test_monthly_table_page_excel_and_pdf(world, client):
    build_cases(world)
    month = local_today().strftime("%Y-%m")
    client.force_login(world.admin)
    page = client.get(reverse("reports:monthly"), {"month": month})
    assert page.status_code == 200
    assert "劳资纠纷月统计表" in page.content.decode() and world.town_b.display_name in page.content.decode()
    xlsx = client.get(reverse("reports:monthly_xlsx"), {"month": month})
    sheet = _active_sheet(xlsx.content)
    assert sheet["A1"].value == "劳资纠纷月统计表"
    rows = {row[1]: row for row in sheet.iter_rows(min_row=5, values_only=True) if row[1]}
    total = rows["合计"]
    month_start = StatisticsQuery.last_twelve_months().end - datetime.timedelta(days=40)
    assert total[2] == Case.objects.filter(received_at__gte=StatisticsQuery(
        first_month=local_today().replace(day=1), last_month=local_today().replace(day=1)).start).count()
    assert month_start
    assert rows[world.town_b.display_name][2] == 2
    # A township supervisor's table has their township's units only.
    client.force_login(world.supervisor_b)
    own = _active_sheet(client.get(reverse("reports:monthly_xlsx"), {"month": month}).content)
    labels = [row[1] for row in own.iter_rows(min_row=5, values_only=True) if row[1]]
    assert world.town_a.display_name not in labels and "合计" in labels


def test_monthly_table_pdf_is_a_pdf(world, client):
    build_cases(world)
    client.force_login(world.admin)
    response = client.get(reverse("reports:monthly_pdf"), {"month": local_today().strftime("%Y-%m")})
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    text = PdfReader(io.BytesIO(response.content)).pages[0].extract_text()
    assert "劳资纠纷月统计表" in text.replace(" ", "")


def test_organisations_outside_any_scope_are_not_offered(world, client):
    client.force_login(world.supervisor_b)
    response = client.get(reverse("reports:statistics"))
    offered = set(response.context["form"].fields["organisation"].queryset)
    assert offered == set(Organisation.objects.filter(path__startswith=world.town_b.path))


def test_refresh_command_reports_what_it_stored(world):
    from io import StringIO

    from django.core.management import call_command

    build_cases(world)
    out = StringIO()
    call_command("refresh_statistics", stdout=out)
    assert "统计汇总已更新" in out.getvalue()
    stats = statistics_compute(user=world.admin, query=this_year())
    assert stats.state is not None and stats.totals.received == Case.objects.count()


@pytest.mark.parametrize("month", ["9999-12", "0000-01", "1899-05", "2026-13", "abc", "2026-00"])
def test_a_month_outside_the_calendar_is_a_form_error_not_a_server_error(world, client, month):
    client.force_login(world.district_supervisor)
    for name, key in (("reports:statistics", "last_month"), ("reports:statistics", "first_month"),
                      ("reports:monthly", "month"), ("reports:monthly_xlsx", "month")):
        response = client.get(reverse(name), {key: month})
        assert response.status_code < 500, (name, key)
