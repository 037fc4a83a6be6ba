"""The case list's first page as it opens (``views.cases.case_list``) and a search's matches, with the
cases read one by one asked of each row (``permissions.visible_cases_q(..., row_by_row=True)``) or
hashed first, as ``permissions.asks_grants_row_by_row`` decides: the same cases either way — the user's
organisations' and those granted or waiting for them one by one, newest first — never another's,
never a case waiting for someone else.

Expected pages by hand: which case each user may read is written out below from DOMAIN.md §5 (a
mediator reads their organisation's cases and the cases granted to them; a supervisor deciding an
escalation reads the case while it waits), and the order is the dates the test gives the cases.
"""
from __future__ import annotations

import dataclasses
import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from mediation import permissions
from mediation.models import Case, Membership, Role
from mediation.selectors import case_list_visible_to
from mediation.services import PersonInput, case_register
from tests.factories import UserFactory, member, register, registration, valid_id_number
from tests.web.case_list_pages import WAYS, listed, postgres_only
from workflows.models import EscalationRequest


@pytest.fixture(params=["asked-row-by-row", "gathered"])
def shape(request, monkeypatch):
    """Both shapes of the first page's statement: the grants asked of each row (from one grant on), or
    hashed first (never, here): the same pages either way."""
    asked = request.param == "asked-row-by-row"
    monkeypatch.setattr(permissions, "GRANTS_ASKED_ROW_BY_ROW_FROM", 1 if asked else 10**6)
    return request.param


def named(actor, organisation) -> Case:
    """A case whose one applicant is 欧阳明远."""
    data = dataclasses.replace(registration(organisation), applicants=[
        PersonInput(name="欧阳明远", id_number=valid_id_number(), phone="13805740000")])
    return case_register(actor=actor, data=data)


def received_in_turn(cases: list[Case]) -> None:
    """Case i received on day i: the last of ``cases`` is the newest."""
    start = timezone.now() - datetime.timedelta(days=len(cases) + 1)
    for i, case in enumerate(cases):
        Case.objects.filter(pk=case.pk).update(received_at=start + datetime.timedelta(days=i))


@pytest.mark.parametrize("outside", WAYS)
def test_the_first_page_is_the_newest_of_the_users_organisation_and_of_the_cases_granted(world, client, outside,
                                                                                         shape):
    # 30 cases received one a day, in turns of three: town A's, town B's granted to mediator A (a former
    # mediator's read), town B's not granted.
    own, granted, others = [], [], []
    for _ in range(10):
        own.append(register(world.mediator_a, world.town_a))
        granted.append(register(world.mediator_b, world.town_b))
        others.append(register(world.mediator_b, world.town_b))
    received_in_turn([c for turn in zip(own, granted, others, strict=True) for c in turn])
    for case in granted:
        permissions.grant_case_read(world.mediator_a, case)
    # Two of the granted cases closed since: a grant reads a closed case too.
    Case.objects.filter(pk__in=[granted[9].pk, granted[3].pk]).update(state="closed")
    assert permissions.asks_grants_row_by_row(world.mediator_a) == (shape == "asked-row-by-row")
    client.force_login(world.mediator_a)
    readable = [c for turn in zip(own, granted, strict=True) for c in turn]  # oldest first
    expected = [c.number for c in reversed(readable)]
    for _ in range(2):  # the second read from the statement kept
        body = client.get(reverse("case_list")).content.decode()
        assert listed(body) == expected[:20]
        assert "共 20 件" in body
    # Filtered by state: the closed cases of the reach, the two granted ones, newest first.
    body = client.get(reverse("case_list"), {"state": "closed"}).content.decode()
    assert listed(body) == [granted[9].number, granted[3].number]
    # Mediator B reads every town B case and none of town A's.
    client.force_login(world.mediator_b)
    body = client.get(reverse("case_list")).content.decode()
    expected_b = [c.number for turn in reversed(list(zip(granted, others, strict=True))) for c in reversed(turn)]
    assert listed(body) == expected_b[:20]


