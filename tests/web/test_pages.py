"""The pages people work in: they render for every role, and refuse what they must."""
from __future__ import annotations

import pytest
from django.urls import reverse

from tests.factories import register
from tests.lifecycle import case_in_state
from workflows.states import CaseState


@pytest.fixture
def login(client):
    def _login(user):
        client.force_login(user)
        return client
    return _login


ROLES = ["mediator_a", "supervisor_a", "district_supervisor", "auditor_a", "admin", "enterprise_mediator"]


@pytest.mark.parametrize("role", ROLES)
def test_home_list_and_deadlines_render_for_every_role(world, login, role):
    register(world.mediator_a, world.town_a)
    c = login(getattr(world, role))
    for name in ("home", "case_list", "deadlines"):
        response = c.get(reverse(name))
        assert response.status_code == 200, name
        assert "劳动争议调解案件管理" in response.content.decode()


@pytest.mark.parametrize("state", CaseState.values)
def test_case_page_renders_in_every_state(world, login, state):
    case = case_in_state(world, state)
    c = login(world.district_supervisor)
    response = c.get(reverse("case_detail", args=[case.pk]))
    assert response.status_code == 200
    body = response.content.decode()
    assert case.number in body and case.get_state_display() in body


def test_login_page_is_chinese_by_default(client, db):
    response = client.get(reverse("login"))
    assert response.status_code == 200
    assert "请使用工作账号登录" in response.content.decode()


def test_anonymous_user_is_sent_to_login(client, db):
    response = client.get(reverse("case_list"))
    assert response.status_code == 302 and reverse("login") in response["Location"]


def test_interface_is_chinese_whatever_the_browser_asks_until_the_user_switches(client, db):
    page = client.get(reverse("login"), HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")
    assert "请使用工作账号登录" in page.content.decode() and '<html lang="zh-CN">' in page.content.decode()
    switched = client.post(reverse("set_language"), {"language": "en", "next": reverse("login")})
    assert switched.status_code == 302
    page = client.get(reverse("login"))
    assert page["Content-Language"] == "en"
    assert '<html lang="en">' in page.content.decode()
    assert "Sign in" in page.content.decode()  # from the English catalogue


def test_escalation_queue_runs_the_same_queries_for_one_request_as_for_five(world, login):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = login(world.supervisor_a)

    def queries() -> int:
        with CaptureQueriesContext(connection) as ctx:
            page = client.get(reverse("escalation_queue"))
        assert page.status_code == 200
        return len(ctx.captured_queries)

    first = case_in_state(world, CaseState.ESCALATION_PENDING)
    queries()  # the first request on a connection prepares the statements written once per process (PostgreSQL)
    one = queries()
    for _ in range(4):
        case_in_state(world, CaseState.ESCALATION_PENDING)
    five = queries()
    assert one == five
    assert five <= 13  # 12, and one for the notification bell's unread count
    page = client.get(reverse("escalation_queue")).content.decode()
    # 锦屏's two mediators and its supervisor (who mediates too) offered on each of the five forms.
    assert page.count('name="mediators"') == 5 * 3
    assert first.number in page
