"""The one place that decides who may do what to which case (DOMAIN.md §5).

*What* a role may do is the permission set of the Django group named after the
role (created by migration, editable by an administrator). *Where* is the
membership's organisation: a mediator acts in their own organisation, a
supervisor in their organisation's subtree. django-guardian object permissions
add per-case grants on top (a former mediator keeps ``view_case`` on a case that
moved up). Every check fails closed.

Past 600 lines on purpose: every access decision, and the statements that read the grants it rests
on, live in this one module rather than spread over helpers elsewhere.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, cast

from django.contrib.auth.models import Group, Permission
from django.db import connections, router
from django.db.models import (
    BooleanField,
    CharField,
    Exists,
    ExpressionWrapper,
    IntegerField,
    Model,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
)

from mediation.models.organisations import Membership, Organisation, Role
from workflows.states import CaseState

if TYPE_CHECKING:
    from mediation.models import Case

#: action → the permission codename (app ``mediation``) it needs.
ACTION_PERMISSIONS: dict[str, str] = {
    "register": "register_case",
    "accept": "accept_case",
    "reject": "accept_case",
    # Inviting a respondent to confirm online that they agree to mediation (portal.acknowledgement).
    "invite_respondent": "accept_case",
    "work": "work_case",
    "request_escalation": "request_escalation",
    "approve_escalation": "decide_escalation",
    "deny_escalation": "decide_escalation",
    # Cancelling a pending request: its requester alone (see ``user_may``).
    "cancel_escalation": "request_escalation",
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

#: Permissions for actions over a scope rather than on one case: held like the case
#: permissions, they reach the grant's organisation or subtree (``scope_q``).
SCOPE_PERMISSIONS: tuple[str, ...] = ("export_case_files", "read_statistics", "import_ledger")

MEDIATOR_PERMISSIONS = (
    "register_case", "accept_case", "work_case", "request_escalation", "conclude_case",
    "withdraw_case", "view_personal_data", "view_case",
)
#: The default permission set of each role's group (DOMAIN.md §5); the data migrations
#: create the groups with these, and an administrator may change them.
ROLE_PERMISSIONS: dict[str, tuple[str, ...]] = {
    Role.MEDIATOR: MEDIATOR_PERMISSIONS,
    Role.SUPERVISOR: MEDIATOR_PERMISSIONS + (
        "decide_escalation", "close_case", "reopen_case", "assign_mediator", "extend_deadline",
        "export_case_files", "read_statistics", "import_ledger",
    ),
    # plus ADMINISTRATOR_MODEL_PERMISSIONS
    Role.ADMINISTRATOR: ("view_case", "view_all_cases", "read_statistics", "import_ledger"),
    Role.AUDITOR: ("view_case", "read_statistics"),
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
     ("mediation", "view_case"))

#: Roles whose reach is the whole subtree below their organisation.
SUBTREE_ROLES = {Role.SUPERVISOR, Role.AUDITOR, Role.ADMINISTRATOR}


class Place(Protocol):
    """Where a grant may reach: an organisation, or just its pk and path."""

    @property
    def pk(self) -> int: ...

    @property
    def path(self) -> str: ...


@dataclass(frozen=True)
class Grant:
    organisation_id: int
    organisation_path: str
    role: str
    codenames: frozenset[str]

    def covers(self, organisation: Place) -> bool:
        if self.role in SUBTREE_ROLES:
            return organisation.path.startswith(self.organisation_path)
        return organisation.pk == self.organisation_id


def grants_of(user: Any) -> tuple[Grant, ...]:
    """The user's memberships with their group's permissions; one statement, cached on the user object."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return ()
    cached = getattr(user, "_mediation_grants", None)
    if cached is not None:
        return cached
    from mediation import prepared

    # Read on every request: its statement is written once per process for the user (it names
    # nothing else) and, outside a transaction, planned once per connection (``prepared``; one of the
    # statements each connection keeps per user it serves).
    db = router.db_for_read(Membership)
    written = prepared.statement_of_anyone(("grants", user.pk, db), lambda: _grants_statement(user.pk, db))
    if prepared.in_transaction(db):
        # Inside a transaction, sent as it is: were the session's prepared statements lost behind the
        # process's back, preparing again would have to end the transaction (``prepared._again_if_missing``).
        with connections[db].cursor() as cursor:
            cursor.execute(*written)
            found = cursor.fetchall()
    else:
        found = prepared.fetchall(db, written)
    memberships: list[tuple[int, str, str]] = []
    perms: dict[str, set[str]] = {}
    for org_id, path, role, codename in found:
        if org_id is not None:
            memberships.append((org_id, path, role))
        else:
            perms.setdefault(role, set()).add(codename)
    grants = tuple(Grant(org_id, path, role, frozenset(perms.get(role, ())))
                   for org_id, path, role in sorted(memberships))
    user._mediation_grants = grants
    return grants