@pytest.mark.parametrize("outside", WAYS)
def test_a_case_waiting_for_a_supervisors_decision_is_on_their_first_page_while_it_waits(world, client, outside,
                                                                                         shape):
    desk_supervisor = member(world.court_desk, Role.SUPERVISOR)
    desks = [register(world.court_desk_mediator, world.court_desk) for _ in range(3)]
    waiting, town = register(world.mediator_a, world.town_a), register(world.mediator_a, world.town_a)
    granted = register(world.mediator_b, world.town_b)  # a case of town B granted to the desk's supervisor
    permissions.grant_case_read(desk_supervisor, granted)
    received_in_turn([desks[0], waiting, granted, desks[1], town, desks[2]])
    # Town A's case waits to go up to the court desk (it stays town A's until decided).
    request = EscalationRequest.objects.create(
        case=waiting, from_organisation=world.town_a, to_organisation=world.court_desk, from_state=waiting.state,
        reason="涉及诉讼衔接", requested_by=world.mediator_a)
    assert permissions.asks_grants_row_by_row(desk_supervisor) == (shape == "asked-row-by-row")
    client.force_login(desk_supervisor)
    for _ in range(2):
        body = client.get(reverse("case_list")).content.decode()
        assert listed(body) == [desks[2].number, desks[1].number, granted.number, waiting.number, desks[0].number]
    # Decided (refused): no longer waiting for them, no longer theirs to read.
    EscalationRequest.objects.filter(pk=request.pk).update(decision=EscalationRequest.Decision.DENIED)
    body = client.get(reverse("case_list")).content.decode()
    assert listed(body) == [desks[2].number, desks[1].number, granted.number, desks[0].number]
    client.force_login(world.supervisor_b)  # town B's own case; none of the desk's or town A's
    assert listed(client.get(reverse("case_list")).content.decode()) == [granted.number]


@pytest.mark.django_db
def test_asked_row_by_row_the_reach_is_the_same_for_every_user_and_state(world):
    cases = [register(world.mediator_a, world.town_a), register(world.mediator_b, world.town_b),
             register(world.enterprise_mediator, world.enterprise_a), register(world.court_desk_mediator,
                                                                               world.court_desk)]
    permissions.grant_case_read(world.mediator_a, cases[1])
    permissions.grant_case_read(world.enterprise_mediator, cases[3])
    Case.objects.filter(pk=cases[3].pk).update(state="closed")
    EscalationRequest.objects.create(case=cases[2], from_organisation=world.enterprise_a,
                                     to_organisation=world.court_desk, from_state=cases[2].state,
                                     reason="涉及诉讼衔接", requested_by=world.enterprise_mediator)
    desk_supervisor = member(world.court_desk, Role.SUPERVISOR)
    # A user of no organisation, holding a grant; a mediator switched off, holding one; a user of two.
    outsider, switched_off = UserFactory(), member(world.town_b, Role.MEDIATOR)
    permissions.grant_case_read(outsider, cases[0])
    permissions.grant_case_read(switched_off, cases[0])
    switched_off.is_active = False
    switched_off.save(update_fields=["is_active"])
    both = member(world.town_b, Role.MEDIATOR)
    Membership.objects.create(user=both, organisation=world.court_desk, role=Role.SUPERVISOR)
    permissions.sync_role_groups(both)
    # By hand (DOMAIN.md §5): indices into ``cases`` each user reads.
    reads = {world.mediator_a: {0, 1}, world.mediator_b: {1}, world.enterprise_mediator: {2, 3},
             world.supervisor_a: {0, 2}, world.supervisor_b: {1}, desk_supervisor: {2, 3},
             world.court_desk_mediator: {3}, world.district_supervisor: {0, 1, 2, 3}, world.admin: {0, 1, 2, 3},
             outsider: {0}, switched_off: set(), both: {1, 2, 3}}
    for user, indices in reads.items():
        for states, expected in ((None, indices), (("closed",), indices & {3}),
                                 (("registered",), indices - {3})):
            found = set(case_list_visible_to(user=user, states=states, row_by_row=True).values_list("pk", flat=True))
            assert found == {cases[i].pk for i in expected}, (user.username, states)
        unclosed = set(case_list_visible_to(user=user, closed=False, row_by_row=True).values_list("pk", flat=True))
        assert unclosed == {cases[i].pk for i in indices - {3}}, user.username


@postgres_only
@pytest.mark.django_db
def test_postgresql_asks_the_grants_of_each_row_and_never_hashes_them_all(world):
    case = register(world.mediator_b, world.town_b)
    permissions.grant_case_read(world.mediator_a, case)
    page = case_list_visible_to(user=world.mediator_a, row_by_row=True).order_by("-received_at", "-pk")[:20]
    with connection.cursor() as cursor:
        # As at a million cases: many rows expected, so that a hashed form, if one were written, is chosen.
        cursor.execute("SET LOCAL cpu_operator_cost = 10")
        plan = page.explain()
        gathered = case_list_visible_to(user=world.mediator_a).order_by("-received_at", "-pk")[:20].explain()
    assert "SubPlan" in plan and "hashed SubPlan" not in plan, plan
    assert "hashed SubPlan" in gathered, gathered  # the same settings do choose a hash when one may be
    assert [c.pk for c in page] == [case.pk]


