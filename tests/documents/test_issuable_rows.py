"""The rows of the case page's documents card, written by the ``issuable_row`` tag, are what the template
row they replaced wrote (``issuable_row_reference.html``), in Chinese and in English: on real cases
(none issued yet, some issued, an agreement's signing version awaiting signatures or in force), and on
rows made up to reach every branch (frozen, superseded, a label, the right to download or not, text
to escape)."""
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

from mediation.documents import services as ds
from mediation.documents.models import DocumentKind
from tests.lifecycle import case_in_state, effective_agreement, print_for_signing
from workflows.states import CaseState

pytestmark = pytest.mark.django_db

#: The rows as the card's template wrote them before the tag (the reference).
REFERENCE = Template((Path(__file__).parent / "issuable_row_reference.html").read_text())
TAG = Template("{% load document_rows %}{% for item in documents.issuable %}{% issuable_row item %}{% endfor %}")


def rows(html: str) -> str:
    found = re.search(r'<section class="card" id="documents".*?<tbody>\n    (.*?)\n    </tbody>', html, re.S)
    assert found, "no documents to issue on the page"
    return found.group(1)


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_the_rows_of_real_cases_are_written_as_the_template_wrote_them(world, language):
    plain = case_in_state(world, CaseState.JOINT_MEDIATION)
    issued = case_in_state(world, CaseState.MEDIATION_FAILED)
    ds.document_issue(case_id=issued.pk, kind=DocumentKind.ACCEPTANCE_NOTICE, actor=world.mediator_a)
    settled = case_in_state(world, CaseState.SETTLED)  # its agreement signed on its signing version
    drafted = case_in_state(world, CaseState.JOINT_MEDIATION)
    print_for_signing(world.mediator_a, effective_agreement(world, drafted))
    for case in (plain, issued, settled, drafted):
        client = Client()
        client.force_login(world.mediator_a)
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
        response = client.get(f"/cases/{case.pk}/")
        assert response.status_code == 200 and response.headers["Content-Language"] == language
        html = response.content.decode()
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', rows(html))
        assert token is not None
        context = response.context
        assert context["documents"]["issuable"], case.state
        with translation.override(language):
            expected = REFERENCE.render(Context({"documents": context["documents"], "case": context["case"],
                                                 "csrf_token": token.group(1)}))
        assert rows(html) == expected, (case.state, language)


class Latest(SimpleNamespace):
    def __init__(self, **kwargs):
        super().__init__(**{"version": 3, "pk": 77, "code_display": "AB12-<CD>", "stage": "issued",
                            "created_at": timezone.make_aware(datetime.datetime(2026, 3, 5, 23, 30), datetime.UTC),
                            "standing": SimpleNamespace(key="issued"), **kwargs})


def made_up_items() -> list[dict]:
    def item(latest=None, stage="", frozen=False, label="") -> dict:
        return {"kind": "agreement" if stage else "acceptance_notice", "kind_label": "调解<协议>书", "subject_id": 12,
                "label": label, "latest": latest, "stage": stage, "frozen": frozen}

    return [
        item(), item(label="第<2>次调解"), item(stage="draft"), item(stage="signing"),
        item(Latest()), item(Latest(), frozen=True), item(Latest(stage="draft"), stage="draft"),
        *(item(Latest(stage="signing", standing=SimpleNamespace(key=key)), stage="signing", frozen=True)
          for key in ("awaiting_signatures", "effective", "superseded")),
    ]


@pytest.mark.parametrize("language", ["zh-hans", "en"])
@pytest.mark.parametrize("may_download", [False, True])
def test_every_kind_of_row_is_written_as_the_template_wrote_it(world, language, may_download):
    case = case_in_state(world, CaseState.REGISTERED)
    items = made_up_items()
    context = {"documents": {"issuable": items, "may_download": may_download}, "case": case, "csrf_token": "T<1>"}
    with translation.override(language):
        written = TAG.render(Context(context))
        assert written == REFERENCE.render(Context(context))
    assert written.count("<tr>") == len(items)
    assert "<协议>" not in written and "AB12-&lt;CD&gt;" in written  # escaped, as the template escaped it
    assert "2026-03-06 07:30" in written  # the moment in the time zone the page is shown in
    assert ('href="/documents/77/' in written) is may_download
    assert written.count(f'action="/documents/cases/{case.pk}/issue/"') == 6  # the four frozen rows have no form
