"""Accounts (docs/security.md, 账户与登录): lockout, passwords, idle sessions, the second factor.

Written from the rules: 5 failures lock a username or an address for 30 minutes; passwords
have at least 12 characters; a session ends after 30 idle minutes and at browser close;
supervisors, administrators and auditors must use TOTP, mediators may.
"""
from __future__ import annotations

import datetime
import re
from binascii import unhexlify
from typing import Any

import pytest
import time_machine
from django.contrib.auth import authenticate
from django.core.management import call_command
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils import timezone
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import AccountProfile
from mediation.permissions import needs_second_factor
from tests.factories import TEST_PASSWORD

NEW_PASSWORD = "Ningbo-river-2026"


def login(client: Client, user, password: str = TEST_PASSWORD, ip: str = "10.0.0.1"):
    return client.post(reverse("login"), {"username": user.username, "password": password}, REMOTE_ADDR=ip)


def signed_in(client: Client) -> bool:
    response = client.get(reverse("home"))
    return response.status_code == 200


def code(key: str, *, at: datetime.datetime | None = None) -> str:
    totp = TOTP(unhexlify(key), step=30, t0=0, digits=6, drift=0)
    if at is not None:
        totp.time = at.timestamp()
    return f"{totp.token():06d}"


# --- lockout ----------------------------------------------------------------------------


class TestLockout:
    def test_five_failures_lock_the_username_even_from_another_address(self, world):
        client = Client()
        for attempt in range(4):
            assert login(client, world.mediator_a, "wrong", ip=f"10.0.1.{attempt}").status_code == 200
        assert login(client, world.mediator_a, "wrong", ip="10.0.1.4").status_code == 429  # the fifth locks
        locked = login(client, world.mediator_a, ip="10.0.2.99")
        assert locked.status_code == 429
        page = locked.content.decode()
        assert "账户已暂时锁定" in page and "之后" in page and "分钟" in page
        assert not signed_in(client)

    def test_four_failures_do_not_lock(self, world):
        client = Client()
        for _ in range(4):
            login(client, world.mediator_a, "wrong")
        assert login(client, world.mediator_a).status_code == 302
        assert signed_in(client)

    def test_five_failures_from_one_address_lock_the_address_for_everyone(self, world):
        client = Client()
        for user in (world.mediator_a, world.mediator_a2, world.mediator_b, world.supervisor_b, world.auditor_a):
            login(client, user, "wrong", ip="10.0.3.3")
        assert login(client, world.district_mediator, ip="10.0.3.3").status_code == 429
        # The same user from another address is not locked: no username had five failures.
        assert login(Client(), world.district_mediator, ip="10.0.3.4").status_code == 302

    def test_behind_the_proxy_the_address_that_counts_is_the_one_the_proxy_saw(self, world, settings):
        """LOGIN_PROXY_COUNT=1: every request comes from the proxy (REMOTE_ADDR); the client is the
        entry the proxy wrote last. Five failures from one client lock that client, not everyone
        behind the proxy; an entry the client wrote itself is not believed."""
        settings.PROXY_COUNT = 1

        def via_proxy(user, password, forwarded):
            return Client().post(reverse("login"), {"username": user.username, "password": password},
                                 REMOTE_ADDR="10.0.0.254", HTTP_X_FORWARDED_FOR=forwarded)

        users = (world.mediator_a, world.mediator_a2, world.mediator_b, world.supervisor_b, world.auditor_a)
        for number, user in enumerate(users):
            # Each guess claims another address to the left of the proxy's entry: ignored.
            via_proxy(user, "wrong", f"198.51.100.{number}, 203.0.113.7")
        assert via_proxy(world.district_mediator, TEST_PASSWORD, "203.0.113.7").status_code == 429
        assert via_proxy(world.district_mediator, TEST_PASSWORD, "203.0.113.8").status_code == 302

    def test_the_page_names_the_time_to_retry_and_the_lock_ends_after_thirty_minutes(self, world):
        client = Client()
        start = timezone.now()
        with time_machine.travel(start, tick=False):
            for _ in range(5):
                login(client, world.mediator_a, "wrong")
            page = login(client, world.mediator_a).content.decode()
        retry = timezone.localtime(start + datetime.timedelta(minutes=30))
        assert retry.strftime("%H:%M") in page and "30 分钟" in page
        with time_machine.travel(start + datetime.timedelta(minutes=29), tick=False):
            assert login(Client(), world.mediator_a, ip="10.9.9.9").status_code == 429
        with time_machine.travel(start + datetime.timedelta(minutes=61), tick=False):
            assert login(Client(), world.mediator_a, ip="10.9.9.9").status_code == 302

    def test_an_administrator_unlocks_with_the_command(self, world):
        for _ in range(5):
            login(Client(), world.mediator_a, "wrong", ip="10.0.4.4")
        assert login(Client(), world.mediator_a, ip="10.0.4.5").status_code == 429
        call_command("axes_reset_username", world.mediator_a.username)
        assert login(Client(), world.mediator_a, ip="10.0.4.5").status_code == 302

    def test_an_administrator_unlocks_in_the_admin(self, world):
        from axes.models import AccessAttempt

        for _ in range(5):
            login(Client(), world.mediator_a, "wrong", ip="10.0.5.5")
        assert login(Client(), world.mediator_a, ip="10.0.5.6").status_code == 429
        world.admin.is_staff = True
        world.admin.save()
        admin = Client()
        admin.force_login(world.admin)
        attempts = admin.get(reverse("admin:axes_accessattempt_changelist"))
        assert attempts.status_code == 200 and world.mediator_a.username in attempts.content.decode()
        for attempt in AccessAttempt.objects.filter(username=world.mediator_a.username):
            deleted = admin.post(reverse("admin:axes_accessattempt_delete", args=[attempt.pk]), {"post": "yes"})
            assert deleted.status_code == 302
        assert login(Client(), world.mediator_a, ip="10.0.5.6").status_code == 302