def _grants_statement(user_id: int, db: str) -> tuple[str, tuple[Any, ...]]:
    """The statement of :func:`grants_of`, both in one round trip: a membership row has an
    organisation, a permission row only its group (named after the role) and codename."""
    held = Membership.objects.using(db).filter(user_id=user_id, organisation__is_active=True).order_by()
    union = held.values_list(
        "organisation_id", "organisation__path", "role", Value(None, output_field=CharField())).union(
        Permission.objects.using(db).filter(group__name__in=held.values("role"), content_type__app_label="mediation")
        .order_by().values_list(Value(None, output_field=IntegerField()), Value(None, output_field=CharField()),
                                "group__name", "codename"),
        all=True)
    sql, params = union.query.get_compiler(using=db).as_sql()
    return sql, tuple(params)


def reach_signature(user: Any) -> str:
    """What the user's rights reach, as a short fingerprint: the organisations, roles and permissions of
    their memberships. A file made for them (an export) is handed out only while it is unchanged."""
    import hashlib

    parts = sorted(f"{g.organisation_id}:{g.organisation_path}:{g.role}:{','.join(sorted(g.codenames))}"
                   for g in grants_of(user))
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:32]


def _grant_sources(user: Any, **where: Any) -> tuple[QuerySet[Any], QuerySet[Any]]:
    """The per-case grants (django-guardian) the user holds, to the user and to one of their groups,
    narrowed by ``where`` (a case, a permission)."""
    from mediation.models import CaseGroupObjectPermission, CaseUserObjectPermission

    # A case's permissions only (as django-guardian's checker asks): a row naming another model's
    # permission of the same codename grants nothing on the case.
    where = {"permission__content_type__app_label": "mediation", "permission__content_type__model": "case", **where}
    return (CaseUserObjectPermission.objects.filter(user=user, **where).order_by(),
            CaseGroupObjectPermission.objects.filter(group__user=user, **where).order_by())


def _per_case_grants(user: Any, **where: Any) -> QuerySet[Any]:
    """(case id, codename) of the per-case grants the user holds (:func:`_grant_sources`): one
    statement, both halves joined."""
    mine, theirs = _grant_sources(user, **where)
    columns = ("content_object_id", "permission__codename")
    return mine.values_list(*columns).union(theirs.values_list(*columns), all=True)


def case_grants_held(user: Any) -> ExpressionWrapper:
    """Whether the user holds any per-case grant on the case (``OuterRef("pk")``), as an expression for
    the case's own statement (``selectors.case_get_for_user``): read with the case, it spares the
    grants' statement when there are none (:func:`note_case_grants_held`), as there are none for
    nearly everyone on nearly every case."""
    if not _active(user):  # signed out or switched off: holds none (and has no id to ask with)
        return ExpressionWrapper(Value(False), output_field=BooleanField())
    mine, theirs = _grant_sources(user, content_object_id=OuterRef("pk"))
    return ExpressionWrapper(Q(Exists(mine)) | Q(Exists(theirs)), output_field=BooleanField())


def note_case_grants_held(user: Any, case_pk: int, held: bool) -> None:
    """What :func:`case_grants_held` found for this case: none at all, and :func:`_case_grants` knows
    it without asking (when there are some, it reads which)."""
    if not held:
        _case_grants_read(user).setdefault(case_pk, frozenset())


def _case_grants_read(user: Any) -> dict[int, frozenset[str]]:
    read = getattr(user, "_mediation_case_grants", None)
    if read is None:
        read = user._mediation_case_grants = {}
    return cast("dict[int, frozenset[str]]", read)


def _case_grants(user: Any, case_pk: int) -> frozenset[str]:
    """The codenames granted to the user on this one case, read once per user object."""
    read = _case_grants_read(user)
    if case_pk not in read:
        read[case_pk] = frozenset(codename for _, codename in _per_case_grants(user, content_object_id=case_pk))
    return read[case_pk]


