"""The one place that decides who may do what to which case (DOMAIN.md §5).

*What* a role may do is the permission set of the Django group named after the
role (created by migration, editable by an administrator). *Where* is the
membership's organisation: a mediator acts in their own organisation, a
supervisor in their organisation's subtree. django-guardian object permissions
add per-case grants on top (a former mediator keeps ``view_case`` on a case that
moved up). Every check fails closed.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.contrib.auth.models import Group, Permission
from django.db.models import Q

from mediation.models.organisations import Membership, Organisation, Role

if TYPE_CHECKING:
    from mediation.models import Case

#: action → the permission codename (app ``mediation``) it needs.
ACTION_PERMISSIONS: dict[str, str] = {
    "register": "register_case",
    "accept": "accept_case",
    "reject": "accept_case",
    "work": "work_case",
    "request_escalation": "request_escalation",
    "approve_escalation": "decide_escalation",
    "deny_escalation": "decide_escalation",
    "record_agreement": "conclude_case",
    "terminate": "conclude_case",
    "confirm_performance": "conclude_case",
    "report_nonperformance": "conclude_case",
    "refer": "work_case",
    "withdraw": "withdraw_case",
    "close": "close_case",
    "reopen": "reopen_case",
    "assign_mediator": "assign_mediator",
    "extend_deadline": "extend_deadline",
    "view_personal_data": "view_personal_data",
}

MEDIATOR_PERMISSIONS = (
    "register_case", "accept_case", "work_case", "request_escalation", "conclude_case",
    "withdraw_case", "view_personal_data", "view_case",
)
#: The default permission set of each role's group (DOMAIN.md §5); the data migration
#: creates the groups with these, and an administrator may change them.
ROLE_PERMISSIONS: dict[str, tuple[str, ...]] = {
    Role.MEDIATOR: MEDIATOR_PERMISSIONS,
    Role.SUPERVISOR: MEDIATOR_PERMISSIONS + (
        "decide_escalation", "close_case", "reopen_case", "assign_mediator", "extend_deadline",
    ),
    Role.ADMINISTRATOR: ("view_case", "view_all_cases"),  # plus ADMINISTRATOR_MODEL_PERMISSIONS
    Role.AUDITOR: ("view_case",),
}
#: What an administrator maintains in the admin site (DOMAIN.md §5): organisations,
#: users and roles, the holiday calendar, reference lists. ("app_label", "codename").
ADMINISTRATOR_MODEL_PERMISSIONS: tuple[tuple[str, str], ...] = tuple(
    (app, f"{verb}_{model}")
    for app, models in (
        ("mediation", ("organisation", "membership", "linename", "organisationlevel", "category", "person",
                       "employer")),
        ("workflows", ("holidayoverride", "calendaryear")),
        ("auth", ("user",)),
    )
    for model in models
    for verb in ("add", "change", "view", "delete")
    if not (verb == "delete" and model in {"person", "employer", "user", "linename"})
) + (("workflows", "view_transitionlog"), ("workflows", "view_escalationrequest"),
     ("mediation", "view_case"), ("mediation", "view_caseaccesslog"))

#: Roles whose reach is the whole subtree below their organisation.
SUBTREE_ROLES = {Role.SUPERVISOR, Role.AUDITOR, Role.ADMINISTRATOR}


@dataclass(frozen=True)
class Grant:
    organisation_id: int
    organisation_path: str
    role: str
    codenames: frozenset[str]

    def covers(self, organisation: Organisation) -> bool:
        if self.role in SUBTREE_ROLES:
            return organisation.path.startswith(self.organisation_path)
        return organisation.pk == self.organisation_id


def grants_of(user: Any) -> tuple[Grant, ...]:
    """The user's memberships with their group's permissions; two queries, cached on the user object."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return ()
    cached = getattr(user, "_mediation_grants", None)
    if cached is not None:
        return cached
    memberships = list(
        Membership.objects.filter(user=user, organisation__is_active=True)
        .values_list("organisation_id", "organisation__path", "role"))
    roles = {role for _, _, role in memberships}
    perms: dict[str, set[str]] = {role: set() for role in roles}
    for group_name, codename in Permission.objects.filter(
            group__name__in=roles, content_type__app_label="mediation").values_list("group__name", "codename"):
        perms[group_name].add(codename)
    grants = tuple(Grant(org_id, path, role, frozenset(perms[role])) for org_id, path, role in memberships)
    user._mediation_grants = grants
    return grants


def _checker(user: Any):
    """One guardian checker per user object: it caches each case's permissions after one query."""
    checker = getattr(user, "_mediation_checker", None)
    if checker is None:
        from guardian.core import ObjectPermissionChecker

        checker = user._mediation_checker = ObjectPermissionChecker(user)
    return checker


