"""The notification bell in headless Chromium: a sweep's reminder shows in the count, opens, and is read."""
from __future__ import annotations

import datetime
import os
import shutil
from pathlib import Path

import pytest
import time_machine

from tests.factories import TEST_PASSWORD, register

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not shutil.which(CHROMIUM) and not Path(CHROMIUM).exists(),
                       reason="Chromium is not installed (make browser-deps)"),
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture
def page(live_server, world):
    playwright = pytest.importorskip("playwright.sync_api")
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync"])
        context = browser.new_context(viewport={"width": 1366, "height": 900}, locale="zh-CN")
        page = context.new_page()
        page.set_default_timeout(15000)
        page.goto(f"{live_server.url}/accounts/login/")
        page.fill("#id_username", world.mediator_a.username)
        page.fill("#id_password", TEST_PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"{live_server.url}/")
        yield page
        context.close()
        browser.close()


def test_the_bell_shows_a_reminder_and_clears_when_it_is_read(world, page, live_server):
    from notifications import services
    from tests.notifications.conftest import beijing

    with time_machine.travel(beijing(2026, 9, 30), tick=False):
        case = register(world.mediator_a, world.town_a, received_at=beijing(2026, 9, 30))
    services.deadline_sweep(today=datetime.date(2026, 10, 10))  # the acceptance period's last day

    page.goto(f"{live_server.url}/")
    bell = page.locator("header.topbar a.bell")
    assert bell.locator(".count").inner_text() == "1"
    bell.click()
    page.wait_for_url(f"{live_server.url}/notifications/")
    item = page.locator("ul.notifications li.unread")
    assert case.number in item.inner_text() and "受理期限" in item.inner_text()
    item.locator("button[type=submit]").click()
    page.wait_for_load_state()
    assert page.locator("ul.notifications li.unread").count() == 0
    assert page.locator("header.topbar a.bell .count").count() == 0
