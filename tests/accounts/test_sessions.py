"""The session engine (``accounts/sessions.py``): Django's database sessions, their row read by one
statement prepared once per connection on PostgreSQL outside a transaction, as Django reads it
elsewhere. Either way a session is what Django's own engine makes of its row: the signed-in user
while the row lives and has not expired; nobody once it is gone or past its expiry, or for a cookie
that names no row — and nothing in a cookie's value reaches the statement as anything but a value."""
from __future__ import annotations

import datetime

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from tests.factories import TEST_PASSWORD

postgres_only = pytest.mark.skipif(connection.vendor != "postgresql", reason="PREPARE is PostgreSQL's")

#: Both ways a session is read: inside the test's transaction (as Django reads it; on PostgreSQL the
#: prepared statement is not used there) and, on PostgreSQL, outside any (the prepared statement).
WAYS = [pytest.param(False, id="in-a-transaction"),
        pytest.param(True, id="outside-transactions", marks=[
            postgres_only, pytest.mark.django_db(transaction=True, serialized_rollback=True)])]


def signed_in_client(user) -> Client:
    client = Client()
    response = client.post(reverse("login"), {"username": user.username, "password": TEST_PASSWORD},
                           REMOTE_ADDR="10.0.0.1")
    assert response.status_code == 302
    return client


def home(client: Client):
    return client.get(reverse("home"))


def test_the_engine_is_this_one():
    assert settings.SESSION_ENGINE == "accounts.sessions"


@pytest.mark.parametrize("outside", WAYS)
def test_a_signed_in_session_is_read_until_its_row_expires_or_goes(world, outside):
    client = signed_in_client(world.mediator_a)
    page = home(client)
    assert page.status_code == 200 and page.context["user"] == world.mediator_a
    key = client.cookies[settings.SESSION_COOKIE_NAME].value
    # Expired in the database (the idle limit passed): the next request is nobody's.
    Session.objects.filter(pk=key).update(expire_date=timezone.now() - datetime.timedelta(seconds=1))
    page = home(client)
    assert page.status_code == 302 and page.url.startswith(reverse("login"))

    client = signed_in_client(world.mediator_b)
    assert home(client).context["user"] == world.mediator_b
    Session.objects.filter(pk=client.cookies[settings.SESSION_COOKIE_NAME].value).delete()  # signed out elsewhere
    page = home(client)
    assert page.status_code == 302 and page.url.startswith(reverse("login"))


@pytest.mark.parametrize("outside", WAYS)
@pytest.mark.parametrize("cookie", ["x' OR '1'='1", "abcdefgh\\'; DELETE FROM django_session; --",
                                    "$1 $2 %s %(x)s 12345678", "0" * 32])
def test_a_cookie_naming_no_row_is_nobody_and_changes_nothing(world, outside, cookie):
    kept = signed_in_client(world.mediator_a)
    rows = Session.objects.count()
    client = Client()
    client.cookies[settings.SESSION_COOKIE_NAME] = cookie
    page = home(client)
    assert page.status_code == 302 and page.url.startswith(reverse("login"))
    assert Session.objects.count() == rows and home(kept).status_code == 200


@postgres_only
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_outside_a_transaction_the_row_is_read_by_one_prepared_statement(world):
    """Each request reads its session by ``EXECUTE`` of one statement, the key and the moment its
    values, prepared once on the connection; the rows it reads are the database's now."""
    client = signed_in_client(world.mediator_a)
    home(client)
    key = client.cookies[settings.SESSION_COOKIE_NAME].value
    with CaptureQueriesContext(connection) as ctx:
        assert home(client).status_code == 200
    reads = [q["sql"] for q in ctx.captured_queries if "django_session" in q["sql"] or key in q["sql"]]
    assert len(reads) == 1 and reads[0].startswith("EXECUTE mediation_") and f"'{key}'" in reads[0]
    name = reads[0].split("(")[0].split()[1]
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements WHERE name = %s", [name])
        (text,) = cursor.fetchone()
    assert '"django_session"' in text and "$1" in text and "$2" in text and key not in text
    other = signed_in_client(world.mediator_b)
    with CaptureQueriesContext(connection) as ctx:
        assert home(other).context["user"] == world.mediator_b
    assert any(q["sql"].startswith(f"EXECUTE {name}(") for q in ctx.captured_queries)  # the same statement
