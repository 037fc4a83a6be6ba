"""Personal access tokens: hashed at rest, shown once, scoped, expiring, revocable, behind the second factor."""
from __future__ import annotations

import datetime
import hashlib
import re

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from api.models import AccessToken
from api.pages import second_factor_missing
from mediation.audit.models import AuditEvent
from tests.accounts.test_accounts import login, set_up_totp
from tests.api.conftest import ApiClient, bearer
from tests.factories import register

CASES = "/api/v1/cases/"


def _create_on_page(client: Client, **data) -> str:
    page = client.post(reverse("api_tokens"), {"name": "区平台同步", "scope": "read", "days": 90, **data})
    assert page.status_code == 200, page.content.decode()[:500]
    found = re.search(r'<code class="token-secret">([^<]+)</code>', page.content.decode())
    assert found, "the new token is shown on the page"
    return found.group(1)


def test_the_secret_is_shown_once_and_only_its_sha256_is_stored(world):
    client = Client()
    client.force_login(world.mediator_a)
    value = _create_on_page(client)
    prefix, _, secret = value.partition(".")
    assert len(secret) >= 43  # 32 random bytes, base64url
    token = AccessToken.objects.get(user=world.mediator_a)
    assert token.prefix == prefix
    assert token.secret_hash == hashlib.sha256(secret.encode()).hexdigest()
    stored = [str(v) for v in AccessToken.objects.values_list().get()]
    assert not any(secret in v for v in stored)
    assert secret not in client.get(reverse("api_tokens")).content.decode()  # shown once
    events = AuditEvent.objects.filter(action="api.token_create")
    assert events.count() == 1 and events.get().actor_id == world.mediator_a.pk
    assert secret not in str(events.get().new) and prefix in str(events.get().new)
    assert ApiClient(value).get(CASES).status_code == 200


def test_the_term_defaults_to_90_days_and_may_not_exceed_365(world):
    client = Client()
    client.force_login(world.mediator_a)
    assert 'value="90"' in client.get(reverse("api_tokens")).content.decode()
    assert client.post(reverse("api_tokens"), {"name": "x", "scope": "read", "days": 366}).status_code == 400
    assert client.post(reverse("api_tokens"), {"name": "x", "scope": "read", "days": 0}).status_code == 400
    assert not AccessToken.objects.exists()
    _create_on_page(client, days=365)
    token = AccessToken.objects.get()
    assert abs(token.expires_at - (timezone.now() + datetime.timedelta(days=365))) < datetime.timedelta(minutes=1)


def _assert_401(response, detail: str):
    assert response.status_code == 401
    assert response["Content-Type"] == "application/problem+json"
    assert response["WWW-Authenticate"].startswith("Bearer")
    body = response.json()
    assert body["status"] == 401 and body["title"] == "未通过身份验证" and body["detail"] == detail


def test_unknown_expired_revoked_tokens_and_inactive_users_get_401(world):
    value = bearer(world.mediator_a, days=1)
    prefix, _, secret = value.partition(".")
    _assert_401(ApiClient(f"{prefix}.{secret[:-1]}x").get(CASES), "访问令牌无效。")
    _assert_401(ApiClient("lm360_00000000.abc").get(CASES), "访问令牌无效。")
    _assert_401(ApiClient("not-a-token").get(CASES), "访问令牌无效。")
    with time_machine.travel(timezone.now() + datetime.timedelta(days=1, minutes=1)):
        _assert_401(ApiClient(value).get(CASES), "访问令牌已过期。")
    client = Client()
    client.force_login(world.mediator_a)
    token = AccessToken.objects.get(prefix=prefix)
    assert client.post(reverse("api_token_revoke", args=[token.pk])).status_code == 302
    _assert_401(ApiClient(value).get(CASES), "访问令牌已被撤销。")
    assert AuditEvent.objects.filter(action="api.token_revoke", actor_id=world.mediator_a.pk).count() == 1
    other = bearer(world.mediator_a2)
    world.mediator_a2.is_active = False
    world.mediator_a2.save(update_fields=["is_active"])
    _assert_401(ApiClient(other).get(CASES), "该用户已被停用。")


def test_a_value_we_never_made_is_refused_before_the_database_reads_it(world):
    # A NUL byte cannot go into a PostgreSQL text parameter: looked up, it was a 500 there.
    prefix = bearer(world.mediator_a).partition(".")[0]
    for value in (f"{prefix}\x00.abc", "lm360_\x00.abc", f"{prefix}0.abc", "lm360_" + "f" * 5000 + ".abc",
                  f"{prefix.upper()}.abc"):
        _assert_401(ApiClient(value).get(CASES), "访问令牌无效。")


