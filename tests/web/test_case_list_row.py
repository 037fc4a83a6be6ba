"""A row of the case list, written by the ``case_list_row`` tag, shows what the template row it
replaced showed: the same cells, links, badges and words, in Chinese and in English."""
from __future__ import annotations

import datetime
import re
from pathlib import Path

import pytest
from django.db import connection
from django.db.models import Prefetch
from django.template import Context, Template
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from mediation.models import Case, CaseParty, PartyRole
from mediation.selectors import case_list_rows, with_first_applicants
from tests.factories import register
from tests.lifecycle import case_in_state
from workflows.clocks import local_today
from workflows.states import CaseState

pytestmark = pytest.mark.django_db

#: The row as the case list's template wrote it before the tag (the reference).
REFERENCE = Template((Path(__file__).parent / "case_list_row_reference.html").read_text())
TAG = Template("{% load mediation_tags %}{% case_list_row case %}")


def tags(html: str) -> str:
    return re.sub(r">\s+<", "><", html).strip()


def listed(pks: list[int]) -> list[Case]:
    """The cases as the case list reads them (only the columns its rows show, the first applicants'
    names), each also given its applicants as the list read them before (all, in their order), which
    the reference row shows the first two of."""
    cases = with_first_applicants(list(case_list_rows(Case.objects.filter(pk__in=pks)).order_by("pk")))
    applicants = CaseParty.objects.filter(role=PartyRole.APPLICANT).order_by("position")
    before = {case.pk: case for case in Case.objects.filter(pk__in=pks).prefetch_related(
        Prefetch("parties", queryset=applicants, to_attr="applicant_parties"))}
    for case in cases:
        case.applicant_parties = before[case.pk].applicant_parties  # type: ignore[attr-defined]
    return cases


def test_each_kind_of_row_is_written_as_the_template_wrote_it(world):
    registered = register(world.mediator_a, world.town_a)
    crowd = register(world.mediator_a, world.town_a, applicants=4)
    Case.objects.filter(pk=crowd.pk).update(is_collective=True)
    late = register(world.mediator_a, world.town_a)
    Case.objects.filter(pk=late.pk).update(acceptance_due=local_today() - datetime.timedelta(days=3),
                                           deadlines_confirmed=False, is_new_employment_form=True)
    mediated = case_in_state(world, CaseState.JOINT_MEDIATION)
    failed = case_in_state(world, CaseState.MEDIATION_FAILED)
    cases = listed([registered.pk, crowd.pk, late.pk, mediated.pk, failed.pk])
    assert len(cases) == 5
    for language in ("zh-hans", "en"):
        with translation.override(language):
            for case in cases:
                context = Context({"case": case, "today": local_today()})
                with CaptureQueriesContext(connection) as ctx:  # the row reads nothing the list did not
                    written = TAG.render(context)
                assert ctx.captured_queries == []
                assert tags(written) == tags(REFERENCE.render(context)), (language, case.state)
        # Rows written one after another on one page (the words worked out once) are each their own.
        with translation.override(language):
            page = Template("{% load mediation_tags %}{% for case in cases %}{% case_list_row case %}{% endfor %}")
            whole = page.render(Context({"cases": cases, "today": local_today()}))
            one_by_one = "".join(REFERENCE.render(Context({"case": c, "today": local_today()})) for c in cases)
            assert tags(whole) == tags(one_by_one), language
    # And by hand, what the rule asks of three of them: the late one is overdue by three days and
    # its deadline unconfirmed; the crowd is collective with "等4人"; the failed one has no deadline.
    with translation.override("zh-hans"):
        row = {c.pk: TAG.render(Context({"case": c, "today": local_today()})) for c in cases}
    assert "超期 3 天" in row[late.pk] and "待确认" in row[late.pk] and "新业态" in row[late.pk]
    assert "集体" in row[crowd.pk] and "等4人" in row[crowd.pk]
    first, second, *others = CaseParty.objects.filter(case=crowd, role=PartyRole.APPLICANT).order_by("position")
    assert f"<td class=\"c-opt\">{first.name}、{second.name} 等4人</td>" in row[crowd.pk]
    assert len(others) == 2 and all(other.name not in row[crowd.pk] for other in others)
    assert '<td class="nowrap c-due" data-label="期限">—</td>' in row[failed.pk]


