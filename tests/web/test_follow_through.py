"""Every case that needs an act is on someone's list (DOMAIN.md §3, the closed loop).

A performed case waits for its follow-up visit (回访), a referred one for the arbitration
or court outcome, a settled one for its instalments: the handling mediators and the
supervisors above them see these on their home page. Lists mark deadlines computed
without a confirmed holiday schedule (待确认, docs/clocks.md) and say how many calendar
days an overdue date is late.

The follow-up period is an office rule (settings.FOLLOW_UP_DAYS, 30 calendar days after
the performance was confirmed), not a statute: docs/clocks.md, "Follow-up visit".
"""
from __future__ import annotations

import datetime
from unittest import mock

import pytest
from django.urls import reverse

from mediation import services as ms
from mediation.models import Case
from mediation.selectors import follow_through
from mediation.templatetags.mediation_tags import days_overdue
from tests.factories import register
from tests.lifecycle import case_in_state
from workflows.models import TransitionLog
from workflows.states import CaseState


class pinned:
    """Pin the local date the pages read (home, deadlines, case list, escalation queue)."""

    TARGETS = ("mediation.views.home.local_today", "mediation.views.work.local_today",
               "mediation.views.cases.local_today", "mediation.selectors.local_today")

    def __init__(self, day: datetime.date) -> None:
        self.patches = [mock.patch(t, lambda: day) for t in self.TARGETS]

    def __enter__(self) -> None:
        for p in self.patches:
            p.start()

    def __exit__(self, *exc: object) -> None:
        for p in self.patches:
            p.stop()


def _performed_on(case: Case, at: datetime.datetime) -> None:
    TransitionLog.objects.filter(case=case, to_state=CaseState.PERFORMED).update(at=at)


def _home(client, user) -> str:
    client.force_login(user)
    response = client.get(reverse("home"))
    assert response.status_code == 200
    return response.content.decode()


class TestDaysOverdue:
    def test_calendar_days_from_the_last_day_in_time(self):
        """Overdue from the day after the last day (docs/clocks.md): 31 Dec due, 3 Jan = 3 days late."""
        assert days_overdue(datetime.date(2026, 12, 31), datetime.date(2027, 1, 3)) == 3

    def test_not_overdue_on_the_last_day_or_before(self):
        assert days_overdue(datetime.date(2026, 12, 31), datetime.date(2026, 12, 31)) == 0
        assert days_overdue(datetime.date(2026, 12, 31), datetime.date(2026, 12, 1)) == 0
        assert days_overdue(None, datetime.date(2026, 12, 1)) == 0


class TestAwaitingFollowUp:
    def test_on_the_handling_mediators_and_the_supervisors_home_with_its_due_date(self, world, client):
        """Performance confirmed 01:30 Beijing time on 3 Nov 2026 (17:30 UTC on the 2nd): the visit is
        due 30 days later, 3 Dec; on 8 Dec it is 5 days late."""
        case = case_in_state(world, CaseState.PERFORMED)
        assert list(case.mediators.all()) == [world.mediator_a]
        _performed_on(case, datetime.datetime(2026, 11, 2, 17, 30, tzinfo=datetime.UTC))
        with pinned(datetime.date(2026, 12, 8)):
            for user in (world.mediator_a, world.supervisor_a, world.district_supervisor):
                body = _home(client, user)
                assert "待回访" in body and case.number in body, user
                assert "回访 12-03" in body and "超期 5 天" in body, user
            # Not theirs: a colleague not on the case, another township's supervisor.
            for user in (world.mediator_a2, world.supervisor_b):
                body = _home(client, user)
                assert case.number not in body, user

    def test_not_yet_due_shows_the_date_without_lateness(self, world, client):
        case = case_in_state(world, CaseState.PERFORMED)
        _performed_on(case, datetime.datetime(2026, 11, 20, 2, 0, tzinfo=datetime.UTC))  # 20 Nov Beijing
        with pinned(datetime.date(2026, 12, 20)):  # the 30th day: still in time
            body = _home(client, world.mediator_a)
        assert "回访 12-20" in body and "超期" not in body.split("待跟进")[1].split("</section>")[0]

    def test_leaves_the_list_once_the_visit_is_recorded(self, world):
        case = case_in_state(world, CaseState.PERFORMED)
        assert [c.pk for c in follow_through(user=world.mediator_a)["follow_up"]] == [case.pk]
        ms.followup_record(case_id=case.pk, actor=world.mediator_a, visited_on=datetime.date(2026, 11, 20),
                           method="phone", contact="申请人", content="款项已全部到账，申请人表示满意")
        assert follow_through(user=world.mediator_a)["follow_up"] == []
        assert follow_through(user=world.supervisor_a)["follow_up"] == []

    def test_the_action_panel_points_to_the_follow_up_form(self, world, client):
        """The case page no longer says there is nothing to do: it asks for the visit and links to the form."""
        case = case_in_state(world, CaseState.PERFORMED)
        client.force_login(world.mediator_a)
        body = client.get(reverse("case_detail", args=[case.pk])).content.decode()
        panel = body.split('id="h-actions"')[1].split("</section>")[0]
        assert "待回访" in panel and 'href="#h-followups"' in panel
        assert "当前没有您可以执行的办理操作" not in panel
        assert 'id="h-followups"' in body and "保存回访记录" in body

    def test_home_queries_do_not_grow_with_rows(self, world, client, django_assert_max_num_queries):
        case_in_state(world, CaseState.PERFORMED)
        case_in_state(world, CaseState.REFERRED)
        client.force_login(world.supervisor_a)
        with django_assert_max_num_queries(60) as few:
            client.get(reverse("home"))
        for _ in range(3):
            case_in_state(world, CaseState.PERFORMED)
            case_in_state(world, CaseState.REFERRED)
        with django_assert_max_num_queries(len(few.captured_queries)):
            body = client.get(reverse("home")).content.decode()
        assert body.count("待回访</td>") == 4 and body.count("待登记仲裁或诉讼结果</td>") == 4


