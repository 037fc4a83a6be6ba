"""A per-case grant knows whether its case is closed (``CaseUserObjectPermission.case_closed``, kept by
the database, mediation/tallies.py), and the lists that never show a closed case read only the
grants on cases not closed.

The rule, by hand: the flag is true exactly while the grant's case is in the state "closed"
(DOMAIN.md §3: 结案; a reopened case is open again), whoever wrote the case or the grant. Who may
read what does not change: a former mediator still reads a closed case granted to them; the lists
of cases not closed are the readable cases less the closed ones.
"""
from __future__ import annotations

import pytest
from django.db import connection

from mediation import permissions, tallies
from mediation.models import Case, CaseUserObjectPermission
from mediation.selectors import case_list_visible_to
from tests.factories import register
from tests.lifecycle import case_in_state
from workflows import services as ws
from workflows.states import CaseState as S

pytestmark = pytest.mark.django_db


def flag(user, case) -> bool:
    return CaseUserObjectPermission.objects.get(user=user, content_object=case).case_closed


def fresh(user):
    permissions.forget_grants(user)
    return user


def test_the_flag_follows_the_case_through_closing_and_reopening(world):
    case = case_in_state(world, S.REJECTED)
    permissions.grant_case_read(world.mediator_b, case)
    assert flag(world.mediator_b, case) is False
    ws.case_close(case_id=case.pk, actor=world.supervisor_a, reason="不予受理，归档")
    assert flag(world.mediator_b, case) is True
    ws.case_reopen(case_id=case.pk, actor=world.supervisor_a, reason="发现新的事实，重新审查")
    assert Case.objects.get(pk=case.pk).state == S.REJECTED
    assert flag(world.mediator_b, case) is False
    assert tallies.differences() == []


def test_a_grant_on_a_case_already_closed_is_flagged_from_the_start(world):
    closed = case_in_state(world, S.CLOSED)
    permissions.grant_case_read(world.mediator_b, closed)
    assert flag(world.mediator_b, closed) is True
    assert tallies.differences() == []


def test_writes_around_the_services_keep_the_flag_too(world):
    case = register(world.mediator_a, world.town_a)
    other = register(world.mediator_a, world.town_a)
    permissions.grant_case_read(world.mediator_b, case)
    with connection.cursor() as cursor:  # a repair by hand in SQL: the case closed, then reopened
        cursor.execute("UPDATE mediation_case SET state = 'closed' WHERE id = %s", [case.pk])
        assert flag(world.mediator_b, case) is True
        cursor.execute("UPDATE mediation_case SET state = 'registered' WHERE id = %s", [case.pk])
        assert flag(world.mediator_b, case) is False
        cursor.execute("UPDATE mediation_case SET state = 'closed' WHERE id = %s", [case.pk])
    # A stale value written with the grant (Django saves every column) is put right by the database.
    grant = CaseUserObjectPermission.objects.get(user=world.mediator_b, content_object=case)
    grant.case_closed = False
    grant.save()
    assert flag(world.mediator_b, case) is True
    CaseUserObjectPermission.objects.filter(pk=grant.pk).update(case_closed=False)
    assert flag(world.mediator_b, case) is True
    # The grant moved to another case (an administrator's correction): the other case's state counts.
    CaseUserObjectPermission.objects.filter(pk=grant.pk).update(content_object=other)
    assert flag(world.mediator_b, other) is False
    assert tallies.differences() == []


@pytest.mark.parametrize(("column", "wrong", "right"), [("case_closed", False, True),
                                                        ("case_state", "registered", "closed")])
def test_a_flag_gone_wrong_is_found_and_a_rebuild_puts_it_right(world, column, wrong, right):
    """The same for the grant's other kept column, its case's state (``case_state``)."""
    closed = case_in_state(world, S.CLOSED)
    permissions.grant_case_read(world.mediator_b, closed)
    tallies.uninstall()  # e.g. a restore without the triggers: nothing keeps the flag any more
    try:
        CaseUserObjectPermission.objects.update(**{column: wrong})
        grant = CaseUserObjectPermission.objects.get(user=world.mediator_b)
        assert tallies.differences() == [f"grant {grant.pk}: {column} is out of date"]
        tallies.rebuild()
        grant.refresh_from_db()
        assert getattr(grant, column) == right
        assert tallies.differences() == []
    finally:
        assert tallies.ensure_installed(connection) is True