def test_a_page_reads_its_applicants_names_in_one_statement(world):
    """The first two applicants by their order on the case (``position``), not as they were entered;
    a case with one applicant names one; one statement for the page, none for no rows."""
    three = register(world.mediator_a, world.town_a, applicants=3)
    one = register(world.mediator_a, world.town_a)
    entered = list(CaseParty.objects.filter(case=three, role=PartyRole.APPLICANT).order_by("pk"))
    for position, party in zip((30, 10, 20), entered, strict=True):  # the second entered is first, the third second
        CaseParty.objects.filter(pk=party.pk).update(position=position)
    cases = list(case_list_rows(Case.objects.filter(pk__in=[three.pk, one.pk])).order_by("pk"))
    with CaptureQueriesContext(connection) as ctx:
        with_first_applicants(cases)
    assert len(ctx.captured_queries) == 1
    named = {case.pk: case.applicant_names for case in cases}
    assert named[three.pk] == [entered[1].name, entered[2].name]
    assert named[one.pk] == list(CaseParty.objects.filter(case=one, role=PartyRole.APPLICANT)
                                 .values_list("name", flat=True))
    with CaptureQueriesContext(connection) as ctx:
        assert with_first_applicants([]) == []
    assert ctx.captured_queries == []


@pytest.mark.parametrize("length", [1, 2, 20, 21, 50, 100, 101, 140])
def test_a_page_of_any_length_names_the_first_two_applicants_of_each_of_its_cases(world, length):
    """The list's pages hold up to 100 rows; each length reads the same names (the statement for the
    next of 20, 50 and 100 rows, the rest filled with ids no case has; a longer list as Django reads it).
    Cases without a row here (ids no case has) name nobody."""
    three = register(world.mediator_a, world.town_a, applicants=3)
    entered = list(CaseParty.objects.filter(case=three, role=PartyRole.APPLICANT).order_by("pk"))
    for position, party in zip((30, 10, 20), entered, strict=True):
        CaseParty.objects.filter(pk=party.pk).update(position=position)
    one = register(world.mediator_a, world.town_a)
    (only,) = CaseParty.objects.filter(case=one, role=PartyRole.APPLICANT).values_list("name", flat=True)
    real = [three, one][:length]
    cases = list(case_list_rows(Case.objects.filter(pk__in=[c.pk for c in real])).order_by("-pk"))
    cases += [Case(pk=10**9 + n) for n in range(length - len(cases))]
    with CaptureQueriesContext(connection) as ctx:
        with_first_applicants(cases)
    assert len(ctx.captured_queries) == 1
    named = {case.pk: case.applicant_names for case in cases}
    assert named.pop(three.pk) == [entered[1].name, entered[2].name]
    if length > 1:
        assert named.pop(one.pk) == [only]
    assert all(names == [] for names in named.values()) and len(named) == length - len(real)


def test_a_case_not_saved_names_nobody_and_reads_nothing_for_itself(world):
    """Django's ``__in`` leaves out an id that is none: such a case names nobody, the others as ever."""
    case = register(world.mediator_a, world.town_a)
    (name,) = CaseParty.objects.filter(case=case, role=PartyRole.APPLICANT).values_list("name", flat=True)
    assert [c.applicant_names for c in with_first_applicants([Case(), Case.objects.get(pk=case.pk)])] == [[], [name]]
    with CaptureQueriesContext(connection) as ctx:
        assert [c.applicant_names for c in with_first_applicants([Case()])] == [[]]
    assert ctx.captured_queries == []


postgres_only = pytest.mark.skipif(connection.vendor != "postgresql", reason="PREPARE is PostgreSQL's")


@postgres_only
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_pages_up_to_twenty_rows_share_one_prepared_statement_and_longer_lists_are_read_as_they_are(world):
    """Up to 20 rows, one statement; 21 to 50 another; beyond 100, Django's own. The case is the page's
    last row: each of its rows is a parameter of the statement read."""
    case = register(world.mediator_a, world.town_a, applicants=3)
    names = list(CaseParty.objects.filter(case=case, role=PartyRole.APPLICANT).order_by("position", "pk")
                 .values_list("name", flat=True))[:2]
    sent = []
    for length in (7, 20, 7, 21, 50, 101):
        cases = [Case(pk=10**9 + n) for n in range(length - 1)] + [Case.objects.get(pk=case.pk)]
        with CaptureQueriesContext(connection) as ctx:
            with_first_applicants(cases)
        assert cases[-1].applicant_names == names and all(c.applicant_names == [] for c in cases[:-1])
        # Each statement sent, up to its name (a PREPARE after the oldest statements it deallocates).
        sent.append([" ".join(q["sql"].split("; ")[-1].split()[:2]).split("(")[0] for q in ctx.captured_queries])
    twenty, fifty = sent[0][0].split()[1], sent[3][0].split()[1]
    assert sent[0] == [f"PREPARE {twenty}", f"EXECUTE {twenty}"]
    assert sent[1] == sent[2] == [f"EXECUTE {twenty}"]
    assert sent[3] == [f"PREPARE {fifty}", f"EXECUTE {fifty}"] and fifty != twenty and sent[4] == [f"EXECUTE {fifty}"]
    assert len(sent[5]) == 1 and not sent[5][0].startswith(("PREPARE", "EXECUTE"))
