"""The case page's history, written by the ``case_timeline`` tag, is what the template loop it replaced
wrote (``case_timeline_reference.html``): the same steps, moments, people, words, links and badges,
escaped alike, in Chinese and in English — on real cases in every state, and on steps made up to
reach every branch (an imported step, an online application, a decided escalation, a corrected
agreement, a scanned signed copy, a document the user may or may not download, text to escape)."""
from __future__ import annotations

import datetime
import re
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.conf import settings
from django.template import Context, Template
from django.test import Client
from django.utils import timezone, translation

from tests.lifecycle import case_in_state
from workflows.states import CaseState

pytestmark = pytest.mark.django_db

#: The history as the case page's template wrote it before the tag (the reference).
REFERENCE = Template((Path(__file__).parent / "case_timeline_reference.html").read_text().rstrip("\n"))
TAG = Template("{% load mediation_tags %}{% case_timeline %}")


def history(html: str) -> str:
    """What the page writes inside ``<ol class="timeline">``."""
    found = re.search(r'<ol class="timeline">\n    (.*?)\n    </ol>', html, re.S)
    assert found, "no history on the page"
    return found.group(1)


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_the_history_of_a_case_in_each_state_is_written_as_the_template_wrote_it(world, language):
    for state in (CaseState.REGISTERED, CaseState.JOINT_MEDIATION, CaseState.ESCALATION_PENDING, CaseState.SETTLED,
                  CaseState.PERFORMED, CaseState.REFERRED, CaseState.CLOSED, CaseState.WITHDRAWN):
        case = case_in_state(world, state)
        client = Client()
        client.force_login(world.district_supervisor)
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = language  # the language switch's choice
        response = client.get(f"/cases/{case.pk}/")
        assert response.status_code == 200 and response.headers["Content-Language"] == language
        context = response.context
        steps = context["timeline"]
        assert len(steps) >= 2 if state != CaseState.REGISTERED else len(steps) == 1
        with translation.override(language):
            expected = REFERENCE.render(Context({"timeline": steps, "case": context["case"],
                                                 "documents": context["documents"]}))
        written = history(response.content.decode())
        assert written == expected, (state, language)
        assert written.count("<li>") == len(steps)


def person(first: str, last: str, username: str) -> SimpleNamespace:
    return SimpleNamespace(get_full_name=lambda: f"{last}{first}".strip(), username=username)


class Document:
    pk = 42

    def __str__(self) -> str:
        return "调解协议书 <第2版>"


def made_up_steps() -> list[dict]:
    """One step of each kind and branch, with text to escape and people with and without names."""
    at = timezone.make_aware(datetime.datetime(2026, 3, 5, 23, 30), datetime.UTC)  # 6 March in Beijing
    named, unnamed = person("明", "<李>", "li"), person("", "", "wang&co")
    org_a, org_b = SimpleNamespace(display_name="甲镇"), SimpleNamespace(display_name='乙"镇"')

    def step(kind: str, obj, who=named) -> dict:
        return {"at": at, "kind": kind, "obj": obj, "who": who}

    return [
        step("registered", None, who=None),
        step("transition", SimpleNamespace(get_from_state_display=lambda: "已登记",
                                           get_to_state_display=lambda: "调解中",
                                           from_organisation_id=1, to_organisation_id=2, from_organisation=org_a,
                                           to_organisation=org_b, reason="理由<一>\n第二行", imported=True)),
        step("transition", SimpleNamespace(get_from_state_display=lambda: "调解中",
                                           get_to_state_display=lambda: "已结案",
                                           from_organisation_id=1, to_organisation_id=1, reason="", imported=False),
             who=unnamed),
        step("session", SimpleNamespace(place="调解室 & 会议室", result="")),
        step("session", SimpleNamespace(place="调解室", result="<达成>一致")),
        step("escalation", SimpleNamespace(to_organisation=org_b, reason="金额<大>", decided_at=None)),
        step("escalation", SimpleNamespace(to_organisation=org_a, reason="复杂", decided_at=at,
                                           get_decision_display=lambda: "批准", decided_by=unnamed,
                                           decision_reason="同意<转>")),
        step("escalation", SimpleNamespace(to_organisation=org_a, reason="复杂", decided_at=at,
                                           get_decision_display=lambda: "不予提级", decided_by=None,
                                           decision_reason="")),
        step("follow_up", SimpleNamespace(content="回访内容" * 20 + "<完>")),
        step("follow_up", SimpleNamespace(content="短")),
        step("attachment", SimpleNamespace(kind="signed_copy", description="签署<原件>", original_name="x.pdf"),
             who=None),
        step("attachment", SimpleNamespace(kind="evidence", description="", original_name="证据<1>.pdf")),
        step("agreement", SimpleNamespace(version=2, supersedes_id=7)),
        step("agreement", SimpleNamespace(version=1, supersedes_id=None)),
        step("signature", SimpleNamespace(get_kind_display=lambda: "签字", signer_name="张<三>",
                                          signed_on=datetime.date(2026, 3, 4))),
        step("document", Document(), who=None),
    ]


@pytest.mark.parametrize("language", ["zh-hans", "en"])
@pytest.mark.parametrize("online", [False, True])
@pytest.mark.parametrize("may_download", [False, True])
def test_every_kind_of_step_is_written_as_the_template_wrote_it(language, online, may_download):
    steps = made_up_steps()
    case = SimpleNamespace(applied_online=online, imported=online, get_application_form_display=lambda: "口头<申请>",
                           get_channel_display=lambda: "来访 & 来电")
    context = {"timeline": steps, "case": case, "documents": {"may_download": may_download}}
    with translation.override(language):
        written = TAG.render(Context(context))
        assert written == REFERENCE.render(Context(context))
    assert written.count("<li>") == len(steps)
    assert "<李>" not in written and "&lt;李&gt;明" in written  # escaped, as the template escaped it
    assert "2026-03-06 07:30" in written  # the moment in the time zone the page is shown in
    assert ('href="/documents/42/' in written) is may_download


def test_a_case_without_steps_says_so():
    with translation.override("zh-hans"):
        written = TAG.render(Context({"timeline": [], "case": None, "documents": {}}))
        assert written == REFERENCE.render(Context({"timeline": [], "case": None, "documents": {}}))
    assert written == "<li>尚无记录</li>"