# --- passwords --------------------------------------------------------------------------


def change_password(client: Client, old: str, new: str):
    return client.post(reverse("password_change"),
                       {"old_password": old, "new_password1": new, "new_password2": new})


class TestPasswords:
    def test_a_user_changes_their_password_and_the_old_one_stops_working(self, world):
        client = Client()
        client.force_login(world.mediator_a)
        page = client.get(reverse("home")).content.decode()
        assert reverse("password_change") in page  # linked from the header
        assert client.get(reverse("password_change")).status_code == 200
        response = change_password(client, TEST_PASSWORD, NEW_PASSWORD)
        assert response.status_code == 302 and response["Location"] == reverse("password_change_done")
        assert signed_in(client)  # the session that changed it stays signed in
        assert "密码已修改" in client.get(reverse("password_change_done")).content.decode()
        request = RequestFactory().post("/")
        assert authenticate(request, username=world.mediator_a.username, password=TEST_PASSWORD) is None
        assert login(Client(), world.mediator_a, TEST_PASSWORD, ip="10.1.0.1").status_code == 200
        assert login(Client(), world.mediator_a, NEW_PASSWORD, ip="10.1.0.2").status_code == 302

    def test_eleven_characters_are_refused_and_twelve_accepted(self, world):
        client = Client()
        client.force_login(world.mediator_a)
        refused = change_password(client, TEST_PASSWORD, "Qx7#mLp2$vWz"[:11])
        assert refused.status_code == 200
        assert "密码太短，至少需要 12 个字符。" in refused.content.decode()
        assert change_password(client, TEST_PASSWORD, "Qx7#mLp2$vWz").status_code == 302

    def test_common_and_numeric_passwords_are_refused_in_chinese(self, world):
        client = Client()
        client.force_login(world.mediator_a)
        page = change_password(client, TEST_PASSWORD, "123456789012").content.decode()
        assert "密码只包含数字。" in page

    def test_an_administrators_reset_forces_a_change_at_next_login(self, world, admin_client):
        reset = admin_client.post(reverse("admin:auth_user_password_change", args=[world.mediator_a.pk]),
                                  {"password1": "Temporary-2026-x", "password2": "Temporary-2026-x",
                                   "usable_password": "true"})
        assert reset.status_code == 302
        assert AccountProfile.objects.get(user=world.mediator_a).must_change_password
        client = Client()
        assert login(client, world.mediator_a, "Temporary-2026-x").status_code == 302
        home = client.get(reverse("home"))
        assert home.status_code == 302 and home["Location"].startswith(reverse("password_change"))
        assert client.get(reverse("case_list")).status_code == 302
        page = client.get(reverse("password_change")).content.decode()
        assert "管理员为您设置了密码" in page
        assert change_password(client, "Temporary-2026-x", NEW_PASSWORD).status_code == 302
        assert signed_in(client)
        assert not AccountProfile.objects.get(user=world.mediator_a).must_change_password
        # Next time, too, the user goes straight in.
        again = Client()
        login(again, world.mediator_a, NEW_PASSWORD, ip="10.1.1.1")
        assert signed_in(again)

    def test_an_administrator_changing_their_own_password_is_not_forced(self, world, admin_client, admin_user):
        admin_client.post(reverse("admin:auth_user_password_change", args=[admin_user.pk]),
                          {"password1": "Own-choice-2026-x", "password2": "Own-choice-2026-x",
                           "usable_password": "true"})
        assert not AccountProfile.objects.filter(user=admin_user, must_change_password=True).exists()


