"""The home page and the escalation queue cost the same whatever the number of cases behind them.

Budgets by hand: the statements each role's home page needs (session and user 2; the user's
grants 1; the frame, with the navigation's figures and the bell, 1; then one per panel the role
sees — see mediation/views/home.py),
and the rule that none of them grows with the data: ten times the cases, the same statements.
"""
from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.lifecycle import case_in_state
from workflows.states import CaseState

pytestmark = pytest.mark.django_db

#: A supervisor sees every panel: the page's frame — the counts overdue, due soon and all, the
#: escalations waiting, whether the user may read the audit trail and the unread notices, shared
#: with the navigation, in one statement (mediation/frame.py) — (1), the overdue and due-soon lists (1 each:
#: each clock's half walked apart, merged in the statement), my cases (1) and my load (1), the four
#: follow-through lists (4) with their four capped counts in one statement (1), to accept (1), escalations
#: (1), to assign (1), the team and its load (2), ready to close (1: its three walks merged); plus session
#: and user (2), grants (1: memberships and their roles' permissions in one statement): 19.
#: A mediator sees neither escalations, nor to assign, nor the team and its load, nor ready to
#: close: 19 − 5 = 14. An auditor works nothing: session and user (2), grants (1), the frame (1),
#: the overdue and due-soon lists (1 each): 6 (its "to accept" asks nothing: it accepts in no office).
BUDGET = {"supervisor_a": 19, "mediator_a": 14, "auditor_a": 6}
#: Where the database cannot order and limit within a compound statement (SQLite), the merged lists are
#: read a walk at a time: the overdue and due-soon lists one more each, ready to close two more.
UNMERGED = {"supervisor_a": 4, "mediator_a": 2, "auditor_a": 2}


def _budget(who: str) -> int:
    return BUDGET[who] + (0 if connection.features.supports_slicing_ordering_in_compound else UNMERGED[who])


def _statements(client, user) -> int:
    client.force_login(user)
    client.get(reverse("home"))  # the first visit warms per-process caches
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(reverse("home")).status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.parametrize("who", sorted(BUDGET))
def test_the_home_page_stays_within_its_budget_and_does_not_grow_with_the_cases(world, client, who):
    user = getattr(world, who)
    for state in (CaseState.REGISTERED, CaseState.JOINT_MEDIATION, CaseState.PERFORMED, CaseState.REFERRED):
        case_in_state(world, state)
    few = _statements(client, user)
    for state in (CaseState.REGISTERED, CaseState.JOINT_MEDIATION, CaseState.PERFORMED, CaseState.REFERRED,
                  CaseState.SETTLED, CaseState.ESCALATION_PENDING) * 3:
        case_in_state(world, state)
    many = _statements(client, user)
    assert many == few, (few, many)
    assert many <= _budget(who), many


def test_the_escalation_queue_shows_a_page_of_twenty_and_counts_them_all(world, client):
    for _ in range(22):
        case_in_state(world, CaseState.ESCALATION_PENDING)
    client.force_login(world.supervisor_a)
    first = client.get(reverse("escalation_queue"))
    body = first.content.decode()
    # Each form offers 锦屏's three who mediate (two mediators and the supervisor).
    assert body.count('name="mediators"') == 20 * 3
    assert "共 22 件待审批" in body
    second = client.get(reverse("escalation_queue"), {"page": 2}).content.decode()
    assert second.count('name="mediators"') == 2 * 3


#: The escalation queue: session and user (2), grants (1), the frame (1: its count of the requests
#: waiting, exact below the navigation's cap, is the page's count too), the page's requests with their
#: cases (1), the mediators of their target organisations (1), who else may decide each (1): 7. Past the
#: navigation's cap the queue counts them itself (at most 1,001): 8.
QUEUE_BUDGET = 7


def _queue_statements(client, page: int = 1) -> tuple[int, str]:
    client.get(reverse("escalation_queue"), {"page": page})  # warms per-process caches
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(reverse("escalation_queue"), {"page": page})
    assert response.status_code == 200
    return len(ctx.captured_queries), response.content.decode()


def test_the_escalation_queue_stays_within_its_budget_whatever_waits(world, client):
    for _ in range(2):
        case_in_state(world, CaseState.ESCALATION_PENDING)
    client.force_login(world.supervisor_a)
    few, _ = _queue_statements(client)
    for _ in range(21):
        case_in_state(world, CaseState.ESCALATION_PENDING)
    many, body = _queue_statements(client)
    assert "共 23 件待审批" in body
    assert few == many == QUEUE_BUDGET, (few, many)
    second, body = _queue_statements(client, page=2)
    assert second == QUEUE_BUDGET and body.count('name="mediators"') == 3 * 3


def test_past_the_navigations_cap_the_queue_counts_them_itself(world, client, monkeypatch):
    from mediation import selectors

    for _ in range(22):
        case_in_state(world, CaseState.ESCALATION_PENDING)
    monkeypatch.setattr(selectors, "TASK_COUNT_CAP", 5)
    client.force_login(world.supervisor_a)
    statements, body = _queue_statements(client)
    assert "共 22 件待审批" in body  # not the navigation's "5+"
    assert statements == QUEUE_BUDGET + 1
    last, body = _queue_statements(client, page=2)
    assert last == QUEUE_BUDGET + 1 and body.count('name="mediators"') == 2 * 3


def _kept(kind: str) -> int:
    """How many statements of ``kind`` this process keeps written (``mediation/prepared.py``)."""
    from mediation import prepared

    return sum(1 for key in prepared._QUERYSETS if kind in key)


def test_clicking_through_the_lists_orders_and_sizes_keeps_a_few_statements_not_one_each(world, client):
    """The list as it opens (its usual order and size; no filter but the state and "overdue") keeps its
    first page's statement; every other order, size or filter is read as Django writes it. The queue
    keeps its first page's. So one user cannot fill the process's store by clicking through them."""
    from mediation.views.cases import PAGE_SIZES, SORTS

    case_in_state(world, CaseState.ESCALATION_PENDING)
    client.force_login(world.supervisor_a)
    for sort in SORTS:
        for per_page in PAGE_SIZES:
            assert client.get(reverse("case_list"), {"sort": sort, "per_page": per_page}).status_code == 200
    assert client.get(reverse("case_list"), {"organisation": world.town_a.pk}).status_code == 200
    assert _kept("case_list.first") == 1  # "-received", 20 a page
    for state in (CaseState.REGISTERED, CaseState.JOINT_MEDIATION):
        assert client.get(reverse("case_list"), {"state": state}).status_code == 200
    assert client.get(reverse("case_list"), {"overdue": "on"}).status_code == 200
    assert _kept("case_list.first") == 4
    for page in (1, 2, 3):
        assert client.get(reverse("escalation_queue"), {"page": page}).status_code == 200
    assert _kept("escalation_queue.first") == 1
