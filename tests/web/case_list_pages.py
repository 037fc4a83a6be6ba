"""What tests of the case list's pages share: the two ways a page is read (inside a transaction, and on
PostgreSQL outside any, where its statements are prepared) and the case numbers a page lists."""
from __future__ import annotations

import re

import pytest
from django.db import connection

postgres_only = pytest.mark.skipif(connection.vendor != "postgresql", reason="PREPARE is PostgreSQL's")
WAYS = [pytest.param(False, id="in-a-transaction", marks=pytest.mark.django_db),
        pytest.param(True, id="outside-transactions", marks=[
            postgres_only, pytest.mark.django_db(transaction=True, serialized_rollback=True)])]


def listed(body: str) -> list[str]:
    """The case numbers of the list's rows, top to bottom."""
    return re.findall(r"<td class=\"c-number\"><a class=\"nowrap\" href=\"/cases/\d+/\">([^<]+)</a>", body)
