"""Who may use the ledger, which cases it shows, and where one may import.

Thin names over ``mediation.permissions``, which decides all of it: the ledger keeps
no rule of its own.
"""
from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from mediation import permissions
from mediation.models import Case, Organisation
from mediation.reports.ledger.columns import CASE_FIELDS
from mediation.reports.statistics import may_read_statistics
from mediation.selectors import CaseFilters, case_list_visible_to

#: Reading the ledger is reading the figures' cases: the statistics' permission.
may_use_ledger = may_read_statistics
#: Whose identity numbers a ledger shows in full, for many cases at once.
personal_data_checker = permissions.PersonalDataChecker


def ledger_queryset(*, user: Any, filters: CaseFilters | None) -> QuerySet[Case]:
    """The case list's cases (its selector, its filters), oldest first, as ``CASE_FIELDS`` rows."""
    return (case_list_visible_to(user=user, filters=filters).order_by("received_at", "pk")
            .values_list(*CASE_FIELDS, named=True))


def import_organisations(user: Any) -> QuerySet[Organisation]:
    """Where ``user`` may import historical cases: where they hold ``import_ledger``."""
    return permissions.organisations_where(user, "import_ledger").select_related("level")


def may_import(user: Any) -> bool:
    return permissions.holds(user, "import_ledger")