def test_lists_of_cases_not_closed_are_the_readable_cases_less_the_closed_ones(world):
    """mediator_b works at town_b; two cases of town_a are granted to them one by one."""
    mine_open = register(world.mediator_b, world.town_b)
    mine_closed = register(world.mediator_b, world.town_b)
    ws.case_reject(case_id=mine_closed.pk, actor=world.mediator_b, reason="不属于劳动争议受理范围")
    ws.case_close(case_id=mine_closed.pk, actor=world.supervisor_b, reason="不予受理，归档")
    granted_open = case_in_state(world, S.REJECTED)
    granted_closed = case_in_state(world, S.CLOSED)
    elsewhere = case_in_state(world, S.CLOSED)  # in town_a, not granted: never readable
    for case in (granted_open, granted_closed):
        permissions.grant_case_read(world.mediator_b, case)
    user = fresh(world.mediator_b)

    def ids(**kwargs) -> set[int]:
        return set(case_list_visible_to(user=user, **kwargs).values_list("pk", flat=True))

    assert ids() == {mine_open.pk, mine_closed.pk, granted_open.pk, granted_closed.pk}
    assert ids(closed=False) == {mine_open.pk, granted_open.pk}
    assert elsewhere.pk not in ids()
    # What such a list reads of the grants: those on cases not closed alone.
    def granted(**kwargs) -> set[int]:
        return {row["content_object_id"] for row in permissions.granted_case_ids(user, **kwargs)}

    assert granted() == {granted_open.pk, granted_closed.pk}
    assert granted(closed=False) == {granted_open.pk}
    # The granted case, once closed, is still read whole (its page, the case list); it only leaves
    # the lists of cases not closed. Reopened, it is back.
    ws.case_close(case_id=granted_open.pk, actor=world.supervisor_a, reason="不予受理，归档")
    assert ids() == {mine_open.pk, mine_closed.pk, granted_open.pk, granted_closed.pk}
    assert ids(closed=False) == {mine_open.pk}
    assert permissions.may_view_case(user, Case.objects.get(pk=granted_open.pk))
    ws.case_reopen(case_id=granted_open.pk, actor=world.supervisor_a, reason="发现新的事实，重新审查")
    assert ids(closed=False) == {mine_open.pk, granted_open.pk}
    # Someone who reads everything: every case not closed, and no closed one.
    everyone = fresh(world.district_supervisor)
    assert set(case_list_visible_to(user=everyone, closed=False).values_list("pk", flat=True)) == set(
        Case.objects.exclude(state=S.CLOSED).values_list("pk", flat=True))
    assert Case.objects.exclude(state=S.CLOSED).count() == 2  # mine_open and granted_open, by hand



def test_a_case_list_filtered_by_state_finds_the_granted_cases_of_that_state(world):
    """A state filter other than closed leaves the closed cases out by itself (and the grants on them
    are then not read); filtering for closed cases finds the granted closed ones too."""
    from mediation.selectors import CaseFilters

    mine_closed = case_in_state(world, S.CLOSED)
    granted_open = case_in_state(world, S.REJECTED)
    granted_closed = case_in_state(world, S.CLOSED)
    for case in (granted_open, granted_closed):
        permissions.grant_case_read(world.mediator_b, case)
    mine = register(world.mediator_b, world.town_b)
    user = fresh(world.mediator_b)

    def ids(**filters) -> set[int]:
        return set(case_list_visible_to(user=user, filters=CaseFilters(**filters)).values_list("pk", flat=True))

    assert ids() == {mine.pk, granted_open.pk, granted_closed.pk}
    assert ids(state=S.REJECTED) == {granted_open.pk}
    assert ids(state=S.CLOSED) == {granted_closed.pk}
    assert ids(state=S.REGISTERED) == {mine.pk}
    assert mine_closed.pk not in ids()  # town_a's, not granted


def test_someone_signed_out_or_switched_off_finds_no_case(world):
    from django.contrib.auth.models import AnonymousUser
    from django.http import Http404

    from mediation.selectors import case_get_for_user

    case = register(world.mediator_a, world.town_a)
    off = fresh(world.mediator_a)
    off.is_active = False
    for user in (AnonymousUser(), off):
        with pytest.raises(Http404):
            case_get_for_user(user=user, case_id=case.pk)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="two transactions at once need PostgreSQL")
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_grant_written_while_its_case_is_reopened_knows_the_case_is_open(world):
    """A writer around the services reopens a closed case in one transaction; another grants it to
    mediator_b meanwhile: once both have committed, the grant says the case is open."""
    from django.contrib.auth.models import Permission
    from django.db import transaction

    from tests.concurrency import Elsewhere

    closed = case_in_state(world, S.CLOSED)
    view_case = Permission.objects.get(codename="view_case", content_type__app_label="mediation",
                                       content_type__model="case")

    def grant() -> None:
        with transaction.atomic():
            CaseUserObjectPermission.objects.create(user=world.mediator_b, permission=view_case,
                                                    content_object_id=closed.pk)

    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("UPDATE mediation_case SET state = 'rejected' WHERE id = %s", [closed.pk])
        other = Elsewhere(grant)
        # The grant waits for the reopening: it has not gone through while that is uncommitted.
        assert not other.done.wait(1.0)
    other.finish()
    assert flag(world.mediator_b, closed) is False
    assert CaseUserObjectPermission.objects.get(user=world.mediator_b, content_object=closed).case_state == "rejected"
    assert tallies.differences() == []
