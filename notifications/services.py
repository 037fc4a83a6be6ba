"""The deadline sweep and the daily digest: insert first, then send (docs/operations.md, "Reminders").

1. Every reminder due now is inserted as a ``pending`` row; the unique constraint on
   (key, threshold, user) makes a second sweep's insert a no-op (``ON CONFLICT DO NOTHING``).
2. Each pending row is then claimed with ``SELECT … FOR UPDATE SKIP LOCKED``, its e-mail and
   SMS sent, and the row marked ``sent`` in the same transaction. Two sweeps at once never
   claim the same row; a worker that dies mid-sweep leaves the rows it had not finished
   ``pending`` and the next sweep sends them. (A worker killed after the mail server accepted
   a message but before the commit sends that one message again: the one case in which a
   reminder can arrive twice, never not at all.)

Messages carry the case number and what is due, never a party's name, ID number or phone.
"""
from __future__ import annotations

import datetime
import logging
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from notifications import sms
from notifications.deadlines import ESCALATION_THRESHOLD, DueItem, current_threshold, due_items, thresholds
from notifications.models import Notification, NotificationPreference, unread_of
from workflows.clocks import WorkCalendar, local_today

logger = logging.getLogger("notifications")

DIGEST = "digest"
#: The threshold of a one-off notice (``notify``): not a deadline, told once per event key.
NOTICE = "notice"


@dataclass(frozen=True)
class SweepResult:
    reached: int
    sent: int
    failed: int


def _when(item: DueItem, threshold: str, today: datetime.date) -> str:
    if threshold == ESCALATION_THRESHOLD:
        return _("请尽快审批")
    days = thresholds().get(threshold, 0)
    if days < 0 or today > item.due:
        return _("已超期%(days)s天") % {"days": (today - item.due).days}
    if today == item.due:
        return _("今天到期")
    return _("还有%(days)s天到期") % {"days": (item.due - today).days}


def _message(item: DueItem, threshold: str, today: datetime.date) -> tuple[str, str]:
    """Subject and body: case number, what is due, the date. Nothing about the parties."""
    when = _when(item, threshold, today)
    subject = _("%(number)s：%(what)s，%(when)s") % {"number": item.case_number, "what": item.label, "when": when}
    body = "\n".join([
        _("案号：%(number)s") % {"number": item.case_number},
        _("事项：%(what)s") % {"what": item.label},
        _("期限：%(due)s（%(when)s）") % {"due": item.due.isoformat(), "when": when},
        _("查看案件：%(path)s") % {"path": reverse("case_detail", kwargs={"pk": item.case_id})},
    ])
    return subject[:200], body


def deadline_sweep(*, today: datetime.date | None = None, now: datetime.datetime | None = None) -> SweepResult:
    """Insert every reminder reached by ``today`` (once per deadline, threshold and user), then send."""
    today = today or local_today()
    calendar = WorkCalendar.from_db()
    rows: list[Notification] = []
    for item in due_items(today=today, calendar=calendar, now=now):
        threshold = current_threshold(item, today, calendar)
        if threshold is None:
            continue
        subject, body = _message(item, threshold, today)
        rows.extend(Notification(user_id=user_id, key=item.key, threshold=threshold, case_id=item.case_id,
                                 due_on=item.due, subject=subject, body=body) for user_id in item.recipients)
    created = _insert(rows)
    sent, failed = deliver_pending()
    return SweepResult(created, sent, failed)


def daily_digest(*, today: datetime.date | None = None, now: datetime.datetime | None = None) -> SweepResult:
    """One digest per user of what is due (reached a threshold), on working days only.

    Beat starts it every day at 08:30 Beijing time; on a day off under the State Council
    schedule (weekends not swapped to work, holidays, the administrator's overrides) it does nothing.
    """
    today = today or local_today()
    calendar = WorkCalendar.from_db()
    if not calendar.is_workday(today)[0]:
        return SweepResult(0, 0, 0)
    per_user: dict[int, list[tuple[DueItem, str]]] = defaultdict(list)
    for item in due_items(today=today, calendar=calendar, now=now):
        threshold = current_threshold(item, today, calendar)
        if threshold is not None:
            for user_id in item.recipients:
                per_user[user_id].append((item, threshold))
    off = set(NotificationPreference.objects.filter(user_id__in=list(per_user), digest=False)
              .values_list("user_id", flat=True))
    rows = []
    for user_id, entries in per_user.items():
        if user_id in off:
            continue
        entries.sort(key=lambda e: (e[0].due, e[0].case_number))
        lines = [f"{i.due.isoformat()}  {i.case_number}  {i.label}（{_when(i, t, today)}）" for i, t in entries]
        subject = _("每日期限提醒（%(date)s，共%(n)s项）") % {"date": today.isoformat(), "n": len(entries)}
        rows.append(Notification(user_id=user_id, key=f"{DIGEST}:{today.isoformat()}", threshold=DIGEST,
                                 due_on=today, subject=subject, body="\n".join(lines)))
    created = _insert(rows)
    sent, failed = deliver_pending()
    return SweepResult(created, sent, failed)


