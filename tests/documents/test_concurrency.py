"""Racing issues on PostgreSQL: one frozen agreement PDF, gapless versions, no orphan files."""
from __future__ import annotations

import pytest
from django.db import connection

from mediation.documents import services
from mediation.documents.models import DocumentKind, IssuedDocument
from mediation.models import Agreement
from tests.documents.conftest import TODAY, rare_case, stored_files
from tests.lifecycle import case_in_state
from tests.workflows.test_concurrency import run_in_threads
from workflows.states import CaseState

postgres_only = pytest.mark.skipif(connection.vendor != "postgresql",
                                   reason="row locks and parallel connections need PostgreSQL")
pytestmark = [postgres_only, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def test_two_people_printing_the_signing_version_at_once_get_the_same_document(world, media):
    """Every original is printed from one registered document: a race must not bind two."""
    case, agreement = rare_case(world)

    def issue(actor):
        return services.document_issue(case_id=case.pk, kind=DocumentKind.AGREEMENT, subject_id=agreement.pk,
                                       actor=actor, stage="signing")

    first, second = run_in_threads(issue, [(world.mediator_a,), (world.supervisor_a,)])
    assert isinstance(first, IssuedDocument) and isinstance(second, IssuedDocument), (first, second)
    agreement.refresh_from_db()
    assert first.pk == second.pk == agreement.signing_document_id
    assert IssuedDocument.objects.filter(case=case, kind=DocumentKind.AGREEMENT).count() == 1
    assert len(stored_files()) == 1  # the loser's bytes were removed


def test_two_people_issuing_an_agreement_signed_without_a_signing_version_get_the_same_frozen_pdf(world, media):
    case, agreement = rare_case(world)
    # As the ledger import leaves it: effective, with no signing version.
    Agreement.objects.filter(pk=agreement.pk).update(status=Agreement.Status.EFFECTIVE, effective_on=TODAY)

    def issue(actor):
        return services.document_issue(case_id=case.pk, kind=DocumentKind.AGREEMENT, subject_id=agreement.pk,
                                       actor=actor)

    first, second = run_in_threads(issue, [(world.mediator_a,), (world.supervisor_a,)])
    assert isinstance(first, IssuedDocument) and isinstance(second, IssuedDocument), (first, second)
    assert first.pk == second.pk and first.frozen
    assert IssuedDocument.objects.filter(case=case, kind=DocumentKind.AGREEMENT).count() == 1
    assert len(stored_files()) == 1  # the loser's bytes were removed


def test_racing_reissues_of_a_notice_get_consecutive_versions(world, media):
    case = case_in_state(world, CaseState.JOINT_MEDIATION)

    def issue(actor):
        return services.document_issue(case_id=case.pk, kind=DocumentKind.ACCEPTANCE_NOTICE, actor=actor)

    results = run_in_threads(issue, [(world.mediator_a,), (world.supervisor_a,), (world.mediator_a2,)])
    assert all(isinstance(r, IssuedDocument) for r in results), results
    assert sorted(r.version for r in results) == [1, 2, 3]
    assert len(stored_files()) == 3