def forget_grants(user: Any) -> None:
    """Drop the per-object caches after the user's memberships or grants changed (on the user
    itself: ``delattr`` reaches through a lazy ``request.user`` to the user it wraps)."""
    _forget(user, "_mediation_grants", "_mediation_case_grants", "_mediation_visible_q",
            "_mediation_visible_unclosed_q", "_mediation_visible_in_states")


def _forget(user: Any, *names: str) -> None:
    for name in names:
        try:
            delattr(user, name)
        except AttributeError:
            pass


def holds(user: Any, *codenames: str) -> bool:
    """Does one of the user's grants hold all of ``codenames``? (Where is :func:`scope_q`'s question.)"""
    return any(_holds(g, codenames) for g in grants_of(user))


def _holds(g: Grant, codenames: tuple[str, ...]) -> bool:
    return all(c in g.codenames for c in codenames)


def _reads_all(g: Grant) -> bool:
    # "Read all" is the district's: granted at the root of the tree, never below it.
    return "view_all_cases" in g.codenames and g.organisation_path.count("/") == 2


def sees_everything(user: Any) -> bool:
    return any(_reads_all(g) for g in grants_of(user))


def may_read_cases_in_admin(user: Any) -> bool:
    """Only district administrators (``view_all_cases``) and superusers read case records in the admin."""
    if not (getattr(user, "is_active", False) and getattr(user, "is_staff", False)):
        return False
    return bool(user.is_superuser or sees_everything(user))


def _reach_q(g: Grant, field: str) -> Q:
    """The organisations one grant reaches (``Grant.covers`` as a filter) on the relation ``field``.

    ``field`` names an organisation foreign key of the model filtered (``"organisation"``,
    ``"to_organisation"``), or is empty to filter ``Organisation`` itself.
    """
    if g.role in SUBTREE_ROLES:
        subtree = Organisation.objects.filter(path__startswith=g.organisation_path)
        if not field:
            return Q(pk__in=subtree.values("pk"))
        # The subtree's organisations as a subquery, never a join: the filtered table then stands
        # alone in the query, and an OR of this with the cases reached one by one costs the
        # planner a fraction of a millisecond instead of one or two per statement (docs/performance.md).
        return Q(**{f"{field}_id__in": subtree.order_by().values("pk")})
    return Q(**{f"{field}_id" if field else "pk": g.organisation_id})


def scope_q(user: Any, *codenames: str, field: str = "organisation") -> Q | None:
    """Where the user holds all of ``codenames``, as a filter on ``field``; ``None`` where nowhere.

    The one spelling of "this organisation, or its subtree" for every list, queue,
    export and statistic: each grant reaches its own organisation (mediators) or its
    subtree (supervisors, auditors, administrators).
    """
    q: Q | None = None
    for g in grants_of(user):
        if _holds(g, codenames):
            q = _reach_q(g, field) if q is None else q | _reach_q(g, field)
    return q


def organisations_where(user: Any, *codenames: str) -> QuerySet[Organisation]:
    """Organisations where the user holds all of ``codenames`` (the district's "read all" is everywhere)."""
    grants = [g for g in grants_of(user) if _holds(g, codenames)]
    if any(_reads_all(g) for g in grants):
        return Organisation.objects.all()
    q = scope_q(user, *codenames, field="")
    if q is None:
        return Organisation.objects.none()
    return Organisation.objects.filter(q)


def own_organisation_ids(user: Any, codename: str) -> list[int]:
    """The organisations the user is a member of with ``codename`` (not their subtrees): "my office"."""
    return [g.organisation_id for g in grants_of(user) if codename in g.codenames]


def memberships_holding(codename: str, organisations: Any, *, active_only: bool = True) -> QuerySet[Membership]:
    """Memberships in one of ``organisations``, in a role whose group holds ``codename``.

    Whom a case can be assigned to, whose workload a supervisor sees: the members
    themselves, not the supervisors above them whose reach also covers the place.
    ``active_only=False`` also finds people who have left (names in historical ledgers).
    """
    roles = Group.objects.filter(permissions__codename=codename,
                                 permissions__content_type__app_label="mediation").values("name")
    found = Membership.objects.filter(organisation__in=organisations, role__in=roles)
    return found.filter(user__is_active=True) if active_only else found