def _insert(rows: list[Notification]) -> int:
    """Insert, skipping those already there (the unique constraint decides, not a read before).

    Returns how many reminders were reached, whether or not an earlier sweep had them already."""
    if not rows:
        return 0
    Notification.objects.bulk_create(rows, ignore_conflicts=True, batch_size=500)
    return len(rows)


def deliver_pending() -> tuple[int, int]:
    """Send every pending notification through the user's channels, each in its own transaction."""
    sent = failed = 0
    for pk in list(Notification.objects.filter(status=Notification.Status.PENDING)
                   .order_by("pk").values_list("pk", flat=True)):
        try:
            with transaction.atomic():
                n = (Notification.objects.select_for_update(skip_locked=True, of=("self",))
                     .select_related("user").filter(pk=pk, status=Notification.Status.PENDING).first())
                if n is None:  # another sweep has it, or has sent it
                    continue
                if n.case_id and not _still_sees(n):
                    # The case moved away from them since the reminder was made: it is not theirs to hear of.
                    n.delete()
                    continue
                _send(n)
                n.status, n.sent_at = Notification.Status.SENT, timezone.now()
                n.save(update_fields=["status", "sent_at"])
            sent += 1
        except Exception as exc:  # one refused address or gateway must not stop the others; retried next sweep
            failed += 1
            logger.warning("notification %s not delivered (%s); it stays pending", pk, type(exc).__name__)
    return sent, failed


def _still_sees(n: Notification) -> bool:
    from mediation.models import Case
    from mediation.permissions import visible_cases_q

    q = visible_cases_q(n.user)
    return q is not None and Case.objects.filter(q, pk=n.case_id).exists()


def _send(n: Notification) -> None:
    """Each of the user's channels once. A channel that fails is logged and not retried when another
    succeeded (retrying would repeat the one that worked); only when every channel failed does the
    notification stay pending for the next sweep. An SMS carries the subject only (a digest's subject
    says how many items; the list is in the centre and the e-mail)."""
    pref = NotificationPreference.objects.filter(user_id=n.user_id).first() or NotificationPreference()
    channels: list[tuple[str, Any]] = []
    if pref.by_email and n.user.email:
        channels.append(("email", lambda: send_mail(n.subject, n.body, settings.DEFAULT_FROM_EMAIL, [n.user.email])))
    if pref.by_sms and pref.mobile:
        channels.append(("sms", lambda: sms.send_sms(pref.mobile, n.subject)))
    failures: list[tuple[str, Exception]] = []
    for name, send in channels:
        try:
            send()
        except Exception as exc:  # the other channel still goes out
            failures.append((name, exc))
            logger.warning("notification %s: %s not delivered (%s)", n.pk, name, type(exc).__name__)
    if channels and len(failures) == len(channels):
        raise failures[0][1]
    logger.info("notification %s sent (%s, %s)", n.pk, n.key, n.threshold)


def notify(user: Any, *, key: str, subject: str, body: str) -> None:
    """A one-off notice to ``user`` (e.g. an export finished), through the same channels and the same
    once-only rule as reminders: ``key`` names the event, so telling twice is a no-op. ``subject`` and
    ``body`` must carry no party's personal data."""
    Notification.objects.bulk_create(
        [Notification(user=user, key=key[:120], threshold=NOTICE, subject=subject[:200], body=body)],
        ignore_conflicts=True)
    deliver_pending()


# --- the notification centre: one's own notifications only ----------------------------------------

def notifications_of(user: Any) -> Any:
    """``user``'s own notifications, newest first (the centre's page and the API)."""
    return Notification.objects.filter(user=user).select_related("case")


def notification_mark_read(*, user: Any, notification_id: int) -> Notification:
    """Mark one of ``user``'s notifications read (once: the first reading time stays). Anyone else's
    is not found (``Http404``): ids reveal nothing."""
    from django.http import Http404

    with transaction.atomic():
        n = Notification.objects.select_for_update().filter(pk=notification_id, user=user).first()
        if n is None:
            raise Http404
        if n.read_at is None:
            n.read_at = timezone.now()
            n.save(update_fields=["read_at"])
    return n


def notifications_mark_all_read(*, user: Any) -> int:
    """Mark all of ``user``'s unread notifications read; returns how many."""
    return unread_of(user).update(read_at=timezone.now())
