"""The case page's SQL budget (issue 13: at most 15 queries): the page's own queries, for every role
and however many rows the case has.

What is counted is every statement the view causes — the user's grants, the case, its related
rows, the forms' choices, the template — except the navigation's (the context processors: the
same on every page, counted and budgeted with the navigation). The session and the user that
the middleware reads before the view runs are not the page's either.
"""
from __future__ import annotations

import datetime
import traceback

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from mediation import services as ms
from mediation.models import Case
from tests.lifecycle import accepted, case_in_state, effective_agreement
from workflows import services as ws
from workflows.states import CaseState

#: Issue 13: the case page in at most 15 queries of its own.
PAGE_BUDGET = 15
#: A user whose role lacks a permission the page asks about (a mediator: assigning mediators and
#: extending the deadline; a reader: working the case) may hold it on this one case (django-guardian,
#: docs/permissions.md). Whether they hold any grant on it is asked in the case's own statement;
#: which grants, only when they hold some: the case's grants to the user and to their groups, in
#: one statement.
PER_CASE_GRANTS = 1
#: A read by someone who does not work the case goes on the audit trail (DOMAIN.md §5): the chain's
#: head (on PostgreSQL its lock and last hash in one statement, ``audit_chain_head()``) and its row.
READ_LOGGED = 2
#: Each role's allowance on top of the budget (none of them holds a grant on the case). The
#: auditor's page stays within it, its read's logging included.
ALLOWANCE = {"supervisor_a": 0, "district_supervisor": 0, "mediator_a": 0, "enterprise_mediator": 0,
             "auditor_a": 0}


def page_statements(client, case: Case) -> tuple[list[str], int]:
    """(the page's own SQL statements, how many the navigation ran) for one request of the case page,
    after a first one (which also fills the process's caches: content types, the translation catalogue)."""
    assert client.get(reverse("case_detail", args=[case.pk])).status_code == 200
    own: list[str] = []
    nav = 0

    def count(execute, sql, params, many, context):
        nonlocal nav
        frames = traceback.extract_stack()
        if any(f.filename.endswith("context_processors.py") for f in frames):
            nav += 1
        elif any(f.name == "case_detail" for f in frames):
            own.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(count):
        response = client.get(reverse("case_detail", args=[case.pk]))
    assert response.status_code == 200
    return own, nav


def page_queries(client, case: Case) -> tuple[int, int]:
    """(the page's own queries, the navigation's) for one request of the case page."""
    own, nav = page_statements(client, case)
    return len(own), nav


def with_sessions(world, case: Case, n: int, actor=None) -> None:
    for i in range(n):
        ms.session_record(case_id=case.pk, actor=actor or world.mediator_a, place="调解室",
                          held_at=timezone.now() - datetime.timedelta(days=i), attendees="双方当事人",
                          record="调解记录", result="")


@pytest.fixture
def settled(world):
    """A settled case: an effective agreement with two instalments, signed on its signing version."""
    return case_in_state(world, CaseState.SETTLED)


class TestCasePageBudget:
    @pytest.mark.parametrize("who", ["mediator_a", "supervisor_a", "district_supervisor", "auditor_a"])
    def test_settled_case_with_agreement_and_instalments_is_within_budget(self, world, client, settled, who):
        client.force_login(getattr(world, who))
        own, _nav = page_queries(client, settled)
        assert own <= PAGE_BUDGET + ALLOWANCE[who], f"{who}: {own} queries"

    @pytest.mark.parametrize("who", ["enterprise_mediator", "supervisor_a", "district_supervisor"])
    def test_pending_escalation_with_sessions_is_within_budget(self, world, client, who):
        case = accepted(world, world.enterprise_a)
        with_sessions(world, case, 2, actor=world.enterprise_mediator)
        ws.escalation_request(case_id=case.pk, actor=world.enterprise_mediator, to_organisation_id=world.town_a.pk,
                              reason="企业内部协商未果，涉及金额较大")
        client.force_login(getattr(world, who))
        own, _nav = page_queries(client, case)
        assert own <= PAGE_BUDGET + ALLOWANCE[who], f"{who}: {own} queries"

    def test_a_former_mediator_holding_a_grant_on_the_case_asks_which_once(self, world, client, settled):
        """mediator_b (another township) reads the case by a per-case grant: which grants, one
        statement; not working it, the read is logged."""
        from mediation import permissions

        permissions.grant_case_read(world.mediator_b, settled)
        client.force_login(world.mediator_b)
        own, _nav = page_queries(client, settled)
        assert own <= PAGE_BUDGET + PER_CASE_GRANTS + READ_LOGGED, f"mediator_b: {own} queries"

    @pytest.mark.parametrize("state", [CaseState.REGISTERED, CaseState.JOINT_MEDIATION, CaseState.PERFORMED,
                                       CaseState.REFERRED, CaseState.CLOSED])
    def test_other_states_are_within_budget(self, world, client, state):
        case = case_in_state(world, state)
        client.force_login(world.supervisor_a)
        own, _nav = page_queries(client, case)
        assert own <= PAGE_BUDGET, f"{state}: {own} queries"


