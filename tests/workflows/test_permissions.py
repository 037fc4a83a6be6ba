"""Permitted/denied pairs for each role and transition, including users of another township."""
from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied

from mediation import permissions
from mediation.selectors import case_list_visible_to
from tests.factories import member, reads_logged, register
from tests.lifecycle import act, case_in_state, satisfy_conditions, snapshot
from workflows import services as ws
from workflows.states import CaseState as S

# transition → the state a town_a case is in when the transition applies
SOURCE = {
    "accept": S.REGISTERED, "reject": S.REGISTERED, "withdraw": S.REGISTERED,
    "request_escalation": S.JOINT_MEDIATION, "terminate": S.JOINT_MEDIATION,
    "record_agreement": S.JOINT_MEDIATION, "confirm_performance": S.SETTLED,
    "report_nonperformance": S.SETTLED, "refer": S.MEDIATION_FAILED,
    "approve_escalation": S.ESCALATION_PENDING, "deny_escalation": S.ESCALATION_PENDING,
    "close": S.REJECTED, "reopen": S.CLOSED, "cancel_escalation": S.ESCALATION_PENDING,
}
MEDIATOR_WORK = {"accept", "reject", "withdraw", "request_escalation", "terminate", "record_agreement",
                 "confirm_performance", "report_nonperformance", "refer"}
SUPERVISOR_ONLY = {"approve_escalation", "deny_escalation", "close", "reopen"}

ACTORS = ["mediator_a", "supervisor_a", "district_supervisor", "district_mediator", "mediator_b",
          "supervisor_b", "auditor_a", "admin", "enterprise_mediator", "enterprise_supervisor"]


def expected_allowed(name: str, actor: str) -> bool:
    if name == "cancel_escalation":
        return actor == "enterprise_mediator"  # whoever made the request (case_in_state's), nobody else
    if actor in {"supervisor_a", "district_supervisor"}:
        return True  # the case's (or the escalation target's) organisation is in their subtree
    if actor == "mediator_a":
        return name in MEDIATOR_WORK
    return False  # another township, another level, read-only roles


PAIRS = [(name, actor) for name in SOURCE for actor in ACTORS]


@pytest.mark.parametrize(("name", "actor"), PAIRS, ids=lambda v: str(v))
def test_role_and_scope_decide_who_may_make_each_move(world, name, actor):
    case = case_in_state(world, SOURCE[name])
    satisfy_conditions(world, case, name)
    user = getattr(world, actor)
    if name == "request_escalation":
        # Someone besides the requester must be able to decide (else the request is refused
        # up front, tested on its own): a second supervisor at the district centre.
        member(world.district, "supervisor")
    if expected_allowed(name, actor):
        after = act(world, case, name, actor=user)
        assert after.state != SOURCE[name]
        log = after.transitions.order_by("-pk").first()
        assert log is not None and log.actor == user
    else:
        before = snapshot(case)
        with pytest.raises(PermissionDenied) as excinfo:
            act(world, case, name, actor=user)
        assert "权限" in str(excinfo.value)
        assert snapshot(case) == before


def test_nobody_approves_their_own_escalation_request(world):
    case = case_in_state(world, S.JOINT_MEDIATION)
    colleague = member(world.district, "supervisor")  # someone else can decide: the request is admissible
    # A district supervisor may work a township case (subtree) and ask to take it up…
    ws.escalation_request(case_id=case.pk, actor=world.district_supervisor, to_organisation_id=world.district.pk,
                          reason="涉及多家企业，需区级联动")
    before = snapshot(case)
    # …but may not approve or deny their own request.
    for decide in (ws.escalation_approve, ws.escalation_deny):
        with pytest.raises(PermissionDenied):
            decide(case_id=case.pk, actor=world.district_supervisor, reason="同意")
    assert snapshot(case) == before
    after = ws.escalation_approve(case_id=case.pk, actor=colleague)
    assert after.state == S.LINKED_MEDIATION and after.organisation == world.district


