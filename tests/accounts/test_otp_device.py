"""The device a verified session names (``accounts.otp.OTPMiddleware``): read by one statement
prepared once per connection on PostgreSQL outside a transaction, as django-otp reads it elsewhere;
either way the device django-otp's own ``Device.from_persistent_id`` finds, and a session naming
another user's device, an unconfirmed one or one that is gone is not verified and forgets the name."""
from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.middleware import OTPMiddleware as DjangoOTPMiddleware
from django_otp.models import Device
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.otp import OTPMiddleware
from tests.factories import TEST_PASSWORD

postgres_only = pytest.mark.skipif(connection.vendor != "postgresql", reason="PREPARE is PostgreSQL's")
WAYS = [pytest.param(False, id="in-a-transaction"),
        pytest.param(True, id="outside-transactions", marks=[
            postgres_only, pytest.mark.django_db(transaction=True, serialized_rollback=True)])]


def test_the_middleware_is_this_one():
    assert "accounts.otp.OTPMiddleware" in settings.MIDDLEWARE
    assert "django_otp.middleware.OTPMiddleware" not in settings.MIDDLEWARE
    assert issubclass(OTPMiddleware, DjangoOTPMiddleware)


def verified_client(user, device) -> Client:
    """Signed in with the password, the session then naming ``device`` as django_otp.login() does."""
    client = Client()
    done = client.post(reverse("login"), {"username": user.username, "password": TEST_PASSWORD},
                       REMOTE_ADDR="10.0.0.1")
    assert done.status_code == 302
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return client


@pytest.mark.parametrize("outside", WAYS)
def test_every_name_finds_what_django_otp_finds(world, outside):
    totp = TOTPDevice.objects.create(user=world.supervisor_a, name="totp", confirmed=True)
    static = StaticDevice.objects.create(user=world.supervisor_b, name="recovery", confirmed=True)
    gone = TOTPDevice.objects.create(user=world.supervisor_a, name="old", confirmed=True)
    gone_id = gone.pk
    gone.delete()
    names = [totp.persistent_id, static.persistent_id, f"otp_totp.totpdevice/{gone_id}",
             f"django_otp.plugins.otp_totp.models.TOTPDevice/{totp.pk}",  # a legacy name: normalised
             "otp_totp.totpdevice/abc", "otp_totp.totpdevice", "otp_totp.totpdevice/", "nonexistent.model/1",
             "otp_totp.totpdevice/99999999999999999999", "otp_totp.totpdevice/-1", "a.b.c/1", "", "/",
             f"otp_static.staticdevice/{totp.pk}"]
    middleware = OTPMiddleware(lambda request: None)
    for name in names:
        ours = middleware._device_from_persistent_id(name)
        theirs = Device.from_persistent_id(DjangoOTPMiddleware._normalize_persistent_id(name))
        assert (type(ours), getattr(ours, "pk", None)) == (type(theirs), getattr(theirs, "pk", None)), name
    # A model that is not a device: django-otp fails on it (``None.first()``), here it names no device.
    with pytest.raises(AttributeError):
        Device.from_persistent_id(f"auth.user/{world.supervisor_a.pk}")
    assert middleware._device_from_persistent_id(f"auth.user/{world.supervisor_a.pk}") is None
    assert middleware._device_from_persistent_id(totp.persistent_id) == totp  # found, not only alike
    assert middleware._device_from_persistent_id(static.persistent_id) == static
    assert middleware._device_from_persistent_id(f"otp_totp.totpdevice/{gone_id}") is None


@pytest.mark.parametrize("outside", WAYS)
def test_a_session_is_verified_by_its_own_confirmed_device_only(world, outside):
    own = TOTPDevice.objects.create(user=world.supervisor_a, name="totp", confirmed=True)
    client = verified_client(world.supervisor_a, own)
    page = client.get(reverse("home"))
    user: Any = page.wsgi_request.user
    assert page.status_code == 200 and user.otp_device == own

    others = TOTPDevice.objects.create(user=world.supervisor_b, name="totp", confirmed=True)
    client = verified_client(world.supervisor_a, others)  # a name of another user's device
    page = client.get(reverse("home"))
    assert page.status_code == 302 and page["Location"].startswith(reverse("otp_verify"))
    assert DEVICE_ID_SESSION_KEY not in client.session  # forgotten

    client = verified_client(world.supervisor_a, own)
    TOTPDevice.objects.filter(pk=own.pk).update(confirmed=False)  # taken back after the session verified
    page = client.get(reverse("home"))
    assert page.status_code == 302 and DEVICE_ID_SESSION_KEY not in client.session


@postgres_only
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_outside_a_transaction_the_device_is_read_by_one_prepared_statement(world):
    first = TOTPDevice.objects.create(user=world.supervisor_a, name="totp", confirmed=True)
    second = TOTPDevice.objects.create(user=world.supervisor_b, name="totp", confirmed=True)
    statements = []
    for user, device in ((world.supervisor_a, first), (world.supervisor_b, second)):
        client = verified_client(user, device)
        client.get(reverse("home"))
        with CaptureQueriesContext(connection) as ctx:
            page = client.get(reverse("home"))
        seen: Any = page.wsgi_request.user
        assert page.status_code == 200 and seen.otp_device == device
        reads = [q["sql"] for q in ctx.captured_queries if "totpdevice" in q["sql"] or "EXECUTE" in q["sql"]
                 and f"({device.pk})" in q["sql"]]
        assert not any("otp_totp_totpdevice" in sql for sql in reads), reads  # never Django's query
        statements.append({sql.split("(")[0] for sql in reads if sql.endswith(f"({device.pk})")})
    shared = statements[0] & statements[1]
    assert len(shared) == 1, statements  # one statement for both devices, the id its parameter
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements WHERE name = %s", [shared.pop().split()[1]])
        (text,) = cursor.fetchone()
    assert '"otp_totp_totpdevice"' in text and "$1" in text