def forget_grants(user: Any) -> None:
    """Drop the per-object caches after the user's memberships or grants changed."""
    user.__dict__.pop("_mediation_grants", None)
    user.__dict__.pop("_mediation_checker", None)


def has_role(user: Any, *roles: str) -> bool:
    return any(g.role in roles for g in grants_of(user))


def _reads_all(g: Grant) -> bool:
    # "Read all" is the district's: granted at the root of the tree, never below it.
    return "view_all_cases" in g.codenames and g.organisation_path.count("/") == 2


def sees_everything(user: Any) -> bool:
    return any(_reads_all(g) for g in grants_of(user))


def _place_of(action: str, case: "Case") -> Organisation | None:
    """Where an action happens: approving an escalation happens at its target organisation."""
    if action in {"approve_escalation", "deny_escalation"}:
        pending = case.pending_escalation()
        return pending.to_organisation if pending else None
    return case.organisation


def user_may(user: Any, action: str, case: "Case") -> bool:
    """May ``user`` perform ``action`` on ``case`` now, as far as role and scope go?

    The state machine separately decides whether the case's state allows it.
    """
    codename = ACTION_PERMISSIONS.get(action)
    if codename is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    if action in {"approve_escalation", "deny_escalation"}:
        pending = case.pending_escalation()
        # Nobody decides their own request, whatever else they hold.
        if pending is None or pending.requested_by_id == user.pk:
            return False
    place = _place_of(action, case)
    if place is None:
        return False
    if any(codename in g.codenames and g.covers(place) for g in grants_of(user)):
        return True
    # A per-case grant made through django-guardian (never for deciding escalations,
    # which belong to the target organisation's supervisors).
    if action not in {"approve_escalation", "deny_escalation"} and case.pk:
        return _checker(user).has_perm(codename, case)
    return False


def user_may_register_in(user: Any, organisation: Organisation) -> bool:
    return any("register_case" in g.codenames and g.covers(organisation) for g in grants_of(user))


def organisations_user_may_register_in(user: Any):
    ids = [g.organisation_id for g in grants_of(user) if "register_case" in g.codenames]
    paths = [g.organisation_path for g in grants_of(user)
             if "register_case" in g.codenames and g.role in SUBTREE_ROLES]
    q = Q(pk__in=ids)
    for p in paths:
        q |= Q(path__startswith=p)
    return Organisation.objects.filter(q, is_active=True).select_related("level")


def visible_cases_q(user: Any) -> Q | None:
    """A filter on ``Case`` for what the user may read; ``None`` means nothing at all."""
    from mediation.models import CaseUserObjectPermission

    grants = grants_of(user)
    if not grants:
        q = None
    elif any(_reads_all(g) for g in grants):
        return Q()
    else:
        q = Q(pk__in=[])
    for g in grants:
        if "view_case" not in g.codenames:
            continue
        if g.role in SUBTREE_ROLES:
            q |= Q(organisation__path__startswith=g.organisation_path)
            if "decide_escalation" in g.codenames:
                # A case waiting to come up into this subtree is shown to those who decide it.
                from workflows.models import EscalationRequest

                q |= Q(pk__in=EscalationRequest.objects.filter(
                    decision=EscalationRequest.Decision.PENDING,
                    to_organisation__path__startswith=g.organisation_path).values("case_id"))
        else:
            q |= Q(organisation_id=g.organisation_id)
    if getattr(user, "is_authenticated", False) and user.is_active:
        per_case = CaseUserObjectPermission.objects.filter(
            user=user, permission__codename="view_case").values("content_object_id")
        q = Q(pk__in=per_case) if q is None else q | Q(pk__in=per_case)
    return q


def may_view_case(user: Any, case: "Case") -> bool:
    from mediation.models import Case

    q = visible_cases_q(user)
    return q is not None and Case.objects.filter(q, pk=case.pk).exists()


def may_see_personal_data(user: Any, case: "Case") -> bool:
    """Full ID numbers and phones: for those who work the case, not for readers."""
    return user_may(user, "view_personal_data", case)


def grant_case_read(user: Any, case: "Case") -> None:
    """Keep read access for someone who worked the case at an earlier line."""
    from guardian.shortcuts import assign_perm

    assign_perm("mediation.view_case", user, case)
    user.__dict__.pop("_mediation_checker", None)


def sync_role_groups(user: Any) -> None:
    """Put the user in exactly the groups of the roles they hold, so group perms match memberships."""
    roles = set(Membership.objects.filter(user=user).values_list("role", flat=True))
    groups = Group.objects.filter(name__in=[r.value for r in Role])
    user.groups.remove(*[g for g in groups if g.name not in roles])
    user.groups.add(*[g for g in groups if g.name in roles])
    forget_grants(user)