def test_former_mediators_keep_read_access_after_escalation(world):
    case = case_in_state(world, S.ESCALATION_PENDING)
    ws.escalation_approve(case_id=case.pk, actor=world.supervisor_a)
    assert case_list_visible_to(user=world.enterprise_mediator).filter(pk=case.pk).exists()
    # read access is not the right to act: the case now belongs to the township
    with pytest.raises(PermissionDenied):
        ws.case_terminate(case_id=case.pk, actor=world.enterprise_mediator, reason="调解不成")
    assert case_list_visible_to(user=world.mediator_a).filter(pk=case.pk).exists()


class TestVisibility:
    def test_mediator_sees_only_their_organisations_cases(self, world):
        mine = register(world.mediator_a, world.town_a)
        other_town = register(world.mediator_b, world.town_b)
        below = register(world.enterprise_mediator, world.enterprise_a)
        visible = set(case_list_visible_to(user=world.mediator_a).values_list("pk", flat=True))
        assert mine.pk in visible
        assert other_town.pk not in visible
        assert below.pk not in visible

    def test_supervisor_and_auditor_see_their_subtree_only(self, world):
        town = register(world.mediator_a, world.town_a)
        below = register(world.enterprise_mediator, world.enterprise_a)
        other_town = register(world.mediator_b, world.town_b)
        for user in (world.supervisor_a, world.auditor_a):
            visible = set(case_list_visible_to(user=user).values_list("pk", flat=True))
            assert {town.pk, below.pk} <= visible
            assert other_town.pk not in visible

    def test_district_administrator_and_supervisor_see_everything(self, world):
        cases = [register(world.mediator_a, world.town_a), register(world.mediator_b, world.town_b)]
        for user in (world.admin, world.district_supervisor):
            assert case_list_visible_to(user=user).filter(pk__in=[c.pk for c in cases]).count() == 2

    def test_supervisor_sees_a_case_waiting_to_escalate_into_their_organisation(self, world):
        case = case_in_state(world, S.ESCALATION_PENDING)  # enterprise_a → town_a
        assert case_list_visible_to(user=world.supervisor_a).filter(pk=case.pk).exists()
        assert not case_list_visible_to(user=world.supervisor_b).filter(pk=case.pk).exists()

    def test_user_without_membership_or_inactive_sees_nothing(self, world):
        from tests.factories import UserFactory

        register(world.mediator_a, world.town_a)
        assert not case_list_visible_to(user=UserFactory()).exists()
        world.mediator_a.is_active = False
        world.mediator_a.save()
        permissions.forget_grants(world.mediator_a)  # what the next request's fresh user object would hold
        assert not case_list_visible_to(user=world.mediator_a).exists()

    def test_auditor_reads_are_logged(self, world):
        from mediation.audit.models import AuditEvent
        from mediation.selectors import case_get_for_user

        case = register(world.mediator_a, world.town_a)
        case_get_for_user(user=world.auditor_a, case_id=case.pk)
        case_get_for_user(user=world.mediator_a, case_id=case.pk)
        reads = AuditEvent.objects.filter(action="case.read", case_id=case.pk)
        assert list(reads.values_list("actor_id", "new")) == [(world.auditor_a.pk, {"purpose": "view"})]

    def test_case_outside_scope_is_not_found(self, world):
        from django.http import Http404

        from mediation.selectors import case_get_for_user

        case = register(world.mediator_a, world.town_a)
        with pytest.raises(Http404):
            case_get_for_user(user=world.mediator_b, case_id=case.pk)


def test_mediator_cannot_register_in_another_township(world):
    from mediation.models import Case

    with pytest.raises(PermissionDenied):
        register(world.mediator_b, world.town_a)
    assert not Case.objects.exists()


def test_migrated_role_groups_match_the_documented_defaults(db):
    from django.contrib.auth.models import Group

    from mediation.permissions import ROLE_PERMISSIONS

    for role, codenames in ROLE_PERMISSIONS.items():
        granted = set(Group.objects.get(name=role).permissions.filter(content_type__app_label="mediation")
                      .values_list("codename", flat=True))
        assert set(codenames) <= granted


def test_an_administrator_below_the_district_reads_only_their_subtree(world):
    from mediation.models import Role

    town_admin = member(world.town_a, Role.ADMINISTRATOR)
    mine = register(world.mediator_a, world.town_a)
    other = register(world.mediator_b, world.town_b)
    visible = set(case_list_visible_to(user=town_admin).values_list("pk", flat=True))
    assert mine.pk in visible and other.pk not in visible


