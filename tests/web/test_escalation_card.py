"""A request of the escalation queue, written by the ``escalation_card`` tag, shows what the template
card it replaced showed: the same facts, links, badges, words and decision forms, in Chinese and in
English; and the queue's forms still decide."""
from __future__ import annotations

import datetime
import re
from pathlib import Path

import pytest
from django.db import connection
from django.template import Context, Template
from django.test import Client, RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation

from mediation import forms
from mediation.models import Case
from tests.factories import member
from tests.lifecycle import case_in_state
from workflows.clocks import local_today
from workflows.models import EscalationRequest
from workflows.states import CaseState

pytestmark = pytest.mark.django_db

#: The card as the queue's template wrote it before the tag (the reference).
REFERENCE = Template((Path(__file__).parent / "escalation_card_reference.html").read_text())
TAG = Template("{% load mediation_tags %}{% escalation_card item %}")


def tags(html: str) -> str:
    return re.sub(r">\s+<", "><", html).strip()


def items(world, pending: list[EscalationRequest], *, bound: dict | None = None) -> list[dict]:
    """What the queue's view hands its template for each request (``views.work.escalation_queue``)."""
    made = []
    for e in pending:
        form = forms.ApproveEscalationForm(bound, auto_id=f"approve{e.pk}_%s")
        field = forms.field_of(form, "mediators", forms.UsersChoiceField)
        field.choices = [(u.pk, forms.user_label(u)) for u in (world.district_mediator, world.mediator_a)]
        made.append({"e": e, "form": form, "deciders": [world.district_supervisor, world.supervisor_a]})
    return made


def test_each_card_is_written_as_the_template_wrote_it(world):
    case_in_state(world, CaseState.ESCALATION_PENDING)  # a plain request beside the next
    tricky = case_in_state(world, CaseState.ESCALATION_PENDING)
    # Text that must be escaped, a reason over several lines, a deadline past and unconfirmed.
    Case.objects.filter(pk=tricky.pk).update(dispute_summary='拖欠<b>工资</b> & "加班费"',
                                              mediation_due=local_today() - datetime.timedelta(days=2),
                                              deadlines_confirmed=False)
    EscalationRequest.objects.filter(case=tricky).update(reason="第一行\n第二行 <script>x</script>")
    world.enterprise_mediator.first_name, world.enterprise_mediator.last_name = "", "<王>"
    world.enterprise_mediator.save()
    pending = list(EscalationRequest.objects.filter(decision="pending").select_related(
        "case", "from_organisation", "to_organisation", "requested_by").order_by("pk"))
    assert len(pending) == 2
    request = RequestFactory().get("/escalations/")
    for language in ("zh-hans", "en"):
        for bound in (None, {"reason": "", "mediators": ["nobody"]}):  # a form with errors too
            with translation.override(language):
                for item in items(world, pending, bound=bound):
                    context = Context({"item": item, "today": local_today(), "csrf_token": "TOKEN123",
                                       "request": request})
                    with CaptureQueriesContext(connection) as ctx:  # the card reads nothing the view did not
                        written = TAG.render(context)
                    assert ctx.captured_queries == []
                    assert tags(written) == tags(REFERENCE.render(context)), (language, item["e"].pk, bound)
                    assert "TOKEN123" in written and "<script>" not in written


def test_the_queue_page_shows_each_request_and_its_forms_decide(world):
    case = case_in_state(world, CaseState.ESCALATION_PENDING)
    request = EscalationRequest.objects.get(case=case, decision="pending")
    decider = world.district_supervisor
    client = Client(enforce_csrf_checks=True)
    client.force_login(decider)
    page = client.get(reverse("escalation_queue")).content.decode()
    assert case.number in page and request.to_organisation.name in page
    # Both forms carry the session's CSRF token, and the one posted decides the request.
    action = reverse("case_transition", args=[case.pk, "deny_escalation"])
    approve = reverse("case_transition", args=[case.pk, "approve_escalation"])
    found = [re.search(rf'action="{path}" class="stack"><input type="hidden" name="csrfmiddlewaretoken" '
                       r'value="([^"]+)">', page) for path in (approve, action)]
    assert found[0] and found[1]
    token = [found[0].group(1), found[1].group(1)]
    response = client.post(action, {"csrfmiddlewaretoken": token[0], "reason": "证据不足，由企业继续协商",
                                     "expected_state": CaseState.ESCALATION_PENDING})
    assert response.status_code == 302
    request.refresh_from_db()
    assert (request.decision, request.decided_by) == ("denied", decider)
    # A supervisor of the other township sees neither the request nor its forms.
    outsider = member(world.town_b, "supervisor")
    client.force_login(outsider)
    assert case.number not in client.get(reverse("escalation_queue")).content.decode()
