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
#: with the navigation, in one statement (mediation/frame.py) — (1), the overdue and due-soon lists (2 each), my cases
#: (1) and my load (1), the four follow-through lists (4) with their four capped counts in one
#: statement (1), to accept (1), escalations (1), to assign (1), the team and its load (2), ready to
#: close (3); plus session and user (2), grants (1: memberships and their roles' permissions in one
#: statement): 23.
#: A mediator sees neither escalations, nor to assign, nor the team and its load, nor ready to
#: close: 23 − 7 = 16. An auditor works nothing: session and user (2), grants (1), the frame (1),
#: the overdue and due-soon lists (2 each): 8 (its "to accept" asks nothing:
#: it accepts in no office).
BUDGET = {"supervisor_a": 23, "mediator_a": 16, "auditor_a": 8}


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
    assert many <= BUDGET[who], many


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