def test_approver_assigns_the_target_organisations_mediators_in_the_same_step(world):
    import pytest as _pytest
    from django.core.exceptions import ValidationError

    case = case_in_state(world, S.ESCALATION_PENDING)
    with _pytest.raises(ValidationError):
        ws.escalation_approve(case_id=case.pk, actor=world.supervisor_a, mediators=[world.mediator_b])
    case.refresh_from_db()
    assert case.state == S.ESCALATION_PENDING  # the refused assignment undid the approval too
    after = ws.escalation_approve(case_id=case.pk, actor=world.supervisor_a, mediators=[world.mediator_a])
    assert list(after.mediators.all()) == [world.mediator_a]


def test_a_request_nobody_but_the_requester_could_decide_is_refused_up_front(world):
    """Issue 10 §4: the district supervisor is the only supervisor of the district centre. Were he to
    ask to move a township case up to it, nobody could decide (nobody decides their own request) and the
    case would wait for ever: refused at once, with the reason, nothing changed."""
    from django.core.exceptions import ValidationError

    case = case_in_state(world, S.JOINT_MEDIATION)  # at 锦屏, inside the district supervisor's subtree
    before = snapshot(case)
    with pytest.raises(ValidationError) as excinfo:
        ws.escalation_request(case_id=case.pk, actor=world.district_supervisor,
                              to_organisation_id=world.district.pk, reason="需区级联动")
    message = excinfo.value.message_dict["to_organisation"][0]
    assert "除您之外没有可以审批的负责人" in message and world.district.name in message
    assert snapshot(case) == before
    # The same request by the township's mediator is admissible: the district supervisor decides it.
    ws.escalation_request(case_id=case.pk, actor=world.mediator_a, to_organisation_id=world.district.pk,
                          reason="需区级联动")
    case.refresh_from_db()
    assert case.state == S.ESCALATION_PENDING


def test_the_deciders_of_an_escalation_are_the_supervisors_covering_the_target(world):
    """Who may decide a request into an organisation (DOMAIN.md §5): supervisors of it or of an
    organisation above it, active, never the requester; not mediators, auditors or administrators,
    not supervisors of a sibling or of an organisation below."""
    from mediation.permissions import escalation_deciders, escalation_deciders_by_organisation

    assert set(escalation_deciders(world.town_a)) == {world.supervisor_a, world.district_supervisor}
    assert set(escalation_deciders(world.town_a, exclude=world.supervisor_a)) == {world.district_supervisor}
    assert set(escalation_deciders(world.district)) == {world.district_supervisor}
    assert not escalation_deciders(world.district, exclude=world.district_supervisor).exists()
    assert set(escalation_deciders(world.enterprise_a)) == {
        world.enterprise_supervisor, world.supervisor_a, world.district_supervisor}
    by_target = escalation_deciders_by_organisation([world.town_a, world.district, world.enterprise_a])
    assert {pk: set(users) for pk, users in by_target.items()} == {
        world.town_a.pk: {world.supervisor_a, world.district_supervisor},
        world.district.pk: {world.district_supervisor},
        world.enterprise_a.pk: {world.enterprise_supervisor, world.supervisor_a, world.district_supervisor}}
    world.supervisor_a.is_active = False
    world.supervisor_a.save()
    assert set(escalation_deciders(world.town_a)) == {world.district_supervisor}


class TestCachedReachFollowsTheAccount:
    """What a user may read is built once per user object; it must still follow the account."""

    def test_an_account_switched_off_reads_nothing_at_once_on_the_same_object(self, world):
        register(world.mediator_a, world.town_a)
        user = world.mediator_a
        assert case_list_visible_to(user=user).count() == 1
        user.is_active = False
        assert not case_list_visible_to(user=user).exists()

    def test_forgetting_the_rights_of_a_lazy_request_user_reaches_the_user_it_wraps(self, world):
        from django.contrib.auth import get_user_model
        from django.utils.functional import SimpleLazyObject

        from mediation.models import Membership, Role

        register(world.mediator_a, world.town_a)
        for _ in range(2):
            register(world.mediator_b, world.town_b)
        lazy = SimpleLazyObject(lambda: world.mediator_a)  # what request.user is on a web request
        assert case_list_visible_to(user=lazy).count() == 1
        # Granted elsewhere (the admin site works on its own copy of the user) …
        elsewhere = get_user_model().objects.get(pk=world.mediator_a.pk)
        Membership.objects.create(user=elsewhere, organisation=world.town_b, role=Role.MEDIATOR)
        permissions.sync_role_groups(elsewhere)
        assert case_list_visible_to(user=lazy).count() == 1  # … this request's user still holds its own
        permissions.forget_grants(lazy)
        assert case_list_visible_to(user=lazy).count() == 3