def members_holding(codename: str, organisations: Any) -> QuerySet[Any]:
    """The users of :func:`memberships_holding`."""
    from django.contrib.auth import get_user_model

    return get_user_model().objects.filter(
        pk__in=memberships_holding(codename, organisations).values("user_id"))


def escalation_deciders(organisation: Organisation, *, exclude: Any = None) -> QuerySet[Any]:
    """The users who may decide an escalation into ``organisation``, ``exclude`` (the requester) left out.

    The rule of ``user_may`` for ``approve_escalation`` as a query: an active user with a
    membership, in an active organisation, in a role whose group holds ``decide_escalation``,
    that covers the target (its subtree for supervisors and the other subtree roles, the
    organisation itself for the others). Per-case grants never decide escalations.
    """
    from django.contrib.auth import get_user_model

    covering = _decider_memberships([organisation])
    users = get_user_model().objects.filter(pk__in=covering.values("user_id"), is_active=True)
    if exclude is not None:
        users = users.exclude(pk=exclude.pk)
    return users.order_by("last_name", "first_name", "username")


def _paths_above(path: str) -> list[str]:
    """The materialised paths of an organisation and of every organisation above it."""
    parts = [p for p in path.split("/") if p]
    return ["/" + "/".join(parts[:i]) + "/" for i in range(1, len(parts) + 1)]


def _decider_memberships(organisations: list[Organisation]) -> QuerySet[Membership]:
    """Memberships through which someone may decide escalations into one of ``organisations``."""
    roles = Group.objects.filter(permissions__codename="decide_escalation",
                                 permissions__content_type__app_label="mediation").values("name")
    above = sorted({p for o in organisations for p in _paths_above(o.path)})
    return Membership.objects.filter(
        Q(organisation_id__in=[o.pk for o in organisations])
        | Q(organisation__path__in=above, role__in=sorted(SUBTREE_ROLES)),
        role__in=roles, organisation__is_active=True, user__is_active=True)


def escalation_deciders_by_organisation(organisations: Any) -> dict[int, list[Any]]:
    """:func:`escalation_deciders` for many target organisations at once (one query), by pk; its
    statement written once per process for those organisations' places in the tree and planned once
    per connection (``mediation/prepared.py``: the escalation queue asks it on every visit)."""
    from mediation import prepared  # built on this module

    organisations = list(organisations)
    found: dict[int, list[Any]] = {o.pk: [] for o in organisations}
    key = ("escalation_deciders.by_organisation", tuple(sorted((o.pk, o.path) for o in organisations)))
    for m in prepared.rows_of_anyone(key, lambda: _decider_memberships(organisations)
                                     .select_related("user", "organisation"), ()):
        for o in organisations:
            covers = m.organisation_id == o.pk or (
                m.role in SUBTREE_ROLES and o.path.startswith(m.organisation.path))
            if covers and m.user not in found[o.pk]:
                found[o.pk].append(m.user)
    for users in found.values():
        users.sort(key=lambda u: (u.last_name, u.first_name, u.username))
    return found


def _place_of(action: str, case: "Case") -> Organisation | None:
    """Where an action happens: approving an escalation happens at its target organisation."""
    if action in {"approve_escalation", "deny_escalation"}:
        pending = case.pending_escalation()
        return pending.to_organisation if pending else None
    return case.organisation


def _active(user: Any) -> bool:
    return bool(getattr(user, "is_authenticated", False) and user.is_active)


def user_may(user: Any, action: str, case: "Case") -> bool:
    """May ``user`` perform ``action`` on ``case`` now, as far as role and scope go?

    The state machine separately decides whether the case's state allows it.
    """
    codename = ACTION_PERMISSIONS.get(action)
    if codename is None or not _active(user):
        return False
    if action in {"approve_escalation", "deny_escalation"}:
        pending = case.pending_escalation()
        # Nobody decides their own request, whatever else they hold.
        if pending is None or pending.requested_by_id == user.pk:
            return False
    if action == "cancel_escalation":
        pending = case.pending_escalation()
        # Only the one who asked takes the request back (a supervisor denies it instead).
        if pending is None or pending.requested_by_id != user.pk:
            return False
    place = _place_of(action, case)
    if place is None:
        return False
    if any(codename in g.codenames and g.covers(place) for g in grants_of(user)):
        return True
    # A per-case grant made through django-guardian (never for deciding escalations,
    # which belong to the target organisation's supervisors).
    if action not in {"approve_escalation", "deny_escalation"} and case.pk:
        return bool(user.is_superuser) or codename in _case_grants(user, case.pk)
    return False


