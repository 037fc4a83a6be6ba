from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from rest_framework.pagination import CursorPagination


class CasePagination(CursorPagination):
    """Newest first, as the web list; a cursor, not a page number, so rows added meanwhile neither
    repeat nor go missing while a client walks the pages."""

    ordering = ("-received_at", "-pk")
    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = 100
    # Lazy: translated when the error is raised, in the request's language.
    invalid_cursor_message = _("翻页游标无效，请从第一页重新开始。")  # type: ignore[assignment]