class TestPerCaseGrants:
    """A right held on one case only (django-guardian, docs/permissions.md): given to the user or to a
    group the user belongs to, on that case and no other, while the account is active; a superuser
    holds every right on every case but the deciding of escalations."""

    @pytest.fixture
    def town_b_case(self, world):
        return register(world.mediator_b, world.town_b)

    def fresh(self, user):
        from django.contrib.auth import get_user_model

        return get_user_model().objects.get(pk=user.pk)

    def test_a_grant_to_the_user_opens_that_case_only(self, world, town_b_case):
        from guardian.shortcuts import assign_perm

        other = register(world.mediator_b, world.town_b)
        assert not permissions.user_may(self.fresh(world.mediator_a), "work", town_b_case)
        assign_perm("mediation.work_case", world.mediator_a, town_b_case)
        user = self.fresh(world.mediator_a)
        assert permissions.user_may(user, "work", town_b_case)
        assert not permissions.user_may(user, "work", other)
        # … and that right only: not deciding who mediates, not extending the deadline.
        assert not permissions.user_may(user, "extend_deadline", town_b_case)

    def test_a_grant_to_a_group_opens_the_case_for_its_members_only(self, world, town_b_case):
        from django.contrib.auth.models import Group
        from guardian.shortcuts import assign_perm

        group = Group.objects.create(name="外派调解小组")
        group.user_set.add(world.auditor_a)
        assign_perm("mediation.work_case", group, town_b_case)
        assert permissions.user_may(self.fresh(world.auditor_a), "work", town_b_case)
        assert not permissions.user_may(self.fresh(world.mediator_a), "work", town_b_case)

    @staticmethod
    def look_alike_grants(user, case) -> None:
        """``work_case`` of another model granted on the case, to the user and to a group of theirs, as
        a bulk load could write them (guardian refuses such a row on save)."""
        from django.contrib.auth.models import Group, Permission
        from django.contrib.contenttypes.models import ContentType

        from mediation.models import CaseGroupObjectPermission, CaseUserObjectPermission, Organisation

        alike = Permission.objects.create(codename="work_case", name="同名权限",
                                          content_type=ContentType.objects.get_for_model(Organisation))
        CaseUserObjectPermission.objects.bulk_create([CaseUserObjectPermission(
            user=user, permission=alike, content_object=case)])
        group = Group.objects.create(name="外派调解小组")
        group.user_set.add(user)
        CaseGroupObjectPermission.objects.bulk_create([CaseGroupObjectPermission(
            group=group, permission=alike, content_object=case)])

    def test_a_grant_naming_another_models_permission_grants_nothing_on_the_case(self, world, town_b_case):
        """Only a case's own permissions count, however the row got in."""
        self.look_alike_grants(world.mediator_a, town_b_case)
        assert not permissions.user_may(self.fresh(world.mediator_a), "work", town_b_case)

    def test_an_inactive_account_holds_no_grant(self, world, town_b_case):
        from guardian.shortcuts import assign_perm

        assign_perm("mediation.work_case", world.mediator_a, town_b_case)
        user = self.fresh(world.mediator_a)
        user.is_active = False
        assert not permissions.user_may(user, "work", town_b_case)

    def test_a_superuser_may_work_any_case(self, world, town_b_case):
        root = self.fresh(world.admin)
        assert not permissions.user_may(root, "work", town_b_case)
        root.is_superuser = True
        assert permissions.user_may(root, "work", town_b_case)

    def test_the_grants_on_a_case_are_read_in_one_statement_once(self, world, town_b_case):
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        user = self.fresh(world.mediator_a)
        permissions.grants_of(user)  # the memberships, read apart
        with CaptureQueriesContext(connection) as ctx:
            permissions.user_may(user, "work", town_b_case)
            permissions.user_may(user, "extend_deadline", town_b_case)
        assert len(ctx.captured_queries) == 1

    # Read with the case (``selectors.case_get_for_user``): whether the reader holds any per-case
    # grant on it comes in the case's own statement; which, only when they hold some.

    def read_case(self, user, case):
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        from mediation.selectors import case_get_for_user

        with CaptureQueriesContext(connection) as ctx:
            read = case_get_for_user(user=user, case_id=case.pk)  # decides whether the read is logged
            works = permissions.user_may(user, "work", read)
        # The statements that read the grants, apart from the case's own.
        apart = [q["sql"] for q in ctx.captured_queries
                 if "objectpermission" in q["sql"] and not q["sql"].startswith('SELECT "mediation_case".')]
        return works, len(apart)

    def test_a_reader_holding_no_grant_on_the_case_is_answered_without_asking(self, world):
        case = register(world.mediator_a, world.town_a)
        assert self.read_case(self.fresh(world.auditor_a), case) == (False, 0)
        # An auditor does not work the case: the read is on the audit trail (DOMAIN.md §5).
        assert reads_logged(case, world.auditor_a) == 1

    def test_a_grant_to_the_reader_or_their_group_is_found_with_the_case(self, world):
        from django.contrib.auth.models import Group
        from guardian.shortcuts import assign_perm

        mine, ours = register(world.mediator_a, world.town_a), register(world.mediator_a, world.town_a)
        assign_perm("mediation.work_case", world.auditor_a, mine)
        group = Group.objects.create(name="外派调解小组")
        group.user_set.add(world.auditor_a)
        assign_perm("mediation.work_case", group, ours)
        assert self.read_case(self.fresh(world.auditor_a), mine) == (True, 1)  # which: one statement
        assert self.read_case(self.fresh(world.auditor_a), ours) == (True, 1)
        # Working the case by a grant: the reads are not logged.
        assert reads_logged(mine, world.auditor_a) == reads_logged(ours, world.auditor_a) == 0

    def test_a_look_alike_grant_is_not_found_with_the_case_either(self, world):
        case = register(world.mediator_a, world.town_a)
        self.look_alike_grants(world.auditor_a, case)
        assert self.read_case(self.fresh(world.auditor_a), case) == (False, 0)