# --- sessions ---------------------------------------------------------------------------


class TestSessions:
    def test_an_idle_session_ends_after_thirty_minutes(self, world):
        start = timezone.now()
        client = Client()
        with time_machine.travel(start, tick=False):
            login(client, world.mediator_a)
            assert signed_in(client)
        with time_machine.travel(start + datetime.timedelta(minutes=20), tick=False):
            assert signed_in(client)  # activity renews it
        with time_machine.travel(start + datetime.timedelta(minutes=45), tick=False):
            assert signed_in(client)  # 25 idle minutes
        with time_machine.travel(start + datetime.timedelta(minutes=76), tick=False):
            response = client.get(reverse("home"))
            assert response.status_code == 302 and response["Location"].startswith(reverse("login"))

    def test_the_session_cookie_ends_with_the_browser(self, world):
        client = Client()
        login(client, world.mediator_a)
        cookie = client.cookies["sessionid"]
        assert not cookie["expires"] and not cookie["max-age"]


# --- the second factor ------------------------------------------------------------------


@pytest.fixture
def otp_on(settings):
    settings.OTP_REQUIRED = True


def set_up_totp(client: Client) -> tuple[str, list[str]]:
    """Open the set-up page, read the key from the session, confirm with a code: (key, recovery codes)."""
    page = client.get(reverse("otp_setup"))
    assert page.status_code == 200
    html = page.content.decode()
    assert "<svg" in html and "otpauth" not in html.split("<svg")[0][-200:]
    key = client.session["accounts.totp_setup_key"]
    done = client.post(reverse("otp_setup"), {"token": code(key)})
    assert done.status_code == 200
    codes = re.findall(r"<li><code>([a-z2-7]{8})</code></li>", done.content.decode())
    assert len(codes) == 10
    return key, codes


def test_who_needs_a_second_factor(world):
    for user in (world.supervisor_a, world.district_supervisor, world.admin, world.auditor_a):
        assert needs_second_factor(user), user
    for user in (world.mediator_a, world.enterprise_mediator, world.court_desk_mediator):
        assert not needs_second_factor(user), user


