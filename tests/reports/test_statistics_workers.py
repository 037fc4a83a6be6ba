"""涉及人数 and collective disputes in the figures, and a case with several respondents counted once.

The expectations are written by hand from three cases (劳动争议调解仲裁法 art. 7: ten or more
workers with a common claim may elect representatives; art. 22: the dispatch agency and the
host employer are joint parties):

* 30 couriers represented by 3 listed applicants  → 1 case, 30 workers, collective;
* 2 workers listed                                → 1 case,  2 workers;
* 1 dispatched worker against two respondents     → 1 case,  1 worker.

Together: 3 cases, 33 workers involved, 1 collective dispute.
"""
from __future__ import annotations

import io

from django.urls import reverse
from openpyxl import load_workbook
from pypdf import PdfReader

from mediation.reports import ledger
from mediation.reports.statistics import StatisticsQuery, statistics_compute, statistics_refresh
from mediation.selectors import case_list_visible_to
from tests.factories import register
from tests.reports.test_ledger import dispatch_case, represented_case
from workflows import services as ws
from workflows.clocks import local_today


def this_month() -> StatisticsQuery:
    month = local_today().replace(day=1)
    return StatisticsQuery(first_month=month, last_month=month)


def three_cases(world) -> None:
    represented_case(world)
    register(world.mediator_a, world.town_a, applicants=2)
    dispatch = dispatch_case(world)
    ws.case_accept(case_id=dispatch.pk, actor=world.mediator_a)


def test_art_7_workers_involved_and_collective_disputes_are_counted_from_the_workers_not_the_applicants(world):
    three_cases(world)
    # Township B: 12 workers, all listed (collective too); outside township A's figures.
    register(world.mediator_b, world.town_b, applicants=12)
    for use_summary in (False, True):
        if use_summary:
            statistics_refresh()
            # One more after the refresh: counted live above the watermark.
            register(world.mediator_a, world.town_a, applicants=1)
        extra = 1 if use_summary else 0
        a = statistics_compute(user=world.supervisor_a, query=this_month(), use_summary=use_summary)
        assert (a.totals.received, a.totals.workers, a.totals.collective) == (3 + extra, 33 + extra, 1)
        district = statistics_compute(user=world.admin, query=this_month(), use_summary=use_summary)
        assert (district.totals.received, district.totals.workers, district.totals.collective) == (
            4 + extra, 45 + extra, 2)
        rows = {g.organisation.pk: f for g, f in district.by_organisation}
        assert (rows[world.town_a.pk].workers, rows[world.town_b.pk].workers) == (33 + extra, 12)
        assert sum(f.workers for _n, _l, f in district.by_line) == 45 + extra
        assert sum(f.workers for _c, _l, f in district.by_channel) == 45 + extra
        assert [f.workers for m, f in district.by_month] == [45 + extra]
        wages = {c.code: f for c, f in district.by_category}["wages"]
        assert (wages.received, wages.workers) == (4 + extra, 45 + extra)
        b = statistics_compute(user=world.supervisor_b, query=this_month(), use_summary=use_summary)
        assert (b.totals.received, b.totals.workers, b.totals.collective) == (1, 12, 1)


def test_art_22_a_case_with_two_respondents_is_one_case_everywhere(world):
    dispatch = dispatch_case(world)
    ws.case_accept(case_id=dispatch.pk, actor=world.mediator_a)
    assert dispatch.parties.filter(role="respondent").count() == 2
    for use_summary in (False, True):
        if use_summary:
            statistics_refresh()
        stats = statistics_compute(user=world.admin, query=this_month(), use_summary=use_summary)
        assert (stats.totals.received, stats.totals.accepted, stats.totals.workers) == (1, 1, 1)
        assert [f.received for _g, f in stats.by_organisation if f.received] == [1]
        assert {c.code: f.received for c, f in stats.by_category}["wages"] == 1
    assert case_list_visible_to(user=world.admin).count() == 1
    assert ledger.ledger_export(user=world.admin, filters=None).rows == 1


def test_monthly_table_page_excel_and_pdf_show_the_workers_involved(world, client):
    three_cases(world)
    month = local_today().strftime("%Y-%m")
    client.force_login(world.supervisor_a)
    page = client.get(reverse("reports:monthly"), {"month": month})
    assert page.status_code == 200
    columns = [str(header) for _k, header, _kind in page.context["columns"]]
    assert columns[:3] == ["收案数", "涉及人数", "其中：集体争议"]
    total = dict(page.context["rows"])["合计"]
    assert total[:3] == [3, 33, 1]
    assert "涉及人数" in page.content.decode()
    sheet = load_workbook(io.BytesIO(client.get(reverse("reports:monthly_xlsx"), {"month": month}).content)).active
    assert sheet is not None
    header = [c.value for c in sheet[4]]
    assert header[2:5] == ["收案数", "涉及人数", "其中：集体争议"]
    rows = {row[1]: row for row in sheet.iter_rows(min_row=5, values_only=True) if row[1]}
    assert rows["合计"][2:5] == (3, 33, 1)
    pdf = client.get(reverse("reports:monthly_pdf"), {"month": month})
    assert pdf.status_code == 200
    text = PdfReader(io.BytesIO(pdf.content)).pages[0].extract_text().replace(" ", "")
    assert "涉及人数" in text


def test_the_statistics_page_shows_the_workers_involved(world, client):
    three_cases(world)
    client.force_login(world.supervisor_a)
    response = client.get(reverse("reports:statistics"))
    assert response.status_code == 200
    assert response.context["stats"].totals.workers == 33
    html = response.content.decode()
    assert "涉及人数（收案）" in html and html.count("<th class=\"num\" scope=\"col\">涉及人数</th>") >= 1
