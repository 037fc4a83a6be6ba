"""The notification centre through the test client: the bell's count, the list, marking read."""
from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse

from notifications.models import Notification, NotificationPreference

pytestmark = pytest.mark.django_db


def _note(user, n: int, **kwargs) -> Notification:
    return Notification.objects.create(user=user, key=f"mediation:{n}:{n}:2026-10-08", threshold="on_day",
                                       subject=f"锦调〔2026〕000{n}号：调解期限，今天到期", body="…", **kwargs)


def _bell(client: Client) -> str:
    html = client.get(reverse("home")).content.decode()
    bell = re.search(r'<a class="bell".*?</a>', html, re.S)
    assert bell is not None
    return bell.group(0)


def _logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_bell_counts_only_ones_own_unread_notifications(world):
    mine = [_note(world.mediator_a, n) for n in (1, 2, 3)]
    _note(world.mediator_b, 4)
    client = _logged_in(world.mediator_a)
    assert '<span class="count">3</span>' in _bell(client)

    response = client.post(reverse("notification_read", args=[mine[0].pk]))
    assert response.status_code == 302
    assert '<span class="count">2</span>' in _bell(client)

    client.post(reverse("notification_read_all"))
    assert 'class="count"' not in _bell(client)
    assert Notification.objects.get(user=world.mediator_b).read_at is None


def test_someone_elses_notification_does_not_exist_for_you(world):
    theirs = _note(world.mediator_b, 1)
    client = _logged_in(world.mediator_a)
    assert client.post(reverse("notification_read", args=[theirs.pk])).status_code == 404
    page = client.get(reverse("notification_list")).content.decode()
    assert theirs.subject not in page
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_the_list_shows_ones_own_and_the_bell_is_read_with_the_frame(world, django_assert_num_queries):
    """The bell's count is one more part of the frame's statement (mediation/frame.py): with the
    navigation's figures, one query for both; each request counts afresh."""
    from mediation import permissions
    from mediation.frame import frame_figures
    from notifications.context_processors import notifications
    from workflows.clocks import local_today

    _note(world.mediator_a, 1)
    _note(world.mediator_b, 2)
    client = _logged_in(world.mediator_a)
    page = client.get(reverse("notification_list")).content.decode()
    assert "锦调〔2026〕0001号：调解期限，今天到期" in page

    def request():
        return type("R", (), {"user": world.mediator_a})()

    first = request()
    permissions.grants_of(world.mediator_a)  # read by every request's gate before any page
    with django_assert_num_queries(1):
        assert str(notifications(first)["unread_notifications"]) == "1"
        frame_figures(first, local_today())
    client.post(reverse("notification_read_all"))
    assert str(notifications(request())["unread_notifications"]) == "0"
    assert str(notifications(type("R", (), {"user": world.mediator_b})())["unread_notifications"]) == "1"


def test_preferences_are_ones_own_and_sms_needs_a_number(world):
    client = _logged_in(world.mediator_a)
    assert client.get(reverse("notification_preferences")).status_code == 200
    refused = client.post(reverse("notification_preferences"), {"by_sms": "on", "mobile": ""})
    assert refused.status_code == 200 and not NotificationPreference.objects.exists()
    client.post(reverse("notification_preferences"), {"by_sms": "on", "mobile": "139 0000 0001"})
    pref = NotificationPreference.objects.get()
    assert (pref.user, pref.by_sms, pref.by_email, pref.digest, pref.mobile) == (
        world.mediator_a, True, False, False, "13900000001")


def test_the_settings_page_is_linked_from_the_account_links(world):
    html = _logged_in(world.mediator_a).get(reverse("home")).content.decode()
    assert reverse("notification_preferences") in html