class TestOtherLooseEnds:
    def test_referred_case_awaiting_its_outcome(self, world, client):
        """The closed loop (DOMAIN.md §3): a referred case stays on the list until its outcome is recorded."""
        case = case_in_state(world, CaseState.REFERRED)
        body = _home(client, world.supervisor_a)
        assert "待登记仲裁或诉讼结果" in body and case.number in body
        assert "移交 11-20" in body  # referred_on in tests.lifecycle

    def test_settled_case_with_an_overdue_instalment(self, world, client):
        """Instalments in tests.lifecycle fall due 30 and 60 days after 20 Nov 2026: 20 Dec and 19 Jan.
        On 23 Dec the first is 3 days late."""
        case = case_in_state(world, CaseState.SETTLED)
        with pinned(datetime.date(2026, 12, 20)):
            assert "协议未按期履行" not in _home(client, world.mediator_a)  # due today: still in time
        with pinned(datetime.date(2026, 12, 23)):
            for user in (world.mediator_a, world.supervisor_a):
                body = _home(client, user)
                assert "协议未按期履行" in body and case.number in body
                assert "应付 12-20" in body and "超期 3 天" in body


class TestListsMarkUnconfirmedAndLateDates:
    @pytest.fixture
    def unconfirmed(self, world):
        """Received 30 Dec 2026: acceptance due Mon 4 Jan 2027, unconfirmed while 2027's schedule is unknown
        (the example of docs/clocks.md); stored as the calendar left it."""
        case = register(world.mediator_a, world.town_a)
        Case.objects.filter(pk=case.pk).update(acceptance_due=datetime.date(2027, 1, 4), deadlines_confirmed=False)
        case.mediators.add(world.mediator_a)
        return case

    def test_every_list_shows_the_mark(self, world, client, unconfirmed):
        client.force_login(world.mediator_a)
        with pinned(datetime.date(2027, 1, 2)):
            for url in (reverse("home"), reverse("case_list"), reverse("deadlines")):
                body = client.get(url).content.decode()
                row = body.split(unconfirmed.number)[1].split("</tr>")[0]
                assert "待确认" in row, url

    def test_confirmed_dates_carry_no_mark(self, world, client):
        case = register(world.mediator_a, world.town_a)
        client.force_login(world.mediator_a)
        body = client.get(reverse("case_list")).content.decode()
        row = body.split(case.number)[1].split("</tr>")[0]
        assert "待确认" not in row

    def test_overdue_lists_say_how_many_days_late(self, world, client, unconfirmed):
        """Acceptance due 4 Jan 2027; on 7 Jan it is 3 calendar days late."""
        client.force_login(world.mediator_a)
        with pinned(datetime.date(2027, 1, 7)):
            for url in (reverse("home"), reverse("deadlines"), reverse("case_list") + "?overdue=on"):
                body = client.get(url).content.decode()
                row = body.split(unconfirmed.number)[1].split("</tr>")[0]
                assert "超期 3 天" in row, url

    def test_escalation_queue_marks_the_running_deadline(self, world, client):
        case = case_in_state(world, CaseState.ESCALATION_PENDING)
        Case.objects.filter(pk=case.pk).update(mediation_due=datetime.date(2027, 1, 4), deadlines_confirmed=False)
        client.force_login(world.supervisor_a)
        with pinned(datetime.date(2027, 1, 5)):
            body = client.get(reverse("escalation_queue")).content.decode()
            assert "2027-01-04" in body and "待确认" in body and "超期 1 天" in body
            home = client.get(reverse("home")).content.decode()
            row = home.split("待审批的提级")[1].split(case.number)[1].split("</tr>")[0]
            assert "待确认" in row


