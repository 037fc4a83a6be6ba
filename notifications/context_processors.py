"""The bell in the top bar: the unread count, read with the frame's figures (``mediation/frame.py``) in
one statement, only when a page shows it."""
from __future__ import annotations

from typing import Any

from django.utils.functional import SimpleLazyObject


def notifications(request) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}

    def unread() -> int:
        from mediation.frame import frame_unread

        return frame_unread(request)

    return {"unread_notifications": SimpleLazyObject(unread)}
