"""HTTP-level protections (docs/security.md, HTTP 安全 / HTTP).

Content-Security-Policy on every page and no inline script or style for it to forbid;
HTTPS settings from the environment; ``Cache-Control: no-store`` on what carries personal
data; oversized requests refused before their body is read; the error pages in Chinese.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.template.loader import render_to_string
from django.test import Client, override_settings
from django.urls import reverse

from tests.web.test_url_matrix import MATRIX, _attachment, _case, _case_kwargs, _document
from workflows.states import CaseState as S

ROOT = Path(__file__).resolve().parents[2]


def _client(user=None) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


# --- Content-Security-Policy ---------------------------------------------------------------

INLINE = {
    "a <script> without src": re.compile(r"<script(?![^>]*\ssrc=)[^>]*>", re.I),
    "a <style> element": re.compile(r"<style[\s>]", re.I),
    "a style attribute": re.compile(r' style="', re.I),
    "an inline event handler": re.compile(r" on[a-z]+=\"", re.I),
}

GET_PAGES = sorted(name for name, knock in MATRIX.items() if knock.method == "get")


def _assert_no_inline(html: str, where: str) -> None:
    for what, pattern in INLINE.items():
        found = pattern.search(html)
        assert found is None, f"{where}: {what}: {html[max(0, found.start() - 80):found.end() + 80]!r}"


def test_the_policy_forbids_inline_code_and_framing():
    directives = settings.CONTENT_SECURITY_POLICY["DIRECTIVES"]
    assert directives["script-src"] == ["'self'"]
    assert directives["style-src"] == ["'self'"]
    assert directives["frame-ancestors"] == ["'none'"]
    assert directives["object-src"] == ["'none'"]
    assert not any("unsafe" in value for values in directives.values() for value in values)


@pytest.mark.parametrize("name", GET_PAGES)
def test_every_page_carries_the_policy_and_nothing_inline(world, name):
    knock = MATRIX[name]
    made = knock.setup(world)
    url = reverse(name, kwargs=knock.kwargs(made)) + knock.query
    # The supervisor sees the most of each page (figures, panels, forms); the login and
    # verification pages are also seen by the anonymous visitor.
    for user in (world.supervisor_a, None):
        response = _client(user).get(url)
        if response.status_code != 200 or not response["Content-Type"].startswith("text/html"):
            continue
        policy = response["Content-Security-Policy"]
        assert "script-src 'self'" in policy and "style-src 'self'" in policy, policy
        assert "unsafe-inline" not in policy
        _assert_no_inline(response.content.decode(), f"{name} ({user or 'anonymous'})")


def test_the_statistics_charts_are_drawn_without_inline_styles(world):
    case_in_month = _case(S.REJECTED)(world)["case"]
    month = case_in_month.received_at.strftime("%Y-%m")
    response = _client(world.supervisor_a).get(reverse("reports:statistics"),
                                                {"first_month": month, "last_month": month})
    assert response.status_code == 200
    html = response.content.decode()
    assert '<svg class="chart"' in html
    _assert_no_inline(html, "statistics")


# --- HTTPS from the environment ---------------------------------------------------------

def _settings_under(env: dict[str, str]) -> dict:
    """The project's settings as a process started with ``env`` reads them."""
    script = ("import json; from mediation import settings as s; print(json.dumps({k: getattr(s, k, None) for k in "
              "('SECURE_SSL_REDIRECT', 'SECURE_HSTS_SECONDS', 'SECURE_HSTS_INCLUDE_SUBDOMAINS', "
              "'SECURE_PROXY_SSL_HEADER', 'SECURE_REFERRER_POLICY', 'X_FRAME_OPTIONS', 'SESSION_COOKIE_SECURE')}))")
    base = {k: v for k, v in os.environ.items() if not k.startswith(("SECURE_", "DEBUG", "DJANGO_SETTINGS"))}
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env={**base, "SECRET_KEY": "x" * 60, **env},
                          capture_output=True, text=True, check=True)
    return json.loads(done.stdout)


def test_production_defaults_are_https_only():
    got = _settings_under({})
    assert got["SECURE_SSL_REDIRECT"] is True
    assert got["SECURE_HSTS_SECONDS"] == 365 * 24 * 3600
    assert got["SECURE_HSTS_INCLUDE_SUBDOMAINS"] is True
    assert got["SECURE_PROXY_SSL_HEADER"] is None
    assert got["SECURE_REFERRER_POLICY"] == "same-origin"
    assert got["X_FRAME_OPTIONS"] == "DENY"
    assert got["SESSION_COOKIE_SECURE"] is True


def test_debug_and_the_environment_switch_them():
    debug = _settings_under({"DEBUG": "1"})
    assert debug["SECURE_SSL_REDIRECT"] is False and debug["SECURE_HSTS_SECONDS"] == 0
    proxied = _settings_under({"SECURE_PROXY_SSL_HEADER": "1", "SECURE_HSTS_SECONDS": "600",
                               "SECURE_SSL_REDIRECT": "0", "SECURE_HSTS_INCLUDE_SUBDOMAINS": "0"})
    assert proxied["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"]
    assert proxied["SECURE_HSTS_SECONDS"] == 600
    assert proxied["SECURE_SSL_REDIRECT"] is False and proxied["SECURE_HSTS_INCLUDE_SUBDOMAINS"] is False


