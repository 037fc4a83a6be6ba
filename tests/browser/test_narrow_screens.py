"""Tablets (768 px) and phones (390 px): the case page leads with its deadlines and actions, the lists keep
their deadline in view, nothing runs off the side of the screen, and the navigation folds into a menu.

Each check is one a wrong layout fails: the panels are measured against the parties and the timeline and
against the first screen, the deadline cells against the viewport's edge, the page against its own width.
"""
from __future__ import annotations

import os

import pytest

from tests.browser.test_case_journey import as_user, browser, pytestmark  # noqa: F401 -- shared fixtures

TABLET = (768, 1024)
PHONE = (390, 844)
SCREENSHOTS = os.environ.get("NARROW_SCREENSHOT_PREFIX", "/tmp/h7_")

# The same listener as the Content-Security-Policy test: any blocked script, style or attribute shows up.
CSP_LISTENER = ("document.addEventListener('securitypolicyviolation', e => "
                "console.error('Content Security Policy: ' + e.violatedDirective + ' ' + e.blockedURI));")


def _watch_policy(page) -> list[str]:
    violations: list[str] = []
    page.on("console", lambda message: violations.append(message.text)
            if "Content Security Policy" in message.text else None)
    page.add_init_script(CSP_LISTENER)
    return violations


def _box(page, selector):
    box = page.locator(selector).first.bounding_box()
    assert box is not None, f"{selector} is not displayed"
    return box


def _no_horizontal_overflow(page, path):
    scroll_width, viewport = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert scroll_width <= viewport, f"{path}: the page is {scroll_width}px wide on a {viewport}px screen"


def _deadline_cells_in_view(page, path, width) -> int:
    """Every deadline cell of the case tables lies fully inside the screen's width (not clipped, not
    scrolled away inside its table); returns how many were measured."""
    cells = page.locator("table.cards td.c-due")
    for i in range(cells.count()):
        box = cells.nth(i).bounding_box()
        assert box is not None, f"{path}: deadline cell {i} is hidden"
        assert box["x"] >= 0 and box["x"] + box["width"] <= width, f"{path}: deadline cell {i} at {box} is clipped"
        # The date itself is legible: the cell is not squeezed to a sliver.
        assert box["width"] >= 60, f"{path}: deadline cell {i} is only {box['width']}px wide"
    return cells.count()


@pytest.fixture
def cases(world):
    """Something on every list: two applications to accept, a case in mediation, an escalation to decide."""
    from mediation.services import EmployerInput
    from tests.factories import register, valid_credit_code
    from tests.lifecycle import case_in_state
    from workflows.states import CaseState

    register(world.mediator_a, world.town_a)
    # Names as long as real ones: a table that only fits short names fails here.
    long = register(world.mediator_a, world.town_a, applicants=3, employer=EmployerInput(
        name="宁波市奉化区锦屏街道甬兴精密汽车零部件制造有限责任公司", credit_code=valid_credit_code()))
    long.parties.filter(role="applicant").update(name="欧阳明月")
    long.organisation.short_name = ""
    long.organisation.save()
    working = case_in_state(world, CaseState.JOINT_MEDIATION)
    case_in_state(world, CaseState.ESCALATION_PENDING)  # the enterprise asks town A, whose supervisor decides
    return working


