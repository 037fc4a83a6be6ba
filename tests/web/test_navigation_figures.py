"""What the frame of every page asks on every request, answered cheaply and still right.

- The audit trail's menu entry: who may read the audit trail (``audit.read_audit``) as Django's
  permission rules say — a superuser, the permission given to the user, or to one of their
  groups; never an inactive account — now asked in one query instead of loading every
  permission of the user and their groups.
- The escalation badge: the requests waiting for the user's decision, counted up to the cap
  ("99+"), never beyond it; the escalation queue itself still counts them all.
"""
from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import Group, Permission
from django.urls import reverse

from mediation import permissions, selectors
from tests.factories import UserFactory, register
from tests.lifecycle import case_in_state
from workflows.states import CaseState

pytestmark = pytest.mark.django_db


def _read_audit() -> Permission:
    return Permission.objects.get(content_type__app_label="audit", codename="read_audit")


class TestWhoMayReadTheAuditTrail:
    def test_the_roles_as_the_default_groups_give_it(self, world):
        # DOMAIN.md §5 / docs/permissions.md: auditors and administrators read the trail;
        # mediators and supervisors do not.
        assert permissions.may_read_audit(world.auditor_a) is True
        assert permissions.may_read_audit(world.admin) is True
        assert permissions.may_read_audit(world.mediator_a) is False
        assert permissions.may_read_audit(world.supervisor_a) is False

    def test_given_to_the_user_directly(self, world):
        user = UserFactory.create()
        assert permissions.may_read_audit(user) is False
        user.user_permissions.add(_read_audit())
        assert permissions.may_read_audit(user) is True

    def test_given_to_a_group_the_user_is_in_without_any_membership(self, world):
        user = UserFactory.create()
        group = Group.objects.create(name="审计组（临时）")
        group.permissions.add(_read_audit())
        user.groups.add(group)
        assert permissions.may_read_audit(user) is True

    def test_a_superuser_reads_it_and_an_inactive_account_never(self, world):
        assert permissions.may_read_audit(UserFactory.create(is_superuser=True)) is True
        world.auditor_a.is_active = False
        world.auditor_a.save()
        assert permissions.may_read_audit(world.auditor_a) is False

    def test_the_menu_entry_follows_it(self, world, client):
        client.force_login(world.auditor_a)
        assert reverse("audit:log") in client.get(reverse("home")).content.decode()
        client.force_login(world.mediator_a)
        assert reverse("audit:log") not in client.get(reverse("home")).content.decode()

    @pytest.mark.parametrize("page", ["home", "case_list", "notification_list"])
    def test_the_menu_entry_follows_every_way_of_holding_it_on_every_page(self, world, client, page):
        """The frame reads the right within its one statement (mediation/frame.py), written once per
        user and reused: the entry still appears and goes as the permission is given and taken, by
        each way of holding it, from one request to the next."""
        def shown(user) -> bool:
            client.force_login(user)
            return reverse("audit:log") in client.get(reverse(page)).content.decode()

        user = world.mediator_a
        assert shown(user) is False
        user.user_permissions.add(_read_audit())  # given directly
        assert shown(user) is True
        user.user_permissions.remove(_read_audit())
        assert shown(user) is False
        readers = Group.objects.create(name="审计协助")
        readers.permissions.add(_read_audit())
        user.groups.add(readers)  # through a group that is no role
        assert shown(user) is True
        user.groups.remove(readers)
        assert shown(user) is False
        assert shown(UserFactory.create(is_superuser=True)) is True
        assert shown(world.auditor_a) is True


def _badge(page: str) -> str:
    found = re.search(r'href="/escalations/"[^>]*>[^<]*<span class="count">([^<]+)</span>', page)
    return found.group(1) if found else ""


def _kpi(page: str) -> str:
    found = re.search(r'href="/escalations/"><span class="num">([^<]+)</span>', page)
    return found.group(1) if found else ""


class TestEscalationBadge:
    def test_counts_up_to_the_cap_then_says_more(self, world, client, monkeypatch):
        monkeypatch.setattr(selectors, "TASK_COUNT_CAP", 2)
        for _ in range(2):
            case_in_state(world, CaseState.ESCALATION_PENDING)  # enterprise_a → town_a
        client.force_login(world.supervisor_a)
        page = client.get(reverse("home")).content.decode()
        assert _badge(page) == "2" and _kpi(page) == "2"
        case_in_state(world, CaseState.ESCALATION_PENDING)
        page = client.get(reverse("home")).content.decode()
        assert _badge(page) == "2+" and _kpi(page) == "2+"
        # The queue itself counts every request.
        assert "共 3 件待审批" in client.get(reverse("escalation_queue")).content.decode()
        # The frame's count stops one past the cap (it never reads every request), the queue does not.
        from django.test import RequestFactory

        from mediation.frame import frame_escalation_count

        case_in_state(world, CaseState.ESCALATION_PENDING)
        request = RequestFactory().get("/")
        request.user = world.supervisor_a
        assert frame_escalation_count(request) == 3
        assert "共 4 件待审批" in client.get(reverse("escalation_queue")).content.decode()

    def test_a_supervisor_elsewhere_sees_no_badge(self, world, client):
        case_in_state(world, CaseState.ESCALATION_PENDING)
        client.force_login(world.supervisor_b)
        assert _badge(client.get(reverse("home")).content.decode()) == ""


class TestFiguresFollowTheDataAndTheReach:
    """The figures' statement is written once per reach and reused: what it reads is still read
    afresh, and a changed reach gets a statement of its own."""

    def _total(self, user) -> int:
        from django.contrib.auth import get_user_model

        fresh = get_user_model().objects.get(pk=user.pk)  # as the next request would load the user
        return sum(selectors.visible_case_counts(user=fresh).values())

    def test_a_new_case_is_counted_at_once(self, world):
        register(world.mediator_a, world.town_a)
        assert self._total(world.mediator_a) == 1
        register(world.mediator_a, world.town_a)
        assert self._total(world.mediator_a) == 2

    def test_a_membership_added_or_ended_changes_the_count(self, world):
        from mediation.models import Membership, Role

        register(world.mediator_a, world.town_a)
        for _ in range(2):
            register(world.mediator_b, world.town_b)
        assert self._total(world.mediator_a) == 1
        joined = Membership.objects.create(user=world.mediator_a, organisation=world.town_b, role=Role.MEDIATOR)
        permissions.sync_role_groups(world.mediator_a)
        assert self._total(world.mediator_a) == 3
        joined.delete()
        permissions.sync_role_groups(world.mediator_a)
        assert self._total(world.mediator_a) == 1

    def test_an_account_switched_off_counts_nothing(self, world):
        register(world.mediator_a, world.town_a)
        assert self._total(world.mediator_a) == 1
        world.mediator_a.is_active = False
        world.mediator_a.save()
        assert self._total(world.mediator_a) == 0
