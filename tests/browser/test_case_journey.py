"""A case's whole journey through the real pages, in headless Chromium (Debian's, never a download)."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.factories import TEST_PASSWORD, valid_credit_code, valid_id_number

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
SCREENSHOTS = Path(os.environ.get("SCREENSHOT_DIR", "var/screenshots"))

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not shutil.which(CHROMIUM) and not Path(CHROMIUM).exists(),
                       reason="Chromium is not installed (make browser-deps)"),
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

# Playwright's sync API runs an event loop in this thread; the ORM calls the test makes
# between page steps are ordinary synchronous ones.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture
def browser():
    playwright = pytest.importorskip("playwright.sync_api")
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync"])
        yield browser
        browser.close()


@pytest.fixture
def as_user(browser, live_server):
    contexts = []

    def _as(user, *, width=1366, height=900):
        context = browser.new_context(viewport={"width": width, "height": height}, locale="zh-CN")
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(15000)
        page.goto(f"{live_server.url}/accounts/login/")
        page.fill("#id_username", user.username)
        page.fill("#id_password", TEST_PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"{live_server.url}/")
        return page

    yield _as
    for c in contexts:
        c.close()


def shot(page, name):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def submit_action(page, label, fields=None):
    """Open the action's panel on the case page, fill it, and confirm."""
    panel = page.locator("details.action", has=page.locator("summary", has_text=label)).first
    if panel.get_attribute("open") is None:
        panel.locator("summary").click()
    for selector, value in (fields or {}).items():
        panel.locator(selector).fill(value)
    panel.locator("button[type=submit]").click()
    page.wait_for_load_state()


