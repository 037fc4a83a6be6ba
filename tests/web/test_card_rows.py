"""The rows of the home page's and the deadlines page's short lists, written by the ``case_card_row`` and
``task_rows`` tags, show what the template rows they replaced showed: the same cells, links, badges and
words, in Chinese and in English, and read nothing the lists did not."""
from __future__ import annotations

import datetime
import re
from pathlib import Path

import pytest
from django.db import connection
from django.template import Context, Template
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from mediation import services as ms
from mediation.models import Case
from mediation.selectors import case_cards, follow_through
from tests.factories import register
from tests.lifecycle import case_in_state
from workflows.states import CaseState

pytestmark = pytest.mark.django_db

HERE = Path(__file__).parent
#: The rows as the templates wrote them before the tags (the references).
CARD_REFERENCE = Template((HERE / "case_card_row_reference.html").read_text())
TASKS_REFERENCE = Template((HERE / "task_rows_reference.html").read_text())
CARD = Template("{% load mediation_tags %}{% case_card_row case %}")
TASKS = Template("{% load mediation_tags %}{% task_rows tasks %}")
LANGUAGES = ("zh-hans", "en")


def tags(html: str) -> str:
    return re.sub(r">\s+<", "><", html).strip()


def test_each_kind_of_card_is_written_as_the_template_wrote_it(world):
    """Registered (acceptance due 4 Jan 2027, unconfirmed; on 7 Jan three days late), registered online,
    in joint mediation (the mediation period running), ended without a running deadline. The township
    goes by its short name on lists."""
    world.town_a.short_name = "锦屏"
    world.town_a.save()
    late = register(world.mediator_a, world.town_a)
    Case.objects.filter(pk=late.pk).update(acceptance_due=datetime.date(2027, 1, 4), deadlines_confirmed=False)
    online = register(world.mediator_a, world.town_a)
    Case.objects.filter(pk=online.pk).update(applied_online=True)
    mediated = case_in_state(world, CaseState.JOINT_MEDIATION)
    failed = case_in_state(world, CaseState.MEDIATION_FAILED)
    pks = [late.pk, online.pk, mediated.pk, failed.pk]
    cases = list(case_cards(Case.objects.filter(pk__in=pks)).order_by("pk"))  # as the home page reads them
    today = datetime.date(2027, 1, 7)
    for language in LANGUAGES:
        with translation.override(language):
            for case in cases:
                context = Context({"case": case, "today": today})
                with CaptureQueriesContext(connection) as ctx:
                    written = CARD.render(context)
                assert ctx.captured_queries == [], (language, case.state)
                assert tags(written) == tags(CARD_REFERENCE.render(context)), (language, case.state)
            # One page of rows (the words worked out once) is each row as the template wrote it.
            page = Template("{% load mediation_tags %}{% for case in cases %}{% case_card_row case %}{% endfor %}")
            whole = page.render(Context({"cases": cases, "today": today}))
            one_by_one = "".join(CARD_REFERENCE.render(Context({"case": c, "today": today})) for c in cases)
            assert tags(whole) == tags(one_by_one), language
    # And by hand, from the rules: the late one is three calendar days past 4 Jan and unconfirmed; the
    # online one says so; the mediated one shows the mediation period's end; the failed one none.
    with translation.override("zh-hans"):
        row = {c.pk: CARD.render(Context({"case": c, "today": today})) for c in cases}
    assert f'href="/cases/{late.pk}/"' in row[late.pk]
    assert "受理 01-04" in row[late.pk] and "待确认" in row[late.pk] and "超期 3 天" in row[late.pk]
    assert "网上申请" in row[online.pk] and "网上申请" not in row[late.pk]
    due = Case.objects.get(pk=mediated.pk).mediation_due
    assert f"调解 {due:%m-%d}" in row[mediated.pk]
    assert row[failed.pk].endswith('<td class="nowrap c-due" data-label="期限">—</td></tr>')
    assert '<span class="small muted">锦屏</span>' in row[mediated.pk]
    with translation.override("en"):
        english = CARD.render(Context({"case": cases[0], "today": today}))
    assert "受理" not in english and "待确认" not in english