@pytest.mark.django_db
def test_the_grants_are_asked_row_by_row_when_many_and_the_organisations_hold_as_many(world, client, monkeypatch):
    monkeypatch.setattr(permissions, "GRANTS_ASKED_ROW_BY_ROW_FROM", 3)
    cases = [register(world.mediator_b, world.town_b) for _ in range(3)]
    own = [register(world.mediator_a, world.town_a) for _ in range(2)]
    for case in cases[:2]:
        permissions.grant_case_read(world.mediator_a, case)
    # Two grants, fewer than three: hashed first.
    assert not permissions.many_grants_beside_many_cases(world.mediator_a)
    # Three grants, but town A holds two cases, fewer than the grants: hashed first (the page walks far).
    permissions.grant_case_read(world.mediator_a, cases[2])
    assert not permissions.many_grants_beside_many_cases(world.mediator_a)
    # Town A holds three: asked of each row.
    own.append(register(world.mediator_a, world.town_a))
    assert permissions.many_grants_beside_many_cases(world.mediator_a)
    # Those who read every case hold no grant worth asking, whatever they hold; nor those of no
    # organisation (their grants are read by their ids).
    for case in cases:
        permissions.grant_case_read(world.admin, case)
    assert not permissions.many_grants_beside_many_cases(world.admin)
    from tests.factories import UserFactory
    outsider = UserFactory()
    for case in cases:
        permissions.grant_case_read(outsider, case)
    assert not permissions.many_grants_beside_many_cases(outsider)
    # A grant of another permission, or on a case to another user, is not counted.
    monkeypatch.setattr(permissions, "GRANTS_ASKED_ROW_BY_ROW_FROM", 4)
    from guardian.shortcuts import assign_perm
    assign_perm("mediation.work_case", world.mediator_a, cases[0])
    own.append(register(world.mediator_a, world.town_a))
    permissions.grant_case_read(world.mediator_a2, own[-1])
    assert not permissions.many_grants_beside_many_cases(world.mediator_a)
    # The page's statement is written in the shape chosen: three grants, from three on.
    monkeypatch.setattr(permissions, "GRANTS_ASKED_ROW_BY_ROW_FROM", 3)
    assert permissions.asks_grants_row_by_row(world.mediator_a)
    # Decided once per process: asked again, no statement is sent (and the answer stays, the grants since
    # notwithstanding: a choice of shape, never of which cases).
    with CaptureQueriesContext(connection) as again:
        assert permissions.asks_grants_row_by_row(world.mediator_a)
    assert len(again) == 0
    client.force_login(world.mediator_a)
    with CaptureQueriesContext(connection) as ctx:
        body = client.get(reverse("case_list")).content.decode()
    # Each received as it was registered: newest first, town A's four, then the three granted.
    assert listed(body) == [c.number for c in reversed(cases + own)]
    assert any("OFFSET 0" in q["sql"] and "LIMIT 20" in q["sql"] for q in ctx.captured_queries)


@pytest.mark.parametrize("outside", WAYS)
def test_a_search_finds_the_users_own_and_granted_matches_only(world, client, outside, shape):
    # The same applicant's name on cases of town A, of town B granted to mediator A, and of town B.
    own = [named(world.mediator_a, world.town_a) for _ in range(2)]
    granted = [named(world.mediator_b, world.town_b) for _ in range(2)]
    others = [named(world.mediator_b, world.town_b) for _ in range(2)]
    received_in_turn([own[0], granted[0], others[0], own[1], granted[1], others[1]])
    for case in granted:
        permissions.grant_case_read(world.mediator_a, case)
    assert permissions.asks_grants_row_by_row(world.mediator_a) == (shape == "asked-row-by-row")
    client.force_login(world.mediator_a)
    body = client.get(reverse("case_list"), {"q": "欧阳明远"}).content.decode()
    assert listed(body) == [granted[1].number, own[1].number, granted[0].number, own[0].number]
    assert "共 4 件" in body


@pytest.mark.django_db
def test_the_decision_never_fails_when_the_grants_go_between_its_statements(world, monkeypatch):
    monkeypatch.setattr(permissions, "GRANTS_ASKED_ROW_BY_ROW_FROM", 1)
    register(world.mediator_a, world.town_a)
    permissions.grant_case_read(world.mediator_a, register(world.mediator_b, world.town_b))
    assert permissions.many_grants_beside_many_cases(world.mediator_a)
    # The grants withdrawn after they were found to be enough, before they are counted: hashed, no error.
    from django.db.models import QuerySet
    monkeypatch.setattr(QuerySet, "count", lambda self: 0)
    assert not permissions.many_grants_beside_many_cases(world.mediator_a)
    monkeypatch.undo()
    # A threshold of none or fewer is one: a user with no grant is hashed, without error.
    monkeypatch.setattr(permissions, "GRANTS_ASKED_ROW_BY_ROW_FROM", 0)
    assert not permissions.many_grants_beside_many_cases(world.mediator_b)
    assert permissions.many_grants_beside_many_cases(world.mediator_a)