class TestSecondFactor:
    def test_a_supervisor_is_sent_to_set_up_then_allowed(self, world, otp_on):
        client = Client()
        assert login(client, world.supervisor_a).status_code == 302
        home = client.get(reverse("home"))
        assert home.status_code == 302 and home["Location"].startswith(reverse("otp_setup"))
        assert client.get(reverse("escalation_queue")).status_code == 302
        set_up_totp(client)
        assert TOTPDevice.objects.filter(user=world.supervisor_a, confirmed=True).count() == 1
        assert StaticToken.objects.filter(device__user=world.supervisor_a).count() == 10
        assert signed_in(client)
        assert client.get(reverse("escalation_queue")).status_code == 200

    def test_a_supervisor_with_a_device_verifies_before_any_page(self, world, otp_on):
        first = Client()
        login(first, world.supervisor_a)
        key, _ = set_up_totp(first)
        client = Client()
        assert login(client, world.supervisor_a, ip="10.2.0.2").status_code == 302
        home = client.get(reverse("home"))
        assert home.status_code == 302 and home["Location"].startswith(reverse("otp_verify"))
        assert client.get(reverse("otp_setup")).status_code == 302  # no second device without the first
        assert client.get(reverse("password_change")).status_code == 302
        with time_machine.travel(timezone.now() + datetime.timedelta(seconds=60), tick=False):
            verified = client.post(reverse("otp_verify"), {"token": code(key), "next": reverse("case_list")})
            assert verified.status_code == 302 and verified["Location"] == reverse("case_list")
            assert signed_in(client)

    def test_a_page_sees_the_verified_user_itself(self, world, otp_on):
        """The gate hands the page the user behind the lazy wrappers (``accounts.gate.unwrapped``): the
        signed-in user's own object, verified by the code it gave, and for another session not yet
        verified the same user unverified (sent to verify, as before)."""
        from django.contrib.auth import get_user_model
        from django.utils.functional import LazyObject

        first = Client()
        login(first, world.supervisor_a)
        key, _ = set_up_totp(first)
        client = Client()
        login(client, world.supervisor_a, ip="10.2.0.4")
        waiting = client.get(reverse("home"))
        assert waiting.status_code == 302 and waiting["Location"].startswith(reverse("otp_verify"))
        assert not isinstance(waiting.wsgi_request.user, LazyObject)
        seen: Any = waiting.wsgi_request.user
        assert seen == world.supervisor_a and not seen.is_verified()
        with time_machine.travel(timezone.now() + datetime.timedelta(seconds=60), tick=False):
            client.post(reverse("otp_verify"), {"token": code(key)})
            page = client.get(reverse("escalation_queue"))
        user: Any = page.wsgi_request.user
        assert user.is_verified() and user.otp_device is not None and page.context["user"] is user
        assert page.status_code == 200 and type(user) is get_user_model() and user.pk == world.supervisor_a.pk

    def test_a_wrong_code_is_refused(self, world, otp_on):
        first = Client()
        login(first, world.supervisor_a)
        key, _ = set_up_totp(first)
        client = Client()
        login(client, world.supervisor_a, ip="10.2.0.3")
        right = code(key)
        wrong = f"{(int(right) + 1) % 1000000:06d}"
        refused = client.post(reverse("otp_verify"), {"token": wrong})
        assert refused.status_code == 200 and "验证码不正确" in refused.content.decode()
        assert not signed_in(client)

    def test_a_wrong_code_is_refused_at_set_up(self, world, otp_on):
        client = Client()
        login(client, world.auditor_a)
        client.get(reverse("otp_setup"))
        key = client.session["accounts.totp_setup_key"]
        wrong = f"{(int(code(key)) + 1) % 1000000:06d}"
        assert "验证码不正确" in client.post(reverse("otp_setup"), {"token": wrong}).content.decode()
        assert not TOTPDevice.objects.filter(user=world.auditor_a).exists()
        assert client.get(reverse("home")).status_code == 302

    def test_a_recovery_code_works_once(self, world, otp_on):
        first = Client()
        login(first, world.admin)
        _, codes = set_up_totp(first)
        client = Client()
        login(client, world.admin, ip="10.2.0.4")
        used = client.post(reverse("otp_verify"), {"token": codes[0].upper()})
        assert used.status_code == 302
        assert signed_in(client)
        assert StaticToken.objects.filter(device__user=world.admin).count() == 9
        again = Client()
        login(again, world.admin, ip="10.2.0.5")
        assert client.post(reverse("logout")).status_code == 302
        refused = again.post(reverse("otp_verify"), {"token": codes[0]})
        assert refused.status_code == 200 and "验证码不正确" in refused.content.decode()
        assert not signed_in(again)

    def test_new_recovery_codes_replace_the_old(self, world, otp_on):
        client = Client()
        login(client, world.supervisor_a)
        _, old = set_up_totp(client)
        assert "还有 10 个恢复码" in client.get(reverse("otp_recovery_codes")).content.decode()
        page = client.post(reverse("otp_recovery_codes")).content.decode()
        new = re.findall(r"<li><code>([a-z2-7]{8})</code></li>", page)
        assert len(new) == 10 and not set(new) & set(old)
        assert not StaticToken.objects.filter(token__in=old).exists()

    def test_a_mediator_may_go_without(self, world, otp_on):
        client = Client()
        login(client, world.mediator_a)
        assert signed_in(client)
        assert client.get(reverse("case_list")).status_code == 200
        # …and may opt in, after which the code is asked for at every login.
        key, _ = set_up_totp(client)
        later = Client()
        login(later, world.mediator_a, ip="10.2.0.6")
        assert not signed_in(later)
        with time_machine.travel(timezone.now() + datetime.timedelta(seconds=60), tick=False):
            later.post(reverse("otp_verify"), {"token": code(key)})
            assert signed_in(later)

    def test_off_in_a_demo_nobody_is_sent_to_set_up(self, world, settings):
        settings.OTP_REQUIRED = False
        client = Client()
        login(client, world.supervisor_a)
        assert signed_in(client)