def test_a_users_grants_are_each_membership_with_its_roles_permissions_read_in_one_statement(world):
    """DOMAIN.md §5: a mediator works the cases of their own organisation; an auditor reads a subtree.
    One person may hold both, in two places; a membership of a switched-off organisation counts for
    nothing. What the groups hold is the migrations' default (docs/permissions.md)."""
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from mediation.models import Membership, Role

    user = member(world.town_a, Role.MEDIATOR)
    Membership.objects.create(user=user, organisation=world.district, role=Role.AUDITOR)
    Membership.objects.create(user=user, organisation=world.town_b, role=Role.SUPERVISOR)
    permissions.sync_role_groups(user)
    world.town_b.is_active = False
    world.town_b.save()
    # The first read on a database session prepares its statement there, once (mediation/prepared.py).
    assert {g.role for g in permissions.grants_of(get_user_model().objects.get(pk=user.pk))} == {
        "mediator", "auditor"}
    fresh = get_user_model().objects.get(pk=user.pk)
    with CaptureQueriesContext(connection) as ctx:
        grants = permissions.grants_of(fresh)
        assert permissions.grants_of(fresh) is grants
    assert len(ctx.captured_queries) == 1
    assert {(g.organisation_id, g.role): g.codenames for g in grants} == {
        (world.town_a.pk, "mediator"): {"register_case", "accept_case", "work_case", "request_escalation",
                                        "conclude_case", "withdraw_case", "view_personal_data", "view_case"},
        (world.district.pk, "auditor"): {"view_case", "read_statistics"},
    }
    # Read afresh every time: what changed since the last read counts at the next.
    world.town_b.is_active = True
    world.town_b.save()
    Membership.objects.filter(user=user, organisation=world.district).delete()
    again = permissions.grants_of(get_user_model().objects.get(pk=user.pk))
    assert {(g.organisation_id, g.role) for g in again} == {
        (world.town_a.pk, "mediator"), (world.town_b.pk, "supervisor")}