def test_case_journey_from_oral_application_to_closure(world, as_user, live_server):
    from mediation.models import Case
    from workflows.states import CaseState

    # 1. An enterprise mediator records an oral application with two applicants and two claims.
    page = as_user(world.enterprise_mediator)
    shot(page, "01-home-mediator")
    page.click("text=登记申请")
    page.check("input[name=application_form][value=oral]")
    page.fill("#id_applicants-0-name", "王建军")
    page.fill("#id_applicants-0-id_number", valid_id_number())
    page.fill("#id_applicants-0-phone", "13805740001")
    page.click("text=再添加一名申请人")
    page.fill("#id_applicants-1-name", "𠮷珺")
    page.fill("#id_applicants-1-id_number", valid_id_number())
    # The committee's own enterprise (DOMAIN.md §4: an enterprise committee takes no other firm's disputes).
    page.fill("#id_employer_name", "宁波甬达机械有限公司")
    page.fill("#id_employer_credit_code", world.enterprise_a.served_employers.get().credit_code)
    page.check("input[name=categories][value=wages]")
    page.fill("#id_dispute_summary", "公司拖欠2026年8月至10月工资")
    page.fill("#id_claims-0-description", "拖欠工资")
    page.fill("#id_claims-0-amount", "18600")
    page.click("text=添加请求事项")
    page.fill("#id_claims-1-description", "加班费")
    page.fill("#id_claims-1-amount", "3200.50")
    shot(page, "02-intake")
    page.click("button:has-text('登记')")
    page.wait_for_selector("h1:has-text('〔')")
    case = Case.objects.get()
    assert case.applicant_count == 2 and str(case.amount_claimed) == "21800.50"

    # …accepts it, records a session and asks to escalate to the township.
    # Acceptance records that the respondent agreed to mediation (人社部令第17号).
    panel = page.locator("details.action", has=page.locator("summary", has_text="受理")).first
    if panel.get_attribute("open") is None:
        panel.locator("summary").click()
    panel.locator("#accept_consent_confirmed").check()
    panel.locator("#accept_consent_note").fill("电话征询企业人事负责人，同意调解")
    panel.locator("button[type=submit]").click()
    page.wait_for_selector(".badge.state-self_resolution")
    submit_action(page, "记录一次调解", {"#session_held_at": "2026-11-20T10:00", "#session_attendees": "双方当事人",
                                    "#session_record": "双方分歧较大，企业无法一次支付。"})
    panel = page.locator("details.action", has=page.locator("summary", has_text="申请提级"))
    panel.locator("summary").click()
    assert panel.locator("#request_escalation_to_organisation").input_value() == str(world.town_a.pk)
    panel.locator("#request_escalation_reason").fill("企业内部协商未果，需镇街联合调解")
    panel.locator("button[type=submit]").click()
    page.wait_for_selector(".badge.state-escalation_pending")
    shot(page, "03-case-escalation-pending")

    # 2. The township supervisor approves it from the queue.
    supervisor = as_user(world.supervisor_a)
    supervisor.click("nav >> text=提级审批")
    shot(supervisor, "04-escalation-queue")
    supervisor.click("button:has-text('批准提级')")
    supervisor.wait_for_load_state()
    case.refresh_from_db()
    assert case.state == CaseState.JOINT_MEDIATION and case.organisation == world.town_a
    supervisor.goto(f"{live_server.url}/cases/{case.pk}/")
    panel = supervisor.locator("details.action", has=supervisor.locator("summary", has_text="指派调解员"))
    panel.locator("summary").click()
    panel.get_by_label(world.mediator_a.get_full_name() or world.mediator_a.username).check()
    panel.locator("button[type=submit]").click()
    supervisor.wait_for_load_state()

    # 3. A township mediator drafts the agreement with two instalments and records the signatures.
    mediator = as_user(world.mediator_a)
    mediator.goto(f"{live_server.url}/cases/{case.pk}/")
    shot(mediator, "05a-case-mediator")
    mediator.click("a:has-text('起草调解协议')")
    mediator.fill("#id_terms-0-text", "被申请人分两期支付申请人工资及加班费共计人民币贰万壹仟捌佰元伍角。")
    mediator.click("text=添加条款")
    mediator.fill("#id_terms-1-text", "双方就本劳动争议再无其他纠纷。")
    mediator.click("text=添加一期")
    mediator.fill("#id_instalments-0-amount", "10900.25")
    mediator.fill("#id_instalments-0-due_on", "2026-12-10")
    mediator.click("text=添加一期")
    mediator.fill("#id_instalments-1-amount", "10900.25")
    mediator.fill("#id_instalments-1-due_on", "2027-01-10")
    shot(mediator, "05-agreement-editor")
    mediator.click("button:has-text('保存草稿')")
    mediator.wait_for_selector("text=协议生效尚缺")
    # Until everyone has signed, "record agreement" is offered but disabled, with the reason.
    assert mediator.locator("button:has-text('达成协议')").is_disabled()
    # The parties sign the registered signing version: it is printed before any signature is recorded.
    mediator.wait_for_selector("text=请在下方“文书”中生成并打印本协议的签署版")
    mediator.click("#documents button:has-text('生成签署版')")
    mediator.wait_for_selector("text=签署版已打印")
    signing_code = case.agreements.get().signing_document.code_display
    parties = list(case.parties.exclude(role="agent"))
    for party in parties:
        mediator.fill("#signature_document_code", signing_code)
        mediator.select_option("#signature_kind", "party")
        mediator.select_option("#signature_party", str(party.pk))
        mediator.click("details.action[open] >> button:has-text('登记')")
        mediator.wait_for_load_state()
    for kind in ("mediator", "seal"):
        mediator.fill("#signature_document_code", signing_code.lower().replace("-", ""))  # typed as it comes
        mediator.select_option("#signature_kind", kind)
        mediator.click("details.action[open] >> button:has-text('登记')")
        mediator.wait_for_load_state()
    shot(mediator, "05b-signed")
    # The printed paper's code now answers for the effective agreement.
    mediator.goto(f"{live_server.url}/documents/verify/{signing_code}/")
    mediator.wait_for_selector("text=已生效")
    mediator.goto(f"{live_server.url}/cases/{case.pk}/")
    assert mediator.locator("button:has-text('达成协议')").is_enabled()
    mediator.click("button:has-text('达成协议')")
    mediator.wait_for_selector(".badge.state-settled")
    for _ in range(2):
        submit_action(mediator, "登记履行", {})
    mediator.click("button:has-text('确认履行')")
    mediator.wait_for_selector(".badge.state-performed")
    submit_action(mediator, "登记回访", {"#followup_contact": "王建军", "#followup_content": "两期款项均已到账"})
    shot(mediator, "06-case-performed")

    # 4. The supervisor closes the case.
    supervisor.goto(f"{live_server.url}/cases/{case.pk}/")
    submit_action(supervisor, "结案", {"#close_archive_number": "锦档2026-001"})
    supervisor.wait_for_selector(".badge.state-closed")
    case.refresh_from_db()
    assert case.state == CaseState.CLOSED
    assert list(case.transitions.values_list("transition", flat=True)) == [
        "accept", "request_escalation", "approve_escalation", "record_agreement", "confirm_performance", "close"]

    # 5. A mediator of another township finds it nowhere: not in the list, not by search, not by URL.
    outsider = as_user(world.mediator_b)
    outsider.goto(f"{live_server.url}/cases/")
    assert case.number not in outsider.content()
    outsider.fill("input[name=q]", case.number)
    outsider.click("button:has-text('查询')")
    assert f"/cases/{case.pk}/" not in outsider.content()
    assert "没有符合条件的案件" in outsider.content()
    response = outsider.goto(f"{live_server.url}/cases/{case.pk}/")
    assert response.status == 404