def user_may_register_in(user: Any, organisation: Organisation) -> bool:
    return any("register_case" in g.codenames and g.covers(organisation) for g in grants_of(user))


def organisations_user_may_register_in(user: Any) -> QuerySet[Organisation]:
    return organisations_where(user, "register_case").filter(is_active=True).select_related("level")


def visible_cases_q(user: Any, *, closed: bool = True, states: tuple[str, ...] | None = None,
                    row_by_row: bool = False) -> Q | None:
    """A filter on ``Case`` for what the user may read; ``None`` means nothing at all.

    The organisations the user's grants reach (:func:`scope_q`), plus the single cases
    :func:`visible_cases_beyond_scope_q` adds. Built once per user object, like the grants it
    follows (:func:`forget_grants` drops both): a page asks for it a dozen times. Its subqueries
    are read when each statement runs, and each statement resolves its own copy of them.

    ``closed=False``: the same cases less the closed ones, for a list that never shows a closed case
    (the home page's): the per-case grants on closed cases are then not read at all.
    ``states``: the same cases in those states only, for a list of cases in some states (overdue,
    waiting for a follow-up visit…): only the per-case grants on cases in those states are read
    (``CaseUserObjectPermission.case_state``, kept by the database with the case).
    ``row_by_row``: the same cases, those read one by one asked of each row the statement reaches
    (:func:`visible_cases_beyond_scope_q`), for a statement that reads few cases: a page read down an
    index of the cases in the list's order until it is full, the cases a search found by their ids
    (:func:`asks_grants_row_by_row` says when). Not kept on the user: the first page's statement is
    written once per process (``prepared``), a search's filter built once a search.
    """
    if not _active(user):  # checked on every call: an account switched off reads nothing at once
        return None
    if row_by_row:
        q = _readable_q(user, row_by_row=True, closed=closed, states=states)
        if q is not None and states is not None:
            return q & Q(state__in=states)
        return q & ~Q(state=CaseState.CLOSED) if q is not None and not closed else q
    if states is not None:
        return _visible_in_states(user, tuple(sorted(set(states))))
    name = "_mediation_visible_q" if closed else "_mediation_visible_unclosed_q"
    cached = getattr(user, name, _UNSET)
    if cached is not _UNSET:
        return cast("Q | None", cached)
    q = _readable_q(user, closed=closed)
    if not closed and q is not None:
        q &= ~Q(state=CaseState.CLOSED)
    setattr(user, name, q)  # on the user itself, through a lazy request.user too
    return q


def _visible_in_states(user: Any, states: tuple[str, ...]) -> Q | None:
    """:func:`visible_cases_q` of the cases in ``states`` (sorted), built once per user object and states."""
    cache: dict[tuple[str, ...], Q | None] | None = getattr(user, "_mediation_visible_in_states", None)
    if cache is None:
        cache = {}
        user._mediation_visible_in_states = cache  # on the user itself, through a lazy request.user too
    if states not in cache:
        q = _readable_q(user, states=states)
        cache[states] = None if q is None else q & Q(state__in=states)
    return cache[states]


def _readable_q(user: Any, *, row_by_row: bool = False, **beyond: Any) -> Q | None:
    """Everything for those who see everything; else the organisations the user's grants reach and the
    single cases :func:`visible_cases_beyond_scope_q` adds, given ``beyond``; asked row by row only
    beside the organisations (alone, the single cases are best read by their ids)."""
    if sees_everything(user):
        return Q()
    q = scope_q(user, "view_case")
    found = visible_cases_beyond_scope_q(user, row_by_row=row_by_row and q is not None, **beyond)
    if found is not None:
        q = found if q is None else q | found
    return q


_UNSET = object()