@pytest.mark.parametrize("size", [TABLET, PHONE], ids=["tablet-768", "phone-390"])
@pytest.mark.parametrize("who", ["supervisor_a", "mediator_a"])
def test_narrow_screens(world, cases, as_user, live_server, who, size):  # noqa: F811
    width, height = size
    page = as_user(getattr(world, who), width=width, height=height)
    violations = _watch_policy(page)
    name = f"{SCREENSHOTS}{who}_{width}"

    # The case page: deadlines, then actions, right under the case header, above the parties and the timeline.
    page.goto(f"{live_server.url}/cases/{cases.pk}/")
    page.screenshot(path=f"{name}_case.png")
    page.screenshot(path=f"{name}_case_full.png", full_page=True)
    header = _box(page, ".page-head")
    deadlines = _box(page, "section.case-deadlines")
    actions = _box(page, "section.case-actions")
    parties = _box(page, "section[aria-labelledby=h-parties]")
    basic = _box(page, "section[aria-labelledby=h-basic]")
    timeline = _box(page, "section.case-timeline")
    assert header["y"] + header["height"] <= deadlines["y"] < actions["y"]
    for later in (basic, parties, timeline):
        assert actions["y"] + actions["height"] <= later["y"], "the action panel must come before the case's details"
    # Both start on the first screen: the deadlines table whole, the action panel's heading and first control.
    assert deadlines["y"] + deadlines["height"] <= height, f"deadlines end at {deadlines} on a {height}px screen"
    first_action = _box(page, "section.case-actions h2 + *")
    assert first_action["y"] + min(first_action["height"], 40) <= height, "the first action is below the first screen"
    _no_horizontal_overflow(page, "case page")

    # The lists: every deadline cell whole and inside the screen.
    paths = ["/", "/deadlines/", "/cases/"]
    if who == "supervisor_a":
        paths += ["/escalations/", "/reports/statistics/", "/reports/monthly/", "/reports/ledger/"]
    measured = 0
    for path in paths:
        response = page.goto(f"{live_server.url}{path}")
        assert response is not None and response.status == 200, path
        page.screenshot(path=f"{name}_{path.strip('/').replace('/', '_') or 'home'}.png", full_page=True)
        _no_horizontal_overflow(page, path)
        measured += _deadline_cells_in_view(page, path, width)
        # No list hides columns behind a sideways scroll of its own (the reports' wide tables may).
        if not path.startswith("/reports/"):
            hidden = page.evaluate("""[...document.querySelectorAll('table.cards')].map(t => {
                const box = t.closest('.table-wrap') || t.parentElement;
                return t.scrollWidth - box.clientWidth; })""")
            assert all(extra <= 1 for extra in hidden), f"{path}: a list is wider than its box by {hidden}px"
    # Home shows the two applications to accept (and the mediator's case), each with its deadline.
    assert measured >= 2
    # The forms fit as well.
    for path in ("/cases/new/", f"/cases/{cases.pk}/agreement/", f"/documents/cases/{cases.pk}/",
                 "/documents/verify/", "/accounts/password_change/"):
        response = page.goto(f"{live_server.url}{path}")
        assert response is not None and response.status == 200, path
        _no_horizontal_overflow(page, path)

    # The navigation is folded into the menu button; the button opens it and a link in it works.
    page.goto(f"{live_server.url}/")
    button = page.locator(".menu-button")
    link = page.locator("nav.side a", has_text="期限提醒")
    assert button.is_visible() and not link.is_visible()
    assert _box(page, ".menu-button")["x"] + _box(page, ".menu-button")["width"] <= width
    button.click()
    assert link.is_visible()
    page.wait_for_function("document.querySelector('.menu-button').getAttribute('aria-expanded') === 'true'")
    box = link.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width and box["y"] + box["height"] <= height
    page.screenshot(path=f"{name}_menu.png")
    link.click()
    page.wait_for_url(f"{live_server.url}/deadlines/")

    # …and from the keyboard: Enter opens it, Tab reaches its first link, Escape closes it again.
    page.focus(".menu-button")
    page.keyboard.press("Enter")
    assert page.locator("nav.side").is_visible()
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.closest('nav.side') !== null")
    page.keyboard.press("Escape")
    assert not page.locator("nav.side").is_visible()
    assert button.get_attribute("aria-expanded") == "false"
    # The account links moved into the menu: the top bar fits the screen.
    _no_horizontal_overflow(page, "/deadlines/")
    assert not page.locator(".topbar .account-link").first.is_visible()
    assert violations == []


def test_sign_in_page_on_a_phone(browser, live_server):  # noqa: F811
    context = browser.new_context(viewport={"width": PHONE[0], "height": PHONE[1]}, locale="zh-CN")
    page = context.new_page()
    violations = _watch_policy(page)
    page.goto(f"{live_server.url}/accounts/login/")
    page.screenshot(path=f"{SCREENSHOTS}login_390.png")
    _no_horizontal_overflow(page, "/accounts/login/")
    # Signed out there is no menu to open; the form's button is on the first screen.
    assert page.locator(".menu-button").count() == 0
    box = _box(page, "button[type=submit]")
    assert box["y"] + box["height"] <= PHONE[1]
    context.close()
    assert violations == []