def test_a_login_without_a_request_is_not_counted_but_one_over_http_is(world):
    assert authenticate(username=world.mediator_a.username, password=TEST_PASSWORD) == world.mediator_a
    for _ in range(5):
        login(Client(), world.mediator_a, "wrong", ip="10.3.0.1")
    assert login(Client(), world.mediator_a, ip="10.3.0.2").status_code == 429


def test_the_account_pages_are_in_english_for_those_who_chose_it(world):
    from django.conf import settings

    client = Client()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    client.force_login(world.mediator_a)
    assert "Change password" in client.get(reverse("password_change")).content.decode()
    assert "Two-factor authentication" in client.get(reverse("otp_setup")).content.decode()


def test_a_user_created_in_the_admin_or_flagged_there_must_change_their_password(world, admin_client):
    from django.contrib.auth import get_user_model

    created = admin_client.post(reverse("admin:auth_user_add"), {
        "username": "new_mediator", "password1": "Temporary-2026-y", "password2": "Temporary-2026-y",
        "usable_password": "true", "memberships-TOTAL_FORMS": "0", "memberships-INITIAL_FORMS": "0"})
    assert created.status_code == 302, created.context["adminform"].form.errors
    user = get_user_model().objects.get(username="new_mediator")
    assert AccountProfile.objects.get(user=user).must_change_password
    flagged = admin_client.post(reverse("admin:auth_user_changelist"), {
        "action": "require_password_change", "_selected_action": [world.mediator_b.pk]})
    assert flagged.status_code == 302
    assert AccountProfile.objects.get(user=world.mediator_b).must_change_password
    client = Client()
    login(client, world.mediator_b)
    assert client.get(reverse("home"))["Location"].startswith(reverse("password_change"))