def test_without_credentials_the_api_answers_401(world):
    response = Client().get(CASES)
    assert response.status_code == 401 and response["Content-Type"] == "application/problem+json"


def test_nobody_revokes_anothers_token(world):
    value = bearer(world.mediator_a)
    token = AccessToken.objects.get(prefix=value.partition(".")[0])
    client = Client()
    client.force_login(world.mediator_a2)
    assert client.post(reverse("api_token_revoke", args=[token.pk])).status_code == 404
    assert ApiClient(value).get(CASES).status_code == 200


def test_a_read_token_cannot_post(world):
    case = register(world.mediator_a, world.town_a)
    response = ApiClient(bearer(world.mediator_a, "read")).post(
        f"/api/v1/cases/{case.pk}/transitions/withdraw/", {"reason": "x"}, content_type="application/json")
    assert response.status_code == 403 and response["Content-Type"] == "application/problem+json"
    assert response.json()["detail"] == "该访问令牌只能读取，不能修改。"
    case.refresh_from_db()
    assert case.state == "registered"


def test_the_browser_session_reads_and_writes_with_csrf(world):
    case = register(world.mediator_a, world.town_a)
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.mediator_a)
    assert client.get(CASES).status_code == 200
    refused = client.post(f"/api/v1/cases/{case.pk}/transitions/withdraw/", {}, content_type="application/json")
    assert refused.status_code == 403 and refused["Content-Type"] == "application/problem+json"


@pytest.fixture
def otp_on(settings):
    settings.OTP_REQUIRED = True


class TestSecondFactor:
    def test_a_supervisor_with_a_device_must_verify_before_creating(self, world, otp_on):
        first = Client()
        login(first, world.supervisor_a)
        set_up_totp(first)  # verified in this session
        _create_on_page(first)
        unverified = Client()
        login(unverified, world.supervisor_a, ip="10.2.0.3")
        refused = unverified.post(reverse("api_tokens"), {"name": "x", "scope": "write", "days": 30})
        assert refused.status_code == 302 and refused["Location"].startswith(reverse("otp_verify"))
        assert AccessToken.objects.filter(user=world.supervisor_a).count() == 1

    def test_the_rule_itself(self, world, otp_on, rf):
        from django_otp.plugins.otp_totp.models import TOTPDevice

        def missing(user, device=None):
            request = rf.post("/")
            request.user = user
            user.otp_device = device
            return second_factor_missing(request)

        assert missing(world.supervisor_a)  # required for supervisors, no device yet
        assert not missing(world.mediator_a)  # optional for mediators, none set up
        device = TOTPDevice.objects.create(user=world.mediator_a, name="totp", confirmed=True)
        assert missing(world.mediator_a)  # has one: must use it
        assert not missing(world.mediator_a, device)

    def test_a_page_refuses_creation_to_an_unverified_session_even_past_the_gate(self, world, otp_on, monkeypatch):
        from accounts import gate

        monkeypatch.setattr(gate, "required_step", lambda request: None)  # as if the gate let it through
        client = Client()
        client.force_login(world.supervisor_a)
        refused = client.post(reverse("api_tokens"), {"name": "x", "scope": "write", "days": 30})
        assert refused.status_code == 403
        assert not AccessToken.objects.exists()


def test_the_page_shows_when_a_token_was_last_used(world):
    value = bearer(world.mediator_a)
    token = AccessToken.objects.get(prefix=value.partition(".")[0])
    assert token.last_used_at is None
    ApiClient(value).get(CASES)
    token.refresh_from_db()
    assert token.last_used_at is not None
    assert abs(timezone.now() - token.last_used_at) < datetime.timedelta(minutes=1)


def test_a_session_that_owes_a_step_is_not_signed_in_for_the_api(world, otp_on):
    """The pages send such a session to the step it owes; the API answers 401, never a redirect."""
    from accounts.models import require_password_change

    require_password_change(world.mediator_a)
    owes_password = Client()
    owes_password.force_login(world.mediator_a)
    response = owes_password.get(CASES)
    assert response.status_code == 401 and response["Content-Type"] == "application/problem+json"
    owes_device = Client()
    owes_device.force_login(world.supervisor_a)  # a supervisor must set up a second factor first
    assert owes_device.get(CASES).status_code == 401
    assert owes_device.get(reverse("case_list")).status_code == 302  # the pages: sent to set it up
    fine = Client()
    fine.force_login(world.mediator_a2)
    assert fine.get(CASES).status_code == 200
