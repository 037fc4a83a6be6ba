from __future__ import annotations

from typing import Any

from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext_lazy as _
from rest_framework.exceptions import NotFound
from rest_framework.pagination import CursorPagination
from rest_framework.request import Request


class TimeCursorPagination(CursorPagination):
    """A cursor over a list ordered by a time, newest first. A cursor whose position is not a time (made
    up or damaged by the client) is an invalid cursor like any other (404 with the message below),
    never a filter the database is asked to read."""

    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = 100
    # Lazy: translated when the error is raised, in the request's language.
    invalid_cursor_message = _("翻页游标无效，请从第一页重新开始。")  # type: ignore[assignment]

    def decode_cursor(self, request: Request) -> Any:
        cursor = super().decode_cursor(request)
        if cursor is not None and cursor.position is not None:
            try:
                valid = parse_datetime(str(cursor.position)) is not None
            except ValueError:  # the right shape, an impossible date (month 13)
                valid = False
            if not valid:
                raise NotFound(self.invalid_cursor_message)
        return cursor


class CasePagination(TimeCursorPagination):
    """Newest first, as the web list; a cursor, not a page number, so rows added meanwhile neither
    repeat nor go missing while a client walks the pages."""

    ordering = ("-received_at", "-pk")
