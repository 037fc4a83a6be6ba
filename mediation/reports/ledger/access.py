"""Who may use the ledger, which cases it shows, and whose identity numbers it shows in full.

These decisions are on their way into ``mediation.permissions``; until then they live
here, in one module, unchanged.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Q, QuerySet

from mediation import permissions
from mediation.models import Case, CaseGroupObjectPermission, CaseUserObjectPermission, Organisation, Role
from mediation.reports.ledger.columns import CASE_FIELDS
from mediation.selectors import CaseFilters, case_list_visible_to


def may_use_ledger(user: Any) -> bool:
    """The ledger belongs to the offices that keep it: supervisors, administrators and auditors.

    Mediators work from the case list; the district exports and supervisors export
    their scope (DOMAIN.md §5). Same roles as the statistics.
    """
    from mediation.reports.statistics import may_read_statistics

    return may_read_statistics(user)


def ledger_queryset(*, user: Any, filters: CaseFilters | None) -> QuerySet[Case]:
    """The case list's cases (its selector, its filters), oldest first, as ``CASE_FIELDS`` rows."""
    return (case_list_visible_to(user=user, filters=filters).order_by("received_at", "pk")
            .values_list(*CASE_FIELDS, named=True))


class PersonalDataChecker:
    """``permissions.may_see_personal_data`` for many cases at once: grants in memory, per-case grants in one query.

    A per-case check would ask django-guardian once per row for readers who hold no
    grant (auditors, administrators): 100,000 queries for one export.
    """

    def __init__(self, user: Any) -> None:
        self.grants = [g for g in permissions.grants_of(user) if "view_personal_data" in g.codenames]
        self.per_case: set[int] = set()
        if getattr(user, "is_authenticated", False) and user.is_active:
            self.per_case |= set(CaseUserObjectPermission.objects.filter(
                user=user, permission__codename="view_personal_data").values_list("content_object_id", flat=True))
            self.per_case |= set(CaseGroupObjectPermission.objects.filter(
                group__user=user, permission__codename="view_personal_data")
                .values_list("content_object_id", flat=True))

    def allows(self, case_id: int, organisation_id: int, organisation_path: str) -> bool:
        if case_id in self.per_case:
            return True
        # Grant.covers reads only the organisation's pk and path.
        place = _Place(organisation_id, organisation_path)
        return any(g.covers(place) for g in self.grants)

    def __call__(self, case: Case) -> bool:
        return self.allows(case.pk, case.organisation_id, case.organisation.path)


@dataclass(frozen=True)
class _Place:
    pk: int
    path: str


def personal_data_checker(user: Any) -> PersonalDataChecker:
    return PersonalDataChecker(user)


def import_organisations(user: Any) -> QuerySet[Organisation]:
    """Where ``user`` may import historical cases: supervisors their subtree, administrators the district."""
    q = Q(pk__in=[])
    found = False
    for g in permissions.grants_of(user):
        if (g.role == Role.SUPERVISOR and "register_case" in g.codenames) or g.role == Role.ADMINISTRATOR:
            q |= Q(path__startswith=g.organisation_path)
            found = True
    return Organisation.objects.filter(q).select_related("level") if found else Organisation.objects.none()


def may_import(user: Any) -> bool:
    return import_organisations(user).exists()
