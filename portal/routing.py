"""Which township (镇街) receives an online application (docs/portal.md, "Routing").

The desk needs no such rule: a mediator registers at their own organisation. Online, in order:

1. an employer already on file by its unified social credit code goes where that employer's
   disputes go: the township above (or at) the committee that serves it, else the township of the
   latest case registered against it;
2. otherwise the township the worker chose;
3. otherwise the one township whose place name (its name up to 街道, 镇 or 乡) the employer's
   address contains.

Only active organisations at line 2 (joint mediation) are townships here; the line of a level is data.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from django.db.models import QuerySet

from mediation import identity
from mediation.models import Case, Employer, Organisation
from portal.models import RoutedBy

TOWNSHIP_LINE = 2
_PLACE = re.compile(r"^(.+?(?:街道|镇|乡))")


def townships() -> QuerySet[Organisation]:
    return Organisation.objects.filter(is_active=True, level__line=TOWNSHIP_LINE).order_by("path", "pk")


def place_name(organisation: Organisation) -> str:
    """锦屏街道劳动争议调解中心 → 锦屏街道; an organisation whose name names no place gives ""."""
    match = _PLACE.match(organisation.name.strip())
    return match.group(1) if match else ""


def township_of(organisation: Organisation | None) -> Organisation | None:
    """The organisation itself when it is a township, else the nearest township above it."""
    if organisation is None:
        return None
    ids = [int(p) for p in organisation.path.strip("/").split("/") if p] or [organisation.pk]
    found = {o.pk: o for o in townships().filter(pk__in=ids)}
    return next((found[i] for i in reversed(ids) if i in found), None)


@dataclass(frozen=True)
class Route:
    organisation: Organisation
    routed_by: str


def route(*, credit_code: str, chosen: Organisation | None, address: str) -> Route | None:
    """The township for an application, or None when nothing decides it (the worker must choose)."""
    code = identity.normalize_credit_code(credit_code) if credit_code else ""
    employer = Employer.objects.filter(credit_code=code).first() if code else None
    if employer is not None:
        for committee in employer.committees.filter(is_active=True).order_by("path"):
            town = township_of(committee)
            if town is not None:
                return Route(town, RoutedBy.EMPLOYER)
        latest = (Case.objects.filter(employer=employer).select_related("registered_organisation")
                  .order_by("-received_at", "-pk").first())
        town = township_of(latest.registered_organisation) if latest else None
        if town is not None:
            return Route(town, RoutedBy.EMPLOYER)
    if chosen is not None:
        return Route(chosen, RoutedBy.CHOSEN)
    address = (address or "").strip()
    if address:
        named = [t for t in townships() if place_name(t) and place_name(t) in address]
        if len(named) == 1:
            return Route(named[0], RoutedBy.ADDRESS)
    return None