@override_settings(SECURE_SSL_REDIRECT=True, SECURE_HSTS_SECONDS=31536000, SECURE_HSTS_INCLUDE_SUBDOMAINS=True,
                   SECURE_PROXY_SSL_HEADER=("HTTP_X_FORWARDED_PROTO", "https"))
def test_plain_http_is_redirected_and_https_carries_hsts(db):
    assert _client().get("/accounts/login/").status_code == 301
    response = _client().get("/accounts/login/", HTTP_X_FORWARDED_PROTO="https")
    assert response.status_code == 200
    assert response["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"


# --- Cache-Control ----------------------------------------------------------------------

def _assert_no_store(response) -> None:
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"], response["Cache-Control"]


def test_the_case_page_is_not_stored(world):
    case = _case(S.REGISTERED)(world)["case"]
    _assert_no_store(_client(world.mediator_a).get(reverse("case_detail", kwargs={"pk": case.pk})))


def test_an_attachment_download_is_not_stored(world):
    made = _attachment(world)
    response = _client(world.mediator_a).get(reverse("attachment_download", kwargs={
        "pk": made["case"].pk, "attachment_id": made["attachment"].pk}))
    _assert_no_store(response)
    assert "private" in response["Cache-Control"]


def test_a_document_download_is_not_stored(world):
    made = _document(world)
    _assert_no_store(_client(world.mediator_a).get(reverse("documents:download", kwargs={"pk": made["document"].pk})))


def test_the_ledger_export_is_not_stored(world):
    _case(S.REJECTED)(world)
    _assert_no_store(_client(world.supervisor_a).get(reverse("reports:ledger_export")))


def test_every_page_for_a_signed_in_user_is_not_stored(world):
    for name in ("home", "case_list", "deadlines", "reports:statistics", "reports:monthly"):
        _assert_no_store(_client(world.supervisor_a).get(reverse(name)))


def test_a_public_page_for_the_anonymous_visitor_is_left_alone(db):
    response = _client().get(reverse("documents:verify"))
    assert response.status_code == 200
    assert "no-store" not in response.get("Cache-Control", "")


# --- Request size ------------------------------------------------------------------------

class _UnreadableBody:
    """A request body that fails the test if anything reads it."""

    def read(self, *args, **kwargs):
        raise AssertionError("the body of an oversized request was read")

    readline = read


HUNDRED_MB = str(100 * 1024 * 1024)
#: Declares 100 MB, sends ten bytes, and fails if anything reads them.
OVERSIZED: dict[str, Any] = {"CONTENT_LENGTH": HUNDRED_MB, "wsgi.input": _UnreadableBody()}


def test_an_anonymous_oversized_post_is_refused_before_it_is_read(db):
    response = _client().post(reverse("login"), data="x" * 10, content_type="application/x-www-form-urlencoded",
                              **OVERSIZED)
    assert response.status_code == 413
    html = response.content.decode()
    assert "提交的内容过大" in html
    assert f"{settings.REQUEST_MAX_BYTES // (1024 * 1024)} MB" in html
    assert "mediation/app.css" in html


def test_a_signed_in_oversized_upload_is_refused_before_it_is_read(world):
    case = _case(S.JOINT_MEDIATION)(world)["case"]
    response = _client(world.mediator_a).post(
        reverse("attachment_upload", kwargs=_case_kwargs({"case": case})), data="x" * 10,
        content_type="multipart/form-data; boundary=x", **OVERSIZED)
    assert response.status_code == 413
    assert not case.attachments.exists()


def test_the_limit_leaves_room_for_the_largest_legitimate_uploads():
    from mediation.reports import ledger

    assert settings.REQUEST_MAX_BYTES > settings.ATTACHMENT_MAX_BYTES
    assert settings.REQUEST_MAX_BYTES > ledger.MAX_IMPORT_BYTES
    assert settings.MIDDLEWARE[0] == "mediation.http_security.RequestSizeLimitMiddleware"


# --- Error pages ---------------------------------------------------------------------------

ERROR_PAGES = {
    400: "请求有误",
    403: "无权访问",
    404: "未找到",
    500: "系统出错",
}


@pytest.mark.urls("tests.web.error_urls")
@pytest.mark.parametrize("status", sorted(ERROR_PAGES))
@pytest.mark.parametrize("signed_in", [False, True])
def test_error_pages_are_in_chinese_in_the_products_look(world, status, signed_in):
    client = Client(raise_request_exception=False)
    if signed_in:
        client.force_login(world.mediator_a)
    with override_settings(DEBUG=False):
        response = client.get(f"/raise/{status}/")
    assert response.status_code == status
    html = response.content.decode()
    assert ERROR_PAGES[status] in html
    assert "mediation/app.css" in html
    assert 'lang="zh-CN"' in html
    _assert_no_inline(html, str(status))


def test_the_500_page_needs_neither_the_database_nor_a_request():
    # No database fixture: any query here would fail the test.
    html = render_to_string("500.html")
    assert "系统出错" in html and "mediation/app.css" in html


def test_a_refused_form_gets_the_chinese_403_page(world):
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.mediator_a)
    response = client.post(reverse("logout"))
    assert response.status_code == 403
    html = response.content.decode()
    assert "无权访问" in html and "刷新后重试" in html
    assert "mediation/app.css" in html