def visible_cases_beyond_scope_q(user: Any, *, closed: bool = True, states: tuple[str, ...] | None = None,
                                 row_by_row: bool = False) -> Q | None:
    """The cases a user may read one by one, whatever their organisation: a case waiting to come
    up into the user's reach (for those who decide it), and per-case grants (a former mediator
    keeps reading a case that moved up; ``closed=False``: on cases not closed only; ``states``: on
    cases in those states only — the caller keeps to those states). ``None`` when there are none to
    look for.

    ``row_by_row``: the same cases, asked of each case a statement reaches, by its id (one probe of
    an index per source), not gathered first. Gathered, they are hashed whole before the first row
    is read — a mediator of long standing holds a grant on every case that moved up from them, some
    15,000 at a million cases — which a page that stops after its first rows need not pay."""
    found: list[QuerySet[Any]] = []
    waiting = _escalations_awaiting(user)
    if waiting is not None:
        found.append(waiting.filter(case_id=OuterRef("pk")) if row_by_row else waiting)
    if reads_per_case_grants(user):
        granted = granted_case_ids(user, closed=closed, states=states)
        found.append(granted.filter(content_object_id=OuterRef("pk")) if row_by_row else granted)
    if not found:
        return None
    if row_by_row:
        asked = Q(AskedRowByRow(found[0]))
        for more in found[1:]:
            asked |= Q(AskedRowByRow(more))
        return asked
    # One IN over a UNION, not an OR of two: the database can then look the cases up by key.
    return Q(pk__in=found[0] if len(found) == 1 else found[0].union(*found[1:]))


class AskedRowByRow(Exists):
    """``EXISTS`` that PostgreSQL asks of each row, never turns into a hash of every row the subquery
    could give: it makes no hashed form of a subquery with an ``OFFSET`` (``OFFSET 0`` changes no
    answer; SQLite reads it the same)."""

    template = "EXISTS(%(subquery)s OFFSET 0)"


def _escalations_awaiting(user: Any) -> QuerySet[Any] | None:
    from workflows.models import EscalationRequest

    deciding = scope_q(user, "view_case", "decide_escalation", field="to_organisation")
    if deciding is None:
        return None
    return (EscalationRequest.objects.filter(deciding, decision=EscalationRequest.Decision.PENDING)
            .order_by().values("case_id"))


def escalations_awaiting_beyond_reach_q(user: Any) -> Q | None:
    """The cases waiting for the user's decision that lie outside the organisations the user reads
    whole (a pending case stays where it asked from: the request's organisation is the case's)."""
    waiting = _escalations_awaiting(user)
    if waiting is None:
        return None
    reach = scope_q(user, "view_case", field="from_organisation")
    return Q(pk__in=waiting.exclude(reach) if reach is not None else waiting)


def reads_per_case_grants(user: Any) -> bool:
    """Whether the user's per-case grants count at all (an active, signed-in user's only)."""
    return _active(user)


#: From this many per-case grants (``view_case``) on, a statement that reads few cases asks them of each
#: case it reaches (:func:`asks_grants_row_by_row`). A judgement on the figures measured at 100,035 and
#: 1,000,035 cases (docs/performance.md, "Twenty-first pass"): below it the hash costs under half a
#: millisecond, so asking wins 0.2 ms at most and loses up to 0.4 where the walk is long; from some
#: 3,500 grants on, asking won for every user measured, up to 3.5 ms.
GRANTS_ASKED_ROW_BY_ROW_FROM = 2_000


def asks_grants_row_by_row(user: Any) -> bool:
    """Whether a statement that reads few cases — a page read down an index until it is full (the case
    list's first page), the cases a search found (at most a few thousand, by their ids) — should ask
    the user's per-case grants of each case it reaches (``visible_cases_q(..., row_by_row=True)``)
    rather than hash them all first. The same cases either way.

    Asking costs an index probe for each case of another organisation the statement reaches; the hash,
    a little for each grant. Asking is cheaper where the grants are many — a mediator of long standing,
    thousands of cases moved up from their organisation — and the user's organisations hold at least as
    many cases again, so that a page passes few others'; hashing, where the grants are few, or where the
    organisations hold fewer cases than the grants (a mediator moved to an enterprise's committee, who
    keeps reading the cases of their old township): there a page walks far. The grants counted only
    when there are that many, at most :data:`GRANTS_COUNTED`; decided once per worker process and user
    (``prepared.decided``; again should the user's entry give way in its store)."""
    from mediation import prepared  # built on this module

    return prepared.decided(user, ("grants asked row by row",), lambda: many_grants_beside_many_cases(user))


