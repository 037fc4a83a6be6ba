"""Which audit rows a reader sees (the decision itself is ``permissions.may_read_audit``)."""
from __future__ import annotations

import datetime
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone

from mediation import permissions
from mediation.audit.models import AuditEvent


def events_visible_to(user: Any) -> QuerySet[AuditEvent]:
    """All rows for the district's readers; otherwise the events of cases the reader may see, and their own."""
    from mediation.models import Case

    if not permissions.may_read_audit(user):
        return AuditEvent.objects.none()
    if permissions.may_read_audit(user, everything=True):
        return AuditEvent.objects.all()
    own = Q(actor_id=user.pk)
    cases = permissions.visible_cases_q(user)
    if cases is None:
        return AuditEvent.objects.filter(own)
    return AuditEvent.objects.filter(own | Q(case_id__in=Case.objects.filter(cases).values("pk")))


def _day_start(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


def events_search(*, user: Any, case: str = "", username: str = "", date_from: datetime.date | None = None,
                  date_to: datetime.date | None = None) -> QuerySet[AuditEvent]:
    """The reader's rows by case number, username and local date range, newest first (by their time:
    rows appended later with an earlier time, the reads mediation migration 0021 moved onto the
    trail, stand at their own time)."""
    qs = events_visible_to(user)
    if case.strip():
        qs = qs.filter(case_number__icontains=case.strip())
    if username.strip():
        qs = qs.filter(actor_name__iexact=username.strip())
    if date_from:
        qs = qs.filter(at__gte=_day_start(date_from))
    if date_to:
        qs = qs.filter(at__lt=_day_start(date_to + datetime.timedelta(days=1)))
    return qs.order_by("-at", "-pk")
