"""The read replica (docs/operations.md, "Past one machine"): what reads there and what never does.

The test settings give a second alias, ``replica``, on the same test database (a test mirror of
``default``), as a streaming replica would be; these tests install the router as
``DATABASE_REPLICA_URL`` does and count the queries each connection runs. The tests commit (a
replica only ever sees committed rows).
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connections, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from mediation.db_router import use_replica
from mediation.models import Case
from tests.factories import register
from tests.lifecycle import case_in_state
from workflows.clocks import local_date
from workflows.states import CaseState as S

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True, databases=["default", "replica"])

# The tables that decide who may see what: always read on the primary.
ACCESS_TABLES = ("mediation_membership", "auth_user", "auth_group", "auth_permission", "django_session",
                 "mediation_organisation")


@pytest.fixture
def routed(settings):
    settings.DATABASE_ROUTERS = ["mediation.db_router.ReplicaRouter"]


def tables_read(queries: list[dict[str, str]]) -> str:
    return "\n".join(q["sql"] for q in queries)


def main_table(sql: str) -> str:
    found = re.search(r'\bFROM "([a-z_0-9]+)"', sql)
    return found.group(1) if found else ""


def get(client, url: str, **params: str):
    with CaptureQueriesContext(connections["replica"]) as replica, \
            CaptureQueriesContext(connections["default"]) as default:
        response = client.get(url, params)
    return response, replica.captured_queries, default.captured_queries


def test_the_statistics_page_reads_its_figures_from_the_replica_and_access_from_the_primary(world, client, routed):
    case_in_state(world, S.JOINT_MEDIATION)
    client.force_login(world.supervisor_a)
    response, replica, default = get(client, reverse("reports:statistics"))
    assert response.status_code == 200
    read_there = tables_read(replica)
    assert '"mediation_case"' in read_there
    # Who the user is and what they may see comes from the primary, never from a replica that may lag.
    assert not {main_table(q["sql"]) for q in replica} & set(ACCESS_TABLES)
    assert '"mediation_membership"' in tables_read(default)
    # What the replica counted is what was committed: the case received this month is on the page.
    assert response.context["stats"].totals.received == 1


@pytest.mark.parametrize("name", ["reports:monthly", "reports:ledger_export"])
def test_the_monthly_table_and_the_ledger_export_read_from_the_replica(world, client, routed, name):
    case_in_state(world, S.JOINT_MEDIATION)
    client.force_login(world.supervisor_a)
    response, replica, _default = get(client, reverse(name))
    assert response.status_code == 200
    assert '"mediation_case"' in tables_read(replica)


def test_a_case_page_and_a_write_never_touch_the_replica(world, client, routed):
    case = register(world.mediator_a, world.town_a)
    client.force_login(world.mediator_a)
    response, replica, default = get(client, reverse("case_detail", args=[case.pk]))
    assert response.status_code == 200 and replica == [] and default
    with CaptureQueriesContext(connections["replica"]) as replica_during_write:
        response = client.post(reverse("case_transition", args=[case.pk, "accept"]), {
            "expected_state": "registered", "consent_confirmed": "on", "consent_note": "电话征询，同意调解",
            "consent_recorded_on": local_date(case.received_at).isoformat()})
    assert response.status_code == 302 and replica_during_write.captured_queries == []
    case.refresh_from_db()
    assert case.state == S.JOINT_MEDIATION


def test_the_frame_reads_who_may_see_what_on_the_primary_even_inside_use_replica(world, routed):
    """The frame's one statement reads the user's permissions and grants with the figures: a right
    just taken away must not still show on a replica that lags (mediation/frame.py)."""
    from django.test import RequestFactory

    from mediation import permissions
    from mediation.frame import frame_reads_audit

    case_in_state(world, S.ESCALATION_PENDING)
    request = RequestFactory().get("/")
    request.user = world.auditor_a
    with use_replica(), CaptureQueriesContext(connections["replica"]) as replica, \
            CaptureQueriesContext(connections["default"]) as default:
        assert frame_reads_audit(request) is permissions.may_read_audit(world.auditor_a) is True
    assert replica.captured_queries == [] and "auth_permission" in tables_read(default.captured_queries)


def test_inside_use_replica_writes_and_reads_in_a_writing_transaction_stay_on_the_primary(world, routed):
    case = register(world.mediator_a, world.town_a)
    with CaptureQueriesContext(connections["replica"]) as replica, use_replica():
        assert Case.objects.filter(pk=case.pk).exists()  # a plain read: the replica
        reads_outside = len(replica.captured_queries)
        with transaction.atomic():
            locked = Case.objects.select_for_update().get(pk=case.pk)
            Case.objects.filter(pk=locked.pk).update(reasons="改")
            assert Case.objects.get(pk=case.pk).reasons == "改"  # reads its own write: the primary
    assert reads_outside == 1 and len(replica.captured_queries) == 1
    writes = ("UPDATE", "INSERT", "DELETE")
    assert not any(q["sql"].lstrip().upper().startswith(writes) for q in replica.captured_queries)


def test_without_the_router_the_statistics_page_never_reads_the_replica(world, client):
    case_in_state(world, S.JOINT_MEDIATION)
    client.force_login(world.supervisor_a)
    response, replica, _default = get(client, reverse("reports:statistics"))
    assert response.status_code == 200 and replica == []


@pytest.mark.parametrize("replica_url", [None, "postgres://reader:secret@replica.example:5433/mediation"])
def test_the_settings_add_the_replica_and_its_router_only_when_database_replica_url_is_set(replica_url):
    env = {k: v for k, v in os.environ.items()
           if k not in {"DJANGO_SETTINGS_MODULE", "DATABASE_REPLICA_URL", "DATABASE_URL"}}
    env.update(SECRET_KEY="test-only-not-secret", DATABASE_URL="postgres://writer:secret@primary.example/mediation")
    if replica_url:
        env["DATABASE_REPLICA_URL"] = replica_url
    script = ("import json, mediation.settings as s; "
              "print(json.dumps({'aliases': sorted(s.DATABASES), 'routers': getattr(s, 'DATABASE_ROUTERS', []), "
              "'replica': {k: s.DATABASES.get('replica', {}).get(k) for k in ('HOST', 'PORT', 'NAME', 'USER')}}))")
    found = json.loads(subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True,
                                      text=True, check=True, timeout=60).stdout)
    if replica_url is None:
        assert found["aliases"] == ["default"] and found["routers"] == []
    else:
        assert found["aliases"] == ["default", "replica"]
        assert found["routers"] == ["mediation.db_router.ReplicaRouter"]
        assert found["replica"] == {"HOST": "replica.example", "PORT": 5433, "NAME": "mediation", "USER": "reader"}
