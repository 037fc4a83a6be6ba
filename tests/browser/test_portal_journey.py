"""The worker's own pages on a phone (390 px), in headless Chromium: apply online → a mediator accepts →
the worker sees 已受理 → after the agreement takes effect the worker proves who they are and downloads it."""
from __future__ import annotations

import hashlib

from tests.browser.test_case_journey import browser, pytestmark, shot  # noqa: F401 -- shared fixtures
from tests.factories import valid_credit_code, valid_id_number
from tests.portal.conftest import PNG

PHONE = {"width": 390, "height": 844}
CSP_LISTENER = ("document.addEventListener('securitypolicyviolation', e => "
                "console.error('Content Security Policy: ' + e.violatedDirective + ' ' + e.blockedURI));")


def _fits(page, what):
    scroll_width, viewport = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert scroll_width <= viewport, f"{what}: the page is {scroll_width}px wide on a {viewport}px screen"


def test_a_worker_applies_follows_and_downloads_the_agreement_on_a_phone(world, browser, live_server,  # noqa: F811
                                                                         settings):
    from django.core.cache import cache

    from mediation.models import Agreement, Case
    from notifications.sms import LocmemSmsBackend
    from tests.lifecycle import effective_agreement
    from workflows import services as ws

    settings.SMS_BACKEND = "notifications.sms.LocmemSmsBackend"
    LocmemSmsBackend.outbox.clear()
    cache.clear()
    id_number = valid_id_number()
    context = browser.new_context(viewport=PHONE, locale="zh-CN", accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(15000)
    violations: list[str] = []
    page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
    page.add_init_script(CSP_LISTENER)

    # 1. The worker applies from the portal's home page.
    page.goto(f"{live_server.url}/service/")
    assert page.eval_on_selector(".topbar", "e => getComputedStyle(e).backgroundColor") == "rgb(26, 86, 160)"
    _fits(page, "home")
    page.click("a.tile:has-text('申请调解')")
    page.fill("#id_name", "李小红")
    page.fill("#id_id_number", id_number)
    page.fill("#id_phone", "13805741234")
    page.check("input[name=sex][value=F]")
    page.fill("#id_employer_name", "宁波市奉化区某服装有限公司")
    page.fill("#id_credit_code", valid_credit_code())
    page.fill("#id_employer_address", "宁波市奉化区南山路1号")
    page.select_option("#id_township", str(world.town_a.pk))
    page.check("input[name=categories][value=wages]")
    page.fill("#id_dispute_summary", "公司拖欠2026年9月至10月工资")
    page.fill("#id_claim_0_description", "支付拖欠工资")
    page.fill("#id_claim_0_amount", "9600")
    page.set_input_files("#id_evidence", files=[{"name": "工资条.png", "mimeType": "image/png", "buffer": PNG}])
    _fits(page, "apply")
    shot(page, "portal-01-apply")
    page.click("button:has-text('提交申请')")
    page.wait_for_selector("#access-code")
    _fits(page, "apply done")
    shot(page, "portal-02-done")
    number = page.inner_text("#case-number").strip()
    code = page.inner_text("#access-code").strip()
    case = Case.objects.get(number=number)
    assert case.applied_online and case.organisation == world.town_a and case.attachments.count() == 1

    # 2. A mediator of the township accepts it within the statutory three working days.
    ws.case_accept(case_id=case.pk, actor=world.mediator_a)

    # 3. The worker follows the case with the number and the access code.
    page.goto(f"{live_server.url}/service/follow/")
    page.fill("#id_number", number)
    page.fill("#id_access_code", code)
    page.click("button:has-text('查询')")
    page.wait_for_selector("#case-status")
    assert "已受理" in page.inner_text("#case-status")
    _fits(page, "progress")
    shot(page, "portal-03-progress")

    # 4. The agreement takes effect (signed by both parties, the mediator and the seal).
    agreement = effective_agreement(world, case)
    ws.case_record_agreement(case_id=case.pk, actor=world.mediator_a)
    signing = Agreement.objects.get(pk=agreement.pk).signing_document
    assert signing is not None

    # 5. The worker proves who they are with the case number, the ID number and the SMS code.
    page.goto(f"{live_server.url}/service/documents/")
    page.fill("#id_number", number)
    page.fill("#id_id_number", id_number)
    page.click("button:has-text('获取验证码')")
    page.wait_for_selector("#code-sent")
    assert "如信息无误，验证码已发送至登记的手机号" in page.inner_text("#code-sent")
    (phone, text), = LocmemSmsBackend.outbox
    assert phone == "13805741234" and id_number not in text and "李小红" not in text
    sms_code = "".join(ch for ch in text.split("验证码为")[1][:6])
    page.fill("#id_code", sms_code)
    page.click("button:has-text('确认')")
    page.wait_for_selector(".document-list")
    _fits(page, "documents")
    shot(page, "portal-04-documents")
    with page.expect_download() as download_info:
        page.click(f"a[href='/service/documents/{signing.pk}/download/']")
    data = open(download_info.value.path(), "rb").read()
    assert hashlib.sha256(data).hexdigest() == signing.sha256 and data.startswith(b"%PDF")
    assert violations == []
    context.close()