def test_the_follow_through_rows_are_written_as_the_template_wrote_them(world):
    """One case of each list: performed and not visited, referred (on 20 Nov 2026, tests.lifecycle),
    settled with the instalment due 20 Dec 2026 unpaid, and a consultation requested on 30 Dec 2026 with
    no reply: its fifth day is Mon 4 Jan 2027, unconfirmed while 2027's holidays are not published
    (docs/clocks.md). Seen on 8 Jan 2027: the instalment 19 days late, the reply 4."""
    performed = case_in_state(world, CaseState.PERFORMED)
    referred = case_in_state(world, CaseState.REFERRED)
    settled = case_in_state(world, CaseState.SETTLED)
    asked = register(world.mediator_a, world.town_a)
    ms.consultation_record(case_id=asked.pk, actor=world.mediator_a, requested_on=datetime.date(2026, 9, 29),
                           requested_by="worker", outcome="pending", replied_on=None, note="")
    Case.objects.filter(pk=asked.pk).update(consultation_requested_on=datetime.date(2026, 12, 30))  # not yet "today"
    today = datetime.date(2027, 1, 8)
    found = follow_through(user=world.supervisor_a, today=today)
    assert [[c.pk for c in found[k]] for k in ("follow_up", "instalment_overdue", "referral_outcome",
                                               "consultation_reply")] == [[performed.pk], [settled.pk],
                                                                          [referred.pk], [asked.pk]]
    for language in LANGUAGES:
        with translation.override(language):
            context = Context({"tasks": found, "today": today})
            with CaptureQueriesContext(connection) as ctx:
                written = TASKS.render(context)
            assert ctx.captured_queries == [], language
            assert tags(written) == tags(TASKS_REFERENCE.render(context)), language
    with translation.override("zh-hans"):
        rows = TASKS.render(Context({"tasks": found, "today": today})).split("</tr>")[:-1]
    # In the panel's order, each with what it waits for and its date.
    assert [r.split('class="c-task">')[1].split("<")[0] for r in rows] == [
        "待回访", "协议未按期履行", "待登记仲裁或诉讼结果", "协商待答复"]
    assert f'href="/cases/{performed.pk}/#h-followups"' in rows[0]
    assert "应付 12-20" in rows[1] and "超期 19 天" in rows[1] and "待确认" not in rows[1]
    assert "移交 11-20" in rows[2] and "超期" not in rows[2]
    assert "答复 01-04" in rows[3] and "待确认" in rows[3] and "超期 4 天" in rows[3]
    # Nothing waiting: no rows (the template says so itself).
    empty = follow_through(user=world.supervisor_b, today=today)
    assert TASKS.render(Context({"tasks": empty, "today": today})) == ""


MARKUP = "<b>\"宁波'&amp;</b>"


def test_names_with_markup_are_escaped_as_the_template_escaped_them(world):
    """An employer's and an organisation's names of markup, quotes and an entity are written as text, as
    the template wrote them (never as markup): in the card and in the row of the case list."""
    from mediation.models import CaseParty, Employer, PartyRole
    from mediation.selectors import case_list_rows, with_first_applicants

    case = register(world.mediator_a, world.town_a, applicants=2)
    Employer.objects.filter(pk=Case.objects.get(pk=case.pk).employer_id).update(name=MARKUP + "有限公司")
    world.town_a.short_name = MARKUP
    world.town_a.save()
    CaseParty.objects.filter(case=case, role=PartyRole.APPLICANT).update(name=MARKUP)
    card = case_cards(Case.objects.filter(pk=case.pk)).get()
    row = with_first_applicants(list(case_list_rows(Case.objects.filter(pk=case.pk))))[0]
    today = datetime.date(2027, 1, 7)
    for language in LANGUAGES:
        with translation.override(language):
            written = CARD.render(Context({"case": card, "today": today}))
            assert tags(written) == tags(CARD_REFERENCE.render(Context({"case": card, "today": today})))
            assert "<b>" not in written and "&lt;b&gt;&quot;宁波&#x27;&amp;amp;&lt;/b&gt;" in written
            listed = Template("{% load mediation_tags %}{% case_list_row case %}").render(
                Context({"case": row, "today": today}))
            # The two applicants, the employer and the township.
            assert "<b>" not in listed and listed.count("&lt;b&gt;&quot;宁波&#x27;&amp;amp;&lt;/b&gt;") == 4