def many_grants_beside_many_cases(user: Any) -> bool:
    """:func:`asks_grants_row_by_row`'s answer, counted afresh."""
    if not reads_per_case_grants(user) or sees_everything(user):
        return False
    reach = scope_q(user, "view_case")
    granted = granted_case_ids(user)
    nth = max(GRANTS_ASKED_ROW_BY_ROW_FROM, 1)
    if reach is None or not granted[nth - 1:nth].exists():  # no organisation: the grants read by their ids
        return False
    from mediation.models import Case

    held = granted[:GRANTS_COUNTED].count()
    if held < nth:  # grants withdrawn between the two statements
        return False
    return Case.objects.filter(reach).order_by()[held - 1:held].exists()


#: How many grants :func:`asks_grants_row_by_row` counts at most.
GRANTS_COUNTED = 100_000


def granted_case_ids(user: Any, *, closed: bool = True, states: tuple[str, ...] | None = None) -> QuerySet[Any]:
    """The cases granted to the user one by one (``view_case``), as a subquery of ids; ``closed=False``:
    only those not closed (``CaseUserObjectPermission.case_closed``, kept by the database, read
    through its own partial index: a mediator of long standing holds thousands of grants, most on
    cases long closed, and a statement that needs them builds their hash afresh); ``states``: only
    those whose case is in one of them (``case_state``, kept the same way, read through its own index:
    of a mediator's thousands of grants on open cases, a list of overdue or performed cases needs those
    on cases in its states only)."""
    from mediation.models import CaseUserObjectPermission

    # The permission's id as a subquery the database reads once, so that the grants are one range
    # of the (user, permission, case) index: no join with every grant the user holds (a mediator
    # of long standing holds thousands, one per case escalated away from them).
    view_case = (Permission.objects.filter(codename="view_case", content_type__app_label="mediation",
                                           content_type__model="case").values("pk")[:1])
    grants = CaseUserObjectPermission.objects.filter(user=user, permission_id=Subquery(view_case))
    if states is not None:
        grants = grants.filter(case_state__in=states)
    elif not closed:
        grants = grants.filter(case_closed=False)
    return grants.order_by().values("content_object_id")


def may_view_case(user: Any, case: "Case") -> bool:
    from mediation.models import Case

    q = visible_cases_q(user)
    return q is not None and Case.objects.filter(q, pk=case.pk).exists()


def may_see_personal_data(user: Any, case: "Case") -> bool:
    """Full ID numbers and phones: for those who work the case, not for readers."""
    return user_may(user, "view_personal_data", case)


class PersonalDataChecker:
    """:func:`may_see_personal_data` for many cases at once: grants in memory, per-case grants in one query.

    The same rule as ``user_may(user, "view_personal_data", case)`` (a grant covering
    the case's organisation, or a per-case grant to the user or one of their groups),
    without asking django-guardian once per row for readers who hold no grant:
    100,000 queries for one export.
    """

    def __init__(self, user: Any) -> None:
        self.grants = [g for g in grants_of(user) if "view_personal_data" in g.codenames]
        self.per_case: set[int] = set()
        if _active(user):
            self.per_case = {pk for pk, _ in _per_case_grants(user, permission__codename="view_personal_data")}

    def allows(self, case_id: int, organisation_id: int, organisation_path: str) -> bool:
        if case_id in self.per_case:
            return True
        place = _Place(organisation_id, organisation_path)
        return any(g.covers(place) for g in self.grants)

    def __call__(self, case: "Case") -> bool:
        return self.allows(case.pk, case.organisation_id, case.organisation.path)


@dataclass(frozen=True)
class _Place:
    pk: int
    path: str


def read_is_logged(user: Any, case: "Case") -> bool:
    """A read by someone who does not work the case goes on the audit trail (``case.read``; DOMAIN.md §5:
    auditors, administrators, a former mediator reading a case that moved on)."""
    return not user_may(user, "work", case)


def grant_case_read(user: Any, case: "Case") -> None:
    """Keep read access for someone who worked the case at an earlier line."""
    from guardian.shortcuts import assign_perm

    assign_perm("mediation.view_case", user, case)
    _forget(user, "_mediation_case_grants")


def sync_role_groups(user: Any) -> None:
    """Put the user in exactly the groups of the roles they hold, so group perms match memberships."""
    roles = set(Membership.objects.filter(user=user).values_list("role", flat=True))
    groups = Group.objects.filter(name__in=[r.value for r in Role])
    user.groups.remove(*[g for g in groups if g.name not in roles])
    user.groups.add(*[g for g in groups if g.name in roles])
    forget_grants(user)


