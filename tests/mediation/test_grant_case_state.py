"""A per-case grant knows its case's state (``CaseUserObjectPermission.case_state``, kept by the database,
mediation/tallies.py), and a list of cases in some states reads only the grants on cases in those states.

The rule, by hand: the grant's ``case_state`` is, at every moment, the state its case is in, whoever wrote
the case or the grant. Who may read what does not change: a list of the cases in some states is the
readable cases in those states — the user's organisations' and the ones granted to them one by one.
"""
from __future__ import annotations

import datetime

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse

from mediation import permissions, tallies
from mediation.models import Case, CaseUserObjectPermission
from mediation.selectors import case_list_visible_to
from tests.factories import register
from tests.lifecycle import accepted, case_in_state
from tests.mediation.test_grant_case_closed import fresh
from workflows import services as ws
from workflows.clocks import local_today
from workflows.states import CaseState as S

pytestmark = pytest.mark.django_db


def kept(user, case) -> str:
    return CaseUserObjectPermission.objects.get(user=user, content_object=case).case_state


def test_the_state_follows_the_case_through_its_life(world):
    case = register(world.mediator_a, world.town_a)
    permissions.grant_case_read(world.mediator_b, case)  # granted while registered
    assert kept(world.mediator_b, case) == "registered"
    ws.case_reject(case_id=case.pk, actor=world.mediator_a, reason="不属于劳动争议受理范围")
    assert kept(world.mediator_b, case) == "rejected"
    ws.case_close(case_id=case.pk, actor=world.supervisor_a, reason="不予受理，归档")
    assert kept(world.mediator_b, case) == "closed"
    ws.case_reopen(case_id=case.pk, actor=world.supervisor_a, reason="发现新的事实，重新审查")
    assert kept(world.mediator_b, case) == "rejected"
    # Through mediation: whatever state the case reaches, the grant says the same.
    mediated = accepted(world, world.town_a)
    permissions.grant_case_read(world.mediator_b, mediated)
    assert kept(world.mediator_b, mediated) == Case.objects.get(pk=mediated.pk).state == "joint_mediation"
    assert tallies.differences() == []


def test_a_grant_on_a_case_in_any_state_knows_it_from_the_start(world):
    for state in (S.PERFORMED, S.SETTLED, S.CLOSED):
        case = case_in_state(world, state)
        permissions.grant_case_read(world.mediator_b, case)
        assert kept(world.mediator_b, case) == state
    assert tallies.differences() == []


def test_writes_around_the_services_keep_the_state_too(world):
    case = register(world.mediator_a, world.town_a)
    other = register(world.mediator_a, world.town_a)
    permissions.grant_case_read(world.mediator_b, case)
    with connection.cursor() as cursor:  # repairs by hand in SQL
        cursor.execute("UPDATE mediation_case SET state = 'withdrawn' WHERE id = %s", [case.pk])
        assert kept(world.mediator_b, case) == "withdrawn"
        cursor.execute("UPDATE mediation_case SET state = 'closed' WHERE id = %s", [case.pk])
        assert kept(world.mediator_b, case) == "closed"
        cursor.execute("UPDATE mediation_case SET state = 'registered' WHERE id = %s", [case.pk])
        assert kept(world.mediator_b, case) == "registered"
    # A stale value written with the grant (Django saves every column) is put right by the database.
    grant = CaseUserObjectPermission.objects.get(user=world.mediator_b, content_object=case)
    grant.case_state = "settled"
    grant.save()
    assert kept(world.mediator_b, case) == "registered"
    CaseUserObjectPermission.objects.filter(pk=grant.pk).update(case_state="settled")
    assert kept(world.mediator_b, case) == "registered"
    # The grant moved to another case (an administrator's correction): the other case's state counts.
    Case.objects.filter(pk=other.pk).update(state=S.WITHDRAWN)
    CaseUserObjectPermission.objects.filter(pk=grant.pk).update(content_object=other)
    assert kept(world.mediator_b, other) == "withdrawn"
    assert tallies.differences() == []


