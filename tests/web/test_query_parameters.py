"""No query parameter, whatever its value, gives a server error on any page.

For every GET URL of the URL matrix and three roles, hypothesis draws values for the
parameters the page's own forms send and for those the views read directly; every answer
must be below 500 (bad input is a form error, an empty list or a 404, never a crash).
"""
from __future__ import annotations

import datetime
import re

import pytest
from django.test import Client
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.web.test_url_matrix import MATRIX, _user

ROLES = ("mediator", "supervisor", "auditor")
GET_URLS = sorted(name for name, knock in MATRIX.items() if knock.method == "get")
#: What the views read from the query string besides their forms' fields.
COMMON = ("page", "per_page", "sort", "q", "month", "first_month", "last_month", "organisation", "state", "line",
          "category", "channel", "mediator", "received_from", "received_to", "overdue")
FIELD = re.compile(r'<(?:input|select|textarea)\b[^>]*?\bname="([^"]+)"', re.I)
#: Values a form might choke on: out-of-range dates and months, huge and odd numbers, NUL, long text.
AWKWARD = ("", "0", "-1", "9999-12", "0000-00", "2026-13", "2026-00", "2026-02-30", "9999-12-31", "0001-01-01",
           "1e309", "NaN", "inf", "-0", "99999999999999999999999", "\x00", "a\x00b", "'", "%", "%00", "../..",
           "a" * 3000, "2026-11", "2026-11-20", "on", "true", "[]", "１２", "２０２６-１１", " 2026-11 ", "None")
VALUES = st.one_of(
    st.sampled_from(AWKWARD),
    st.text(max_size=40),
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.dates(min_value=datetime.date(1, 1, 1)).map(datetime.date.isoformat),
    st.dates().map(lambda d: d.strftime("%Y-%m")),
    st.decimals(allow_nan=True, allow_infinity=True).map(str),
)


def _parameter_names(html: str) -> list[str]:
    names = set(FIELD.findall(html)) | set(COMMON)
    names.discard("csrfmiddlewaretoken")
    return sorted(names)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("name", GET_URLS)
def test_no_query_parameter_gives_a_server_error(world, name, role):
    knock = MATRIX[name]
    made = knock.setup(world)
    url = reverse(name, kwargs=knock.kwargs(made))
    client = Client()
    client.force_login(_user(world, role))
    first = client.get(url)
    assert first.status_code < 500
    is_html = first.get("Content-Type", "").startswith("text/html")
    names = _parameter_names(first.content.decode() if is_html else "")
    # Each awkward value in every parameter at once, then random combinations.
    for value in AWKWARD:
        response = client.get(url, dict.fromkeys(names, value))
        assert response.status_code < 500, (value, response.status_code)

    @settings(max_examples=25, deadline=None, database=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
    @given(st.dictionaries(st.sampled_from(names), VALUES, max_size=6))
    def knock_with(params: dict[str, str]) -> None:
        response = client.get(url, params)
        assert response.status_code < 500, (params, response.status_code)

    knock_with()


def test_an_audit_search_far_in_the_future_is_a_form_error(world):
    """Found by the test above: 9999-12-31 ran the end-of-day arithmetic past the calendar."""
    client = Client()
    client.force_login(world.auditor_a)
    response = client.get(reverse("audit:log"), {"date_from": "2026-01-01", "date_to": "9999-12-31"})
    assert response.status_code == 400  # the page with the form's error, as for any bad search
    assert "日期须在 2000 年至" in response.content.decode()