#: Account rights only the server's operators give (``createsuperuser`` on the server; a
#: superuser in the admin): never an administrator, who could otherwise raise their own.
ACCOUNT_RIGHTS: tuple[str, ...] = ("is_superuser", "is_staff", "groups", "user_permissions")


def may_change_account(actor: Any, account: Any) -> bool:
    """May ``actor`` change ``account`` (its details, its memberships) in the admin?

    Administrators manage other people's accounts; nobody but a superuser changes their
    own memberships or rights, or anything about a superuser's account.
    """
    if not _active(actor):
        return False
    if actor.is_superuser:
        return True
    return account is None or (account.pk != actor.pk and not account.is_superuser)


def may_correct_records(actor: Any, model: type[Model]) -> bool:
    """Correcting a person's or an employer's record on file: the administrators' model permission."""
    return _active(actor) and actor.has_perm(f"{model._meta.app_label}.change_{model._meta.model_name}")


#: Entering a year's holiday schedule at once adds, changes and removes that year's
#: overrides and marks the year confirmed: all of these model permissions (the
#: administrators', ADMINISTRATOR_MODEL_PERMISSIONS).
CALENDAR_PERMISSIONS = (
    "workflows.add_holidayoverride", "workflows.change_holidayoverride", "workflows.delete_holidayoverride",
    "workflows.add_calendaryear", "workflows.change_calendaryear",
)


def may_change_calendar(user: Any) -> bool:
    """May ``user`` enter a whole year's holiday schedule (docs/clocks.md)? Staff holding every
    permission it exercises, so no one gains through it what the calendar's admin pages refuse."""
    return _active(user) and user.is_staff and user.has_perms(CALENDAR_PERMISSIONS)


def may_read_audit(user: Any, *, everything: bool = False) -> bool:
    """May ``user`` read the audit trail (``audit.read_audit``: auditors and administrators)?

    What they read is the events of cases they may see (:func:`visible_cases_q`) and
    their own. With ``everything``: may they read all of it, events without a case
    (logins, the admin's edits) included? The district's readers may (a role holding
    ``read_audit`` at the root of the tree), and superusers.
    """
    if not _active(user) or not _holds_model_permission(user, *AUDIT_PERMISSION):
        return False
    if not everything or user.is_superuser:
        return True
    roots = {g.role for g in grants_of(user) if g.organisation_path.count("/") == 2}
    return Group.objects.filter(name__in=roots, permissions__codename="read_audit",
                                permissions__content_type__app_label="audit").exists()


def _holds_model_permission(user: Any, app_label: str, codename: str) -> bool:
    """``user.has_perm("app_label.codename")`` for an active user, in one short query: a superuser, or
    the permission given to the user or to one of their groups (:func:`model_permission_grants`:
    what Django's ``ModelBackend`` answers; the other backends grant no model permission), where
    ``has_perm`` reads every permission of the user and of all their groups to answer one question."""
    return user.is_superuser or model_permission_grants(user, app_label, codename).exists()


def model_permission_grants(user: Any, app_label: str, codename: str) -> QuerySet[Permission]:
    """The permission where given to ``user`` or a group of theirs (also read by mediation/frame.py)."""
    return Permission.objects.filter(Q(user=user) | Q(group__user=user), codename=codename,
                                     content_type__app_label=app_label)


AUDIT_PERMISSION = ("audit", "read_audit")  # what the audit trail asks of a reader (may_read_audit)


#: Holding any of these makes a second factor (TOTP) compulsory at login: deciding for
#: others (escalations, closing, reopening, assigning, deadlines), reading across a scope
#: (figures, the ledger, every case) or bulk import and export. The default groups give
#: them to supervisors, administrators and auditors, never to mediators (docs/security.md).
SECOND_FACTOR_PERMISSIONS = frozenset({
    "decide_escalation", "close_case", "reopen_case", "assign_mediator", "extend_deadline",
    "view_all_cases", "read_statistics", "export_case_files", "import_ledger",
})


def needs_second_factor(user: Any) -> bool:
    """Must ``user`` sign in with a second factor? Staff (the admin site) always; otherwise a grant
    holding one of :data:`SECOND_FACTOR_PERMISSIONS`. Whether it is enforced is ``OTP_REQUIRED``."""
    if not _active(user):
        return False
    if user.is_staff or user.is_superuser:
        return True
    return any(g.codenames & SECOND_FACTOR_PERMISSIONS for g in grants_of(user))