def test_a_list_of_some_states_is_the_readable_cases_in_those_states(world):
    """mediator_b works at town_b; town_a's cases are theirs to read only when granted one by one."""
    mine_registered = register(world.mediator_b, world.town_b)
    mine_mediated = accepted(world, world.town_b)
    granted_registered = register(world.mediator_a, world.town_a)
    granted_mediated = accepted(world, world.town_a)
    granted_settled = case_in_state(world, S.SETTLED)
    not_granted = accepted(world, world.town_a)  # town_a's, never readable by mediator_b
    for case in (granted_registered, granted_mediated, granted_settled):
        permissions.grant_case_read(world.mediator_b, case)
    user = fresh(world.mediator_b)

    def ids(*states: str) -> set[int]:
        return set(case_list_visible_to(user=user, states=states).values_list("pk", flat=True))

    assert ids(S.REGISTERED) == {mine_registered.pk, granted_registered.pk}
    assert ids(S.JOINT_MEDIATION) == {mine_mediated.pk, granted_mediated.pk}
    assert ids(S.REGISTERED, S.JOINT_MEDIATION) == {mine_registered.pk, mine_mediated.pk, granted_registered.pk,
                                                    granted_mediated.pk}
    assert ids(S.SETTLED) == {granted_settled.pk}
    assert ids(S.PERFORMED) == set()
    assert not_granted.pk not in ids(S.JOINT_MEDIATION)
    # What such a list reads of the grants: those on cases in its states alone.
    assert {row["content_object_id"] for row in permissions.granted_case_ids(user, states=(S.SETTLED,))} == {
        granted_settled.pk}
    # The granted registered case is withdrawn: it leaves the registered list and joins the withdrawn one.
    ws.case_withdraw(case_id=granted_registered.pk, actor=world.mediator_a, reason="双方自行和解")
    assert ids(S.REGISTERED) == {mine_registered.pk}
    assert ids(S.WITHDRAWN) == {granted_registered.pk}
    # Someone who reads everything: every case in those states.
    everyone = fresh(world.district_supervisor)
    assert set(case_list_visible_to(user=everyone, states=(S.JOINT_MEDIATION,)).values_list("pk", flat=True)) == {
        mine_mediated.pk, granted_mediated.pk, not_granted.pk}


def test_the_overdue_list_shows_a_granted_case_while_its_clock_runs(world):
    """A case granted to mediator_b (town_a's), being mediated past its mediation deadline, is on their
    overdue list; once settled, its clock stops and it leaves the list (DOMAIN.md: the mediation
    period runs while the case is mediated)."""
    case = accepted(world, world.town_a)
    Case.objects.filter(pk=case.pk).update(mediation_due=local_today() - datetime.timedelta(days=3))
    permissions.grant_case_read(world.mediator_b, case)

    def overdue() -> list[str]:
        client = Client()
        client.force_login(world.mediator_b)
        response = client.get(reverse("home"))
        assert response.status_code == 200
        return [c.number for c in response.context["overdue"]]

    assert overdue() == [case.number]
    Case.objects.filter(pk=case.pk).update(state=S.SETTLED)
    assert overdue() == []
    Case.objects.filter(pk=case.pk).update(state=S.LINKED_MEDIATION)
    assert overdue() == [case.number]


def test_a_grant_written_before_its_case_knows_the_case_state(world):
    """A grant and then its case in one transaction (the foreign key is checked at commit: a fixture, a
    hand-made load): the grant knows the case's state all the same."""
    from django.contrib.auth.models import Permission
    from django.db import transaction

    source = accepted(world, world.town_a)
    view_case = Permission.objects.get(codename="view_case", content_type__app_label="mediation",
                                       content_type__model="case")
    new_id = Case.objects.order_by("-pk").values_list("pk", flat=True)[0] + 1000
    copied = {"id": "%s", "number": "number || '-2'", "sequence_number": "sequence_number + 100000",
              "intake_token": "NULL", "import_key": "NULL"}
    columns = [f.column for f in Case._meta.concrete_fields]
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("INSERT INTO mediation_caseuserobjectpermission (user_id, permission_id, content_object_id) "
                           "VALUES (%s, %s, %s)", [world.mediator_b.pk, view_case.pk, new_id])
            cursor.execute(f"INSERT INTO mediation_case ({', '.join(columns)}) SELECT "
                           f"{', '.join(copied.get(c, c) for c in columns)} FROM mediation_case WHERE id = %s",
                           [new_id, source.pk])
    assert Case.objects.get(pk=new_id).state == "joint_mediation"
    assert CaseUserObjectPermission.objects.get(content_object_id=new_id).case_state == "joint_mediation"


def test_an_older_release_s_triggers_are_put_right_by_the_next_migrate(world):
    """After a rollback, an older release's ``tallies --rebuild`` writes triggers of the same names that
    keep no ``case_state``; the next ``migrate``, even with nothing to apply, installs this code's again."""
    from mediation.apps import _keep_tallies

    case = register(world.mediator_a, world.town_a)
    permissions.grant_case_read(world.mediator_b, case)
    older = (tallies.postgresql_sql(True, state=False) if connection.vendor == "postgresql"
             else tallies.sqlite_sql(True, state=False))
    with connection.cursor() as cursor:
        for sql in older:
            cursor.execute(sql)
    ws.case_reject(case_id=case.pk, actor=world.mediator_a, reason="不属于劳动争议受理范围")
    assert kept(world.mediator_b, case) == "registered"  # the older triggers kept nothing
    _keep_tallies(sender=None, plan=[])  # what `migrate` sends when it has nothing to apply
    assert kept(world.mediator_b, case) == "rejected"  # counted afresh
    ws.case_close(case_id=case.pk, actor=world.supervisor_a, reason="不予受理，归档")
    assert kept(world.mediator_b, case) == "closed"  # and kept again
    assert tallies.ensure_installed(connection) is False