def test_desktop_keeps_the_side_navigation_and_two_columns(world, cases, as_user, live_server):  # noqa: F811
    page = as_user(world.supervisor_a, width=1280, height=900)
    violations = _watch_policy(page)
    assert not page.locator(".menu-button").is_visible()
    for label in ("工作台", "案件", "期限提醒", "提级审批"):
        assert page.locator("nav.side a", has_text=label).first.is_visible(), label
    assert page.locator(".topbar .account-link").first.is_visible()
    assert not page.locator(".nav-account").is_visible()
    page.locator("nav.side a", has_text="期限提醒").click()
    page.wait_for_url(f"{live_server.url}/deadlines/")

    page.goto(f"{live_server.url}/cases/{cases.pk}/")
    page.screenshot(path=f"{SCREENSHOTS}supervisor_a_1280_case.png")
    basic = _box(page, "section[aria-labelledby=h-basic]")
    actions = _box(page, "section.case-actions")
    deadlines = _box(page, "section.case-deadlines")
    # As before: the details on the left, the actions above the deadlines in the right-hand column.
    assert actions["x"] > basic["x"] + basic["width"]
    assert abs(actions["y"] - basic["y"]) < 2
    assert actions["y"] < deadlines["y"] and abs(actions["x"] - deadlines["x"]) < 2
    # A small laptop or a tablet held sideways (1024 px): the side navigation stays, but the case page has
    # room for one column only, so it too leads with the deadlines and the actions.
    small = as_user(world.supervisor_a, width=1024, height=768)
    small.goto(f"{live_server.url}/cases/{cases.pk}/")
    assert small.locator("nav.side a", has_text="期限提醒").is_visible()
    deadlines, actions = _box(small, "section.case-deadlines"), _box(small, "section.case-actions")
    basic = _box(small, "section[aria-labelledby=h-basic]")
    assert deadlines["y"] < actions["y"] < basic["y"] and deadlines["y"] < 768
    assert abs(deadlines["x"] - basic["x"]) < 2, "one column"
    # The case tables stay tables on a desktop.
    page.goto(f"{live_server.url}/")
    assert page.locator("table.cards thead").first.is_visible()
    _no_horizontal_overflow(page, "/")
    assert violations == []


# Where a keyboard's focus stands: the case page's part holding the active element.
FOCUS_PART = """() => {
  const el = document.activeElement;
  if (!el || !el.closest('main')) return null;
  if (el.closest('.page-head')) return 'header';
  const section = el.closest('main section');
  if (!section) return 'other';
  if (section.classList.contains('case-deadlines')) return 'deadlines';
  if (section.classList.contains('case-actions')) return 'actions';
  if (section.classList.contains('case-timeline')) return 'timeline';
  return section.getAttribute('aria-labelledby') || 'other';
}"""


@pytest.mark.parametrize("size", [TABLET, PHONE], ids=["tablet-768", "phone-390"])
def test_case_page_reads_and_tabs_in_the_order_it_is_shown(world, cases, as_user, live_server, size):  # noqa: F811
    """WCAG 2.2 SC 1.3.2 (Meaningful Sequence) and SC 2.4.3 (Focus Order): on one column the case page
    shows the header, the deadlines, the actions, then the case's details and its timeline; a screen reader
    reads and the Tab key walks the page in that same order, not in an order that only the styling changes."""
    width, height = size
    page = as_user(world.supervisor_a, width=width, height=height)
    page.goto(f"{live_server.url}/cases/{cases.pk}/")

    # The panels' source order is their order on the screen, top to bottom.
    sections = page.evaluate("""() => [...document.querySelectorAll('main .page-head, main section.card')]
        .map(e => [e.classList.contains('page-head') ? 'header' : (e.getAttribute('aria-labelledby') || ''),
                   e.getBoundingClientRect().top])""")
    names = [name for name, _ in sections]
    on_screen = [name for name, _ in sorted(sections, key=lambda item: item[1])]
    assert names[:3] == ["header", "h-deadlines", "h-actions"], names
    assert names == on_screen, f"source order {names} differs from the order on the screen {on_screen}"

    # From the top of the main content (the skip link), Tab reaches the header's link, then the actions panel
    # before any link or control of the parties, the timeline or any other part of the case.
    page.focus(".skip-link")
    page.keyboard.press("Enter")
    stops: list[str] = []
    for _ in range(80):
        page.keyboard.press("Tab")
        part = page.evaluate(FOCUS_PART)
        if part is None:
            break
        stops.append(part)
    assert stops and stops[0] == "header", stops
    panel_stops = [i for i, part in enumerate(stops) if part in ("deadlines", "actions")]
    later_stops = [i for i, part in enumerate(stops) if part not in ("header", "deadlines", "actions")]
    assert panel_stops, f"no control of the actions panel was reached: {stops}"
    assert later_stops, f"no control after the panels was reached: {stops}"
    assert max(panel_stops) < min(later_stops), f"focus order {stops}"