class TestQueriesDoNotGrowWithRows:
    def test_more_sessions_instalments_and_history_cost_no_more_queries(self, world, client):
        small = case_in_state(world, CaseState.JOINT_MEDIATION)
        large = case_in_state(world, CaseState.JOINT_MEDIATION)
        with_sessions(world, small, 1)
        with_sessions(world, large, 5)
        effective_agreement(world, small, instalments=1)
        effective_agreement(world, large, instalments=6)
        client.force_login(world.supervisor_a)
        assert page_queries(client, small)[0] == page_queries(client, large)[0]

    def test_tables_without_rows_for_the_case_are_not_read(self, world, client):
        """A registered case has no agreement, session, document … yet: none of those tables is read
        (only asked, with the case, whether it holds rows for it)."""
        bare = case_in_state(world, CaseState.REGISTERED)
        client.force_login(world.supervisor_a)
        statements, _nav = page_statements(client, bare)
        empty = ["mediation_agreement", "mediation_agreementterm", "mediation_instalment", "mediation_signature",
                 "mediation_mediationsession", "mediation_followup", "mediation_referral", "mediation_attachment",
                 "documents_issueddocument", "documents_signedcopy", "workflows_escalationrequest"]
        read = [t for t in empty for sql in statements if sql.startswith(f'SELECT "{t}".')]
        assert read == []
        # … while a case that has them reads them.
        worked = case_in_state(world, CaseState.SETTLED)
        statements, _nav = page_statements(client, worked)
        assert {t for t in ("mediation_agreement", "mediation_instalment", "documents_issueddocument")
                for sql in statements if sql.startswith(f'SELECT "{t}".')} == {
            "mediation_agreement", "mediation_instalment", "documents_issueddocument"}

    def test_relations_without_rows_answer_empty_from_the_case_without_asking(self, world):
        """What the page does instead of an empty prefetch: every question to such a relation is
        answered, empty, without a statement; the relations that hold rows hold them all."""
        from django.test.utils import CaptureQueriesContext

        from mediation.selectors import case_get_for_user
        from mediation.views.cases import _ROWS_EXIST, _case_rows

        bare = case_in_state(world, CaseState.REGISTERED)
        case = case_get_for_user(user=world.supervisor_a, case_id=bare.pk, annotations=_ROWS_EXIST)
        read = _case_rows(case)
        empty = ["issued_documents", "agreements", "transitions", "escalations", "sessions", "follow_ups",
                 "referrals", "attachments", "mediators"]
        with CaptureQueriesContext(connection) as ctx:
            for relation in empty:
                related = getattr(case, relation)
                assert read[relation] == [] and list(related.all()) == [] and list(related.filter(pk__gt=0)) == []
                assert related.count() == 0 and not related.exists()
        assert ctx.captured_queries == []
        # The same tables do hold rows for other cases (so "empty" is the case's, not the table's) …
        worked = case_in_state(world, CaseState.SETTLED)
        assert worked.agreements.exists() and worked.transitions.exists()
        # … and for a case with rows, each relation holds exactly the database's.
        case = case_get_for_user(user=world.supervisor_a, case_id=worked.pk, annotations=_ROWS_EXIST)
        read = _case_rows(case)
        for relation in ("agreements", "transitions", "parties", "issued_documents"):
            assert sorted(r.pk for r in read[relation]) == sorted(
                getattr(worked, relation).values_list("pk", flat=True)), relation
            assert read[relation], relation


class TestConditionsFromTheRowsRead:
    """The page answers the lifecycle's conditions from the rows it read; the answers are the database's."""

    @pytest.mark.parametrize("state, satisfied", [
        (CaseState.JOINT_MEDIATION, None), (CaseState.JOINT_MEDIATION, "record_agreement"),
        (CaseState.SETTLED, None), (CaseState.SETTLED, "confirm_performance"),
        (CaseState.PERFORMED, None), (CaseState.PERFORMED, "close"),
        (CaseState.MEDIATION_FAILED, None), (CaseState.MEDIATION_FAILED, "close"),
        (CaseState.REFERRED, None), (CaseState.REFERRED, "close"),
    ])
    def test_blocked_moves_are_those_whose_conditions_fail(self, world, client, state, satisfied):
        from tests.lifecycle import satisfy_conditions
        from workflows.machine import conditions_met

        case = case_in_state(world, state)
        if satisfied:
            satisfy_conditions(world, case, satisfied)
        client.force_login(world.supervisor_a)
        response = client.get(reverse("case_detail", args=[case.pk]))
        shown = {a["name"]: a["blocked"] is None for a in response.context["action_forms"]}
        assert shown
        fresh = Case.objects.get(pk=case.pk)
        assert shown == {name: conditions_met(fresh, name) for name in shown}
        if satisfied:
            assert shown[satisfied]

    def test_a_move_asks_the_database_not_rows_read_earlier(self, world, settled):
        from django.db.models import Prefetch

        from mediation.models import Agreement
        from tests.lifecycle import pay_all

        case = Case.objects.prefetch_related(Prefetch("agreements", queryset=Agreement.objects.prefetch_related(
            "instalments"))).get(pk=settled.pk)
        assert not case.agreement_fully_paid()
        pay_all(world, case)
        assert not case.agreement_fully_paid()  # the rows read before the payment
        # The move re-reads the case under its lock: the payment counts.
        moved = ws.case_confirm_performance(case_id=case.pk, actor=world.mediator_a)
        assert moved.state == CaseState.PERFORMED
