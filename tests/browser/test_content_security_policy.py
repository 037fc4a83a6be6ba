"""The pages work under the Content-Security-Policy: nothing blocked, the scripts still act."""
from __future__ import annotations

from tests.browser.test_case_journey import as_user, browser, pytestmark  # noqa: F401 -- shared fixtures


def test_pages_raise_no_policy_violation_and_the_language_switch_works(world, as_user, live_server):  # noqa: F811
    from mediation.models import CaseParty, PartyRole
    from portal import acknowledgement
    from tests.lifecycle import case_in_state
    from workflows.states import CaseState

    case = case_in_state(world, CaseState.JOINT_MEDIATION)
    # A registered case with a respondent's confirmation link: its panel, and the link's public page.
    registered = case_in_state(world, CaseState.REGISTERED)
    invited = acknowledgement.invitation_create(
        case_id=registered.pk, actor=world.mediator_a, phone="13805742222",
        party_id=CaseParty.objects.get(case=registered, role=PartyRole.RESPONDENT).pk)
    page = as_user(world.supervisor_a)
    violations: list[str] = []
    page.on("console", lambda message: violations.append(message.text)
            if "Content Security Policy" in message.text else None)
    page.add_init_script("document.addEventListener('securitypolicyviolation', e => "
                         "console.error('Content Security Policy: ' + e.violatedDirective + ' ' + e.blockedURI));")
    for path in ("/", "/cases/", f"/cases/{case.pk}/", "/reports/statistics/", "/reports/monthly/",
                 "/reports/ledger/", "/deadlines/", "/escalations/", f"/cases/{registered.pk}/",
                 f"/service/employer/{invited.token}/"):
        response = page.goto(f"{live_server.url}{path}")
        assert response is not None and response.status == 200, path
        assert "script-src 'self'" in response.headers["content-security-policy"]
        # The stylesheet applied: the top bar has the brand colour, not the browser's default.
        assert page.eval_on_selector(".topbar", "e => getComputedStyle(e).backgroundColor") == "rgb(26, 86, 160)"
    # The language switch submits itself from app.js (no inline onchange under the policy).
    with page.expect_navigation():
        page.select_option("#lang-select", "en")
    assert page.get_attribute("html", "lang") == "en"
    assert violations == []