def test_case_list_on_a_tablet(world, as_user):
    from tests.factories import register

    for _ in range(5):
        register(world.mediator_a, world.town_a, applicants=2)
    page = as_user(world.supervisor_a, width=820, height=1180)
    page.click(".menu-button")  # on a tablet the navigation is behind the menu button
    page.click("nav >> text=案件")
    page.wait_for_selector("table")
    shot(page, "07-case-list-tablet")
    assert page.locator("tbody tr").count() == 5


def _intake_basics(page, summary):
    page.click("text=登记申请")
    page.check("input[name=application_form][value=written]")
    page.check("input[name=categories][value=wages]")
    page.fill("#id_dispute_summary", summary)
    page.fill("#id_claims-0-description", "拖欠工资")
    page.fill("#id_claims-0-amount", "9000")


def test_dispatch_and_collective_cases_through_the_intake_page(world, as_user, live_server):
    """A dispatched worker against the agency and the host employer (劳动争议调解仲裁法 art. 22), and
    30 workers represented by the 3 they elected (art. 7), registered and shown on the case page."""
    from mediation.models import Case

    page = as_user(world.mediator_a)
    _intake_basics(page, "派遣单位停发待岗期间工资，用工单位将申请人退回")
    page.fill("#id_applicants-0-name", "周海波")
    page.fill("#id_applicants-0-id_number", valid_id_number())
    page.fill("#id_employer_name", "宁波众诚人力资源服务有限公司")
    page.fill("#id_employer_credit_code", valid_credit_code())
    page.select_option("#id_employer_capacity", "dispatch_agency")
    page.click("text=添加被申请人")
    page.fill("#id_respondents-0-name", "宁波锦屏汽车零部件有限公司")
    page.fill("#id_respondents-0-credit_code", valid_credit_code())
    page.select_option("#id_respondents-0-capacity", "host_employer")
    shot(page, "30-intake-dispatch")
    page.click("button:has-text('登记')")
    page.wait_for_selector("h1:has-text('〔')")
    parties = page.locator("section[aria-labelledby=h-parties]")
    assert parties.locator("tr", has_text="宁波众诚人力资源服务有限公司").locator("text=劳务派遣单位").count() == 1
    assert parties.locator("tr", has_text="宁波锦屏汽车零部件有限公司").locator("text=用工单位").count() == 1
    shot(page, "31-case-dispatch")
    case = Case.objects.get()
    assert [p.capacity for p in case.parties.filter(role="respondent").order_by("position")] == [
        "dispatch_agency", "host_employer"]

    # Thirty workers, three representatives listed and marked.
    page.goto(f"{live_server.url}/")
    _intake_basics(page, "工程完工后总包单位拖欠班组30名工人工资")
    for i, name in enumerate(("王建军", "李秀英", "陈国富")):
        if i:
            page.click("text=再添加一名申请人")
        page.fill(f"#id_applicants-{i}-name", name)
        page.fill(f"#id_applicants-{i}-id_number", valid_id_number())
        page.check(f"#id_applicants-{i}-is_representative")
    page.fill("#id_workers_involved", "30")
    page.fill("#id_employer_name", "宁波奉化恒远建设工程有限公司")
    page.fill("#id_employer_credit_code", valid_credit_code())
    shot(page, "32-intake-collective")
    page.click("button:has-text('登记')")
    page.wait_for_selector("h1:has-text('〔')")
    assert page.locator(".page-head .badge", has_text="集体争议").count() == 1
    assert page.locator("section[aria-labelledby=h-parties] .badge", has_text="代表").count() == 3
    facts = page.locator("section[aria-labelledby=h-basic]").inner_text()
    assert "涉及劳动者人数" in facts and "30 人" in facts and "列明申请人 3 人" in facts
    shot(page, "33-case-collective")
    collective = Case.objects.exclude(pk=case.pk).get()
    assert (collective.workers_involved, collective.applicant_count, collective.is_collective) == (30, 3, True)
