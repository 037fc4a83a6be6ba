"""The trail is a chain: each row carries the SHA-256 of the one before; an edit is found and named."""
from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, transaction
from django.db.models.deletion import ProtectedError

from mediation.audit import record
from mediation.audit.log import verify
from mediation.audit.models import GENESIS, AuditEvent
from mediation.models import Case
from tests.factories import register
from workflows import services as ws

postgres_only = pytest.mark.skipif(connection.vendor != "postgresql", reason="the trigger exists on PostgreSQL only")
sqlite_only = pytest.mark.skipif(connection.vendor != "sqlite", reason="PostgreSQL refuses the edit itself")


def _three_rows(user) -> list[AuditEvent]:
    return [record(actor=user, action="test.event", new={"n": n}) for n in range(3)]


def test_each_row_carries_the_hash_of_the_row_before(world):
    first, second, third = _three_rows(world.mediator_a)

    assert second.prev_hash == first.hash
    assert third.prev_hash == second.hash
    assert len({first.hash, second.hash, third.hash}) == 3
    oldest = AuditEvent.objects.order_by("pk").first()
    assert oldest is not None and oldest.prev_hash == GENESIS


def test_an_intact_chain_verifies(world, capsys):
    register(world.mediator_a, world.town_a)
    _three_rows(world.mediator_a)

    call_command("verify_audit")

    out = capsys.readouterr().out
    assert "audit chain intact" in out
    assert f"{AuditEvent.objects.count()} row(s)" in out
    assert verify().ok


@sqlite_only
def test_an_altered_row_is_named_by_verify_audit(world):
    rows = _three_rows(world.mediator_a)
    altered = rows[1]
    with connection.cursor() as cursor:
        cursor.execute("UPDATE audit_auditevent SET reason = %s WHERE id = %s", ["改过", altered.pk])

    with pytest.raises(CommandError) as refused:
        call_command("verify_audit")

    assert f"broken at row {altered.pk}" in str(refused.value)
    assert "altered" in str(refused.value)
    assert refused.value.returncode == 1


@sqlite_only
def test_a_removed_row_breaks_the_link_of_the_row_after_it(world):
    rows = _three_rows(world.mediator_a)
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM audit_auditevent WHERE id = %s", [rows[1].pk])

    result = verify()

    assert (result.ok, result.broken_at, result.problem) == (False, rows[2].pk, "prev_hash")


@sqlite_only
def test_a_rehashed_row_still_breaks_the_chain_at_the_next_row(world):
    """Editing a row and recomputing its own hash is not enough: the next row holds the old one."""
    from mediation.audit.log import row_hash

    rows = _three_rows(world.mediator_a)
    forged = AuditEvent.objects.get(pk=rows[0].pk)
    forged.new = {"n": 99}
    with connection.cursor() as cursor:
        cursor.execute("UPDATE audit_auditevent SET new = %s, hash = %s WHERE id = %s",
                       ['{"n": 99}', row_hash(forged), forged.pk])

    result = verify()

    assert (result.broken_at, result.problem) == (rows[1].pk, "prev_hash")


@postgres_only
@pytest.mark.postgres
@pytest.mark.parametrize("statement", [
    "UPDATE audit_auditevent SET reason = 'x'",
    "DELETE FROM audit_auditevent",
    "TRUNCATE audit_auditevent",
])
def test_postgresql_refuses_to_change_or_remove_audit_rows(world, statement):
    _three_rows(world.mediator_a)
    before = list(AuditEvent.objects.order_by("pk").values_list("pk", "reason", "hash"))

    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(statement)

    assert list(AuditEvent.objects.order_by("pk").values_list("pk", "reason", "hash")) == before
    assert verify().ok


@postgres_only
@pytest.mark.postgres
def test_the_orm_cannot_delete_audit_rows_on_postgresql(world):
    _three_rows(world.mediator_a)

    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEvent.objects.all().delete()

    assert AuditEvent.objects.count() >= 3


# --- history keeps its case ------------------------------------------------------------------------

def test_a_case_with_history_cannot_be_hard_deleted(world):
    case = register(world.mediator_a, world.town_a)
    ws.case_accept(case_id=case.pk, actor=world.mediator_a)

    with pytest.raises(ProtectedError):
        Case.objects.get(pk=case.pk).delete()

    assert Case.objects.filter(pk=case.pk).exists()
    assert case.transitions.count() == 1


def test_a_read_by_an_auditor_is_one_row_of_the_chain(world):
    """Every view of a case by an auditor is logged (DOMAIN.md §5): who, which case (by id and by
    number, so the row outlives it), when, for what — one row, chained like every other."""
    from mediation.selectors import case_get_for_user

    case = register(world.mediator_a, world.town_a)
    before = AuditEvent.objects.order_by("-pk").first()
    case_get_for_user(user=world.auditor_a, case_id=case.pk, purpose="documents")

    read = AuditEvent.objects.get(action="case.read")
    assert (read.actor_id, read.actor_name, read.case_id, read.case_number, read.new) == (
        world.auditor_a.pk, world.auditor_a.username, case.pk, case.number, {"purpose": "documents"})
    assert before is not None and read.prev_hash == before.hash
    assert verify().ok


def test_a_read_the_trail_cannot_take_is_not_served(world, monkeypatch):
    """A read that cannot be logged is refused with an error, never served unlogged."""
    from mediation.audit import log
    from mediation.selectors import case_get_for_user

    case = register(world.mediator_a, world.town_a)

    def refused(**kwargs):
        raise DatabaseError("the trail refused the row")

    monkeypatch.setattr(log, "record", refused)
    with pytest.raises(DatabaseError):
        case_get_for_user(user=world.auditor_a, case_id=case.pk)
    assert not AuditEvent.objects.filter(action="case.read").exists()
    monkeypatch.undo()
    case_get_for_user(user=world.auditor_a, case_id=case.pk)
    assert AuditEvent.objects.filter(case_id=case.pk, action="case.read", actor_id=world.auditor_a.pk).count() == 1


@postgres_only
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_writers_at_once_chain_one_after_the_other(world):
    """A row written while another transaction's row is uncommitted waits for it and chains onto
    it: the chain never forks, whichever writer reads the head first."""
    from tests.concurrency import Elsewhere

    with transaction.atomic():
        first = record(actor=world.mediator_a, action="test.first")
        other = Elsewhere(lambda: record(actor=world.mediator_b, action="test.second"))
        # The other writer waits for the chain while this transaction holds it.
        assert not other.done.wait(1.0)
    second = other.finish()
    assert second.prev_hash == first.hash
    assert verify().ok


def test_the_demo_reset_leaves_the_trail_of_the_cases_it_deletes(db):
    from mediation.demo import seed as demo

    call_command("seed_demo", stdout=io.StringIO(), verbosity=0)
    demo_cases = set(Case.objects.values_list("pk", flat=True))
    trail = set(AuditEvent.objects.filter(case_id__in=demo_cases).values_list("pk", "hash"))
    assert trail

    demo.wipe_demo()

    assert not Case.objects.filter(pk__in=demo_cases).exists()
    assert trail <= set(AuditEvent.objects.values_list("pk", "hash"))
    assert verify().ok
