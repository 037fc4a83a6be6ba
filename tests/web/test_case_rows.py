"""The case page's rows (``views.cases._case_rows``): each relation holds exactly the case's own rows,
in the order the relation gives them, wherever Django's prefetch would put them — whichever case the
process read before (the statements are written once per process and only bound to the case's id).

The expectations are the case's rows as plain querysets read them, one relation at a time.
"""
from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from mediation import services as ms
from mediation.models import AgreementTerm, Case, Instalment, Signature
from mediation.selectors import case_get_for_user
from mediation.views.cases import _ROWS_EXIST, _case_rows
from tests.lifecycle import case_in_state, effective_agreement
from workflows.states import CaseState

pytestmark = pytest.mark.django_db

ORDERED = ("parties", "issued_documents", "agreements", "transitions", "escalations", "sessions", "follow_ups",
           "referrals", "attachments", "claims", "categories")


def expected(case: Case) -> dict[str, list[int]]:
    own = {relation: list(getattr(case, relation).values_list("pk", flat=True)) for relation in ORDERED}
    own["issued_documents"] = list(case.issued_documents.order_by("-created_at", "-pk").values_list("pk", flat=True))
    own["agreements"] = list(case.agreements.order_by("-version").values_list("pk", flat=True))
    own["mediators"] = sorted(case.mediators.values_list("pk", flat=True))
    return own


def nested(agreement) -> dict[str, list[int]]:
    return {"terms": list(AgreementTerm.objects.filter(agreement=agreement).values_list("pk", flat=True)),
            "instalments": list(Instalment.objects.filter(agreement=agreement).values_list("pk", flat=True)),
            "signatures": list(Signature.objects.filter(agreement=agreement).values_list("pk", flat=True))}


def read(world, case: Case) -> tuple[Case, dict]:
    found = case_get_for_user(user=world.supervisor_a, case_id=case.pk, annotations=_ROWS_EXIST)
    return found, _case_rows(found)


@pytest.fixture
def two(world):
    """Two cases with rows of every kind the page lists, none shared: a settled one whose agreement is
    being corrected (versions 1 and 2) and one in joint mediation with an effective agreement of
    three instalments and two sessions."""
    first = case_in_state(world, CaseState.SETTLED)
    ms.agreement_correct(case_id=first.pk, actor=world.mediator_a)
    second = case_in_state(world, CaseState.JOINT_MEDIATION)
    effective_agreement(world, second, instalments=3)
    for i in range(2):
        ms.session_record(case_id=second.pk, actor=world.mediator_a, place="调解室",
                          held_at=timezone.now() - datetime.timedelta(days=i), attendees="双方当事人",
                          record="调解记录", result="")
    return first, second


def test_each_relation_holds_the_case_s_own_rows_whichever_case_was_read_before(world, two):
    first, second = two
    for case in (first, second, first, second):
        found, rows = read(world, case)
        got = {relation: [row.pk for row in rows[relation]] for relation in ORDERED}
        got["mediators"] = sorted(row.pk for row in rows["mediators"])
        assert got == expected(case)
        assert [nested(a) for a in rows["agreements"]] == [
            {"terms": [t.pk for t in a.terms.all()], "instalments": [i.pk for i in a.instalments.all()],
             "signatures": [s.pk for s in a.signatures.all()]} for a in rows["agreements"]]
    assert expected(first)["agreements"] and expected(second)["sessions"]  # the cases have such rows


def test_the_rows_and_what_they_show_are_read_with_them(world, two, django_assert_num_queries):
    """Walking what the page shows of the rows asks nothing more: each row knows its case (or its
    agreement), and what it shows was joined in."""
    found, rows = read(world, two[1])
    with django_assert_num_queries(0):
        assert all(session.case is found for session in found.sessions.all())
        assert all(t.case is found and (t.actor is None or t.actor.username) for t in found.transitions.all())
        for party in found.parties.all():
            assert party.case is found and (party.person or party.employer)
        for agreement in found.agreements.all():
            assert agreement.case is found and agreement.drafted_by.username
            assert all(term.agreement is agreement for term in agreement.terms.all())
            assert all(i.agreement is agreement for i in agreement.instalments.all())
            assert all(s.agreement is agreement and s.recorded_by.username for s in agreement.signatures.all())
        assert len(found.sessions.all()) == 2 and found.sessions.exists() and found.sessions.count() == 2


def test_a_narrower_question_of_a_relation_asks_the_database(world, two, django_assert_num_queries):
    """As after Django's prefetch: a filter on a relation read is a new question, answered by the
    database in the page's order and with what the page joins in."""
    found, rows = read(world, two[1])
    newest = max(rows["sessions"], key=lambda s: s.held_at)
    with django_assert_num_queries(1):
        assert [(s.pk, s.recorded_by.username) for s in found.sessions.filter(pk=newest.pk)] == [
            (newest.pk, world.mediator_a.username)]
    corrected, _rows = read(world, two[0])
    with django_assert_num_queries(0):
        assert [a.version for a in corrected.agreements.all()] == [2, 1]  # newest first, as the page lists them
    with django_assert_num_queries(1):
        assert [(a.version, a.drafted_by.username) for a in corrected.agreements.filter(version__gte=1)] == [
            (2, world.mediator_a.username), (1, world.mediator_a.username)]
    with django_assert_num_queries(1):
        assert [a.version for a in corrected.agreements.reverse()] == [1, 2]
    with django_assert_num_queries(1):
        assert list(found.agreements.exclude(pk__in=[a.pk for a in rows["agreements"]])) == []
    # A relation without rows answers empty without asking.
    with django_assert_num_queries(0):
        assert list(found.referrals.all()) == [] and not found.referrals.exists()