def test_a_consultation_waiting_for_its_reply_is_on_the_organisations_home_until_answered(world, client):
    """人社部令第17号: the other side answers a consultation request within 5 days, else it is taken
    as refusing. Requested 29 Sept 2026, day 5 is 4 Oct, inside the National Day holiday (1–7 Oct
    2026), so the period ends on the first working day after it, 8 Oct (民法典 arts. 201, 203).
    Viewed on 12 Oct it is 4 days late. Nobody is assigned before acceptance, so it is on the
    home of every mediator of the organisation, and nowhere else."""
    case = register(world.mediator_a, world.town_a)
    ms.consultation_record(case_id=case.pk, actor=world.mediator_a, requested_on=datetime.date(2026, 9, 29),
                           requested_by="worker", outcome="pending", replied_on=None, note="")
    with pinned(datetime.date(2026, 10, 12)):
        page = _home(client, world.mediator_a2)
        assert "协商待答复" in page and case.number in page
        assert "答复 10-08" in page and "超期 4 天" in page
        assert case.number not in _home(client, world.mediator_b)
    ms.consultation_record(case_id=case.pk, actor=world.mediator_a, requested_on=datetime.date(2026, 9, 29),
                           requested_by="worker", outcome="refused", replied_on=datetime.date(2026, 10, 6), note="")
    assert follow_through(user=world.mediator_a2, today=datetime.date(2026, 10, 12))["consultation_reply"] == []


def test_each_list_has_its_own_count(world):
    """The four counts of the panel come back in one statement: each must be its own list's.
    By hand: two performed cases wait for their visit, one referred case for its outcome, nothing
    is unpaid and no consultation waits — a count swapped with another shows at once."""
    performed = [case_in_state(world, CaseState.PERFORMED) for _ in range(2)]
    referred = case_in_state(world, CaseState.REFERRED)
    assert {c.organisation_id for c in [*performed, referred]} == {world.town_a.pk}
    found = follow_through(user=world.supervisor_a)
    assert (found["follow_up_count"], found["referral_outcome_count"], found["instalment_overdue_count"],
            found["consultation_reply_count"]) == (2, 1, 0, 0)
    assert sorted(c.pk for c in found["follow_up"]) == sorted(c.pk for c in performed)
    assert [c.pk for c in found["referral_outcome"]] == [referred.pk]
    # Another township's supervisor counts none of them.
    other = follow_through(user=world.supervisor_b)
    assert (other["follow_up_count"], other["referral_outcome_count"]) == (0, 0)


def test_a_capped_count_stops_one_past_its_cap(world):
    from mediation.selectors import capped_counts

    cases = [register(world.mediator_a, world.town_a) for _ in range(3)]
    mine = Case.objects.filter(pk__in=[c.pk for c in cases])
    # cap 1: "more than one" reads 2; the whole of three under a cap of 5; nothing matches none().
    assert capped_counts(mine, mine.filter(pk=cases[0].pk), Case.objects.none(), mine, cap=1) == [2, 1, 0, 2]
    assert capped_counts(mine, cap=5) == [3]
    assert capped_counts() == []


def test_each_list_holds_the_oldest_the_user_may_see_oldest_first(world):
    """A list shows ``limit`` cases: the oldest of those the user may see, in order — never a newer one
    in place of an older one, nor the older case of another township (by hand: four performed and
    four referred cases of town A, waiting in neither the order of their registration nor its
    reverse, and the oldest of all in town B)."""
    from django.utils import timezone

    from mediation.models import Referral

    def aged(state, days, organisation=None):
        # Since when a case waits is the database's (mediation/tallies.py): from its history's rows.
        case = case_in_state(world, state)
        if state == CaseState.PERFORMED:
            _performed_on(case, timezone.now() - datetime.timedelta(days=days))
        else:
            Referral.objects.filter(case=case).update(referred_on=timezone.localdate() - datetime.timedelta(days=days))
        if organisation:  # held by another township
            Case.objects.filter(pk=case.pk).update(organisation=organisation)
        return case

    visits = [aged(CaseState.PERFORMED, days) for days in (7, 9, 5, 8)]
    outcomes = [aged(CaseState.REFERRED, days) for days in (6, 8, 3, 7)]
    aged(CaseState.PERFORMED, 30, world.town_b)
    aged(CaseState.REFERRED, 30, world.town_b)
    found = follow_through(user=world.supervisor_a, limit=3)
    assert [c.pk for c in found["follow_up"]] == [visits[1].pk, visits[3].pk, visits[0].pk]  # 9, 8, 7 days
    assert [c.pk for c in found["referral_outcome"]] == [outcomes[1].pk, outcomes[3].pk, outcomes[0].pk]  # 8, 7, 6
    assert (found["follow_up_count"], found["referral_outcome_count"]) == (4, 4)
    # Each row still carries what the list shows (its number, its organisation, its dates).
    first = found["follow_up"][0]
    assert first.number == visits[1].number and first.organisation.name == world.town_a.name
    assert first.performed_at is not None and first.task_due is not None
