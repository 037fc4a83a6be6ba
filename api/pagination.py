from __future__ import annotations

from rest_framework.pagination import CursorPagination


class CasePagination(CursorPagination):
    """Newest first, as the web list; a cursor, not a page number, so rows added meanwhile neither
    repeat nor go missing while a client walks the pages."""

    ordering = ("-received_at", "-pk")
    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = 100
