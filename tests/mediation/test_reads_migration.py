"""Migration 0021: the access log's reads go onto the audit trail, each once, and the table goes.

The expectations are the migration's promise (its docstring): every read the trail did not hold is
appended as a ``case.read`` row with its own reader, case, time and purpose; a read the trail held
already (written beside the log's row) is not copied again; the chain still verifies.
"""
from __future__ import annotations

import datetime
import importlib

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from mediation.audit import log, record
from mediation.audit.log import verify
from mediation.audit.models import AuditEvent
from tests.factories import register

BEFORE = [("mediation", "0020_grants_know_whether_the_case_is_closed"), ("audit", "0004_chain_head")]
AFTER = [("mediation", "0021_reads_on_the_audit_trail_only")]
REASON = "由查阅记录（CaseAccessLog）迁入审计日志"
MIGRATION = importlib.import_module("mediation.migrations.0021_reads_on_the_audit_trail_only")


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_access_log_goes_onto_the_trail_once(world, monkeypatch):
    monkeypatch.setattr(MIGRATION, "BATCH", 2)  # the copies written in several batches
    case, other = register(world.mediator_a, world.town_a), register(world.mediator_a, world.town_a)
    try:
        apps = _migrate(BEFORE)
        Access = apps.get_model("mediation", "CaseAccessLog")
        # As on a database migrated before: the model's permission, held by the administrators.
        kind, _ = apps.get_model("contenttypes", "ContentType").objects.get_or_create(
            app_label="mediation", model="caseaccesslog")
        viewing, _ = apps.get_model("auth", "Permission").objects.get_or_create(
            content_type=kind, codename="view_caseaccesslog", defaults={"name": "Can view"})
        apps.get_model("auth", "Group").objects.get(name="administrator").permissions.add(viewing)
        old = timezone.now() - datetime.timedelta(days=40)

        def read(case_id, user, what, at):
            row = Access.objects.create(case_id=case_id, user_id=user.pk, what=what)
            Access.objects.filter(pk=row.pk).update(at=at)  # the field stamps "now" on create

        # Three reads from before the trail existed: on the log only.
        read(case.pk, world.auditor_a, "view", old)
        read(other.pk, world.admin, "admin_view", old + datetime.timedelta(hours=1))
        read(case.pk, world.auditor_a, "documents", old + datetime.timedelta(hours=2))
        # The same reader, case and purpose twenty seconds before the trail's first read: on the log only.
        start = timezone.now()
        read(case.pk, world.auditor_a, "documents", start - datetime.timedelta(seconds=20))
        # A read logged on both, as the pages did since: the trail's row came just after.
        read(case.pk, world.auditor_a, "documents", start)
        record(actor=world.auditor_a, action="case.read", case=case.pk, new={"purpose": "documents"})
        # The same reader, case and purpose once more, on the log only (its trail row failed to match).
        later = timezone.now()
        read(case.pk, world.auditor_a, "documents", later)
        # Another reader's read on the log only (its trail row never written), then two minutes on
        # a read of theirs on both: the trail's row is the later read's, not the earlier one's.
        alone = start + datetime.timedelta(seconds=5)
        read(other.pk, world.auditor_a, "attachments", alone)
        read(other.pk, world.auditor_a, "attachments", start + datetime.timedelta(minutes=2))
        monkeypatch.setattr(log.timezone, "now", lambda: start + datetime.timedelta(minutes=2, milliseconds=3))
        record(actor=world.auditor_a, action="case.read", case=other.pk, new={"purpose": "attachments"})
        monkeypatch.undo()
        monkeypatch.setattr(MIGRATION, "BATCH", 2)
        rows_before = AuditEvent.objects.count()

        _migrate(AFTER)

        copied = list(AuditEvent.objects.filter(reason=REASON).order_by("pk"))
        assert [(e.case_id, e.case_number, e.actor_id, e.actor_name, e.new, e.at) for e in copied] == [
            (case.pk, case.number, world.auditor_a.pk, world.auditor_a.username, {"purpose": "view"}, old),
            (other.pk, other.number, world.admin.pk, world.admin.username, {"purpose": "admin_view"},
             old + datetime.timedelta(hours=1)),
            (case.pk, case.number, world.auditor_a.pk, world.auditor_a.username, {"purpose": "documents"},
             old + datetime.timedelta(hours=2)),
            (case.pk, case.number, world.auditor_a.pk, world.auditor_a.username, {"purpose": "documents"},
             start - datetime.timedelta(seconds=20)),
            (case.pk, case.number, world.auditor_a.pk, world.auditor_a.username, {"purpose": "documents"}, later),
            (other.pk, other.number, world.auditor_a.pk, world.auditor_a.username, {"purpose": "attachments"}, alone),
        ]
        assert AuditEvent.objects.count() == rows_before + 6
        assert all(e.action == "case.read" for e in copied)
        assert verify().ok
        assert "mediation_caseaccesslog" not in connection.introspection.table_names()
        # Nobody holds a permission on a model that is gone (the administrators held "view").
        assert not Permission.objects.filter(content_type__app_label="mediation",
                                             codename__endswith="_caseaccesslog").exists()
    finally:  # back to every app's latest migration, whatever came after 0021
        _migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())
