"""The bell in the top bar: the unread count, one indexed COUNT, only when a page shows it."""
from __future__ import annotations

from typing import Any

from django.utils.functional import SimpleLazyObject


def notifications(request) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}

    def unread() -> int:
        from notifications.models import Notification

        return Notification.objects.filter(user=user, read_at__isnull=True).count()

    return {"unread_notifications": SimpleLazyObject(unread)}
