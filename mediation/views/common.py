"""What every case view shares: finding the case within scope and turning refusals into answers."""
from __future__ import annotations

import functools
from typing import Any, Callable

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Page, Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.functional import cached_property
from django.utils.translation import gettext as _

from workflows.errors import ActionNotAllowed, ConcurrentChange


def forbidden(request: HttpRequest, message: str) -> HttpResponse:
    return render(request, "mediation/forbidden.html", {"message": message}, status=403)


def case_errors(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Map refusals to answers: 403 with the reason; a state conflict back to the case with a message."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except PermissionDenied as exc:
            return forbidden(request, str(exc) or _("您没有执行此操作的权限。"))
        except ConcurrentChange as exc:
            messages.warning(request, exc.message)
            return redirect("case_detail", pk=kwargs.get("pk"))
        except ActionNotAllowed as exc:
            messages.error(request, exc.message)
            return redirect("case_detail", pk=kwargs.get("pk"))

    return wrapper


def apply_errors(form, exc) -> None:
    """Put a service's ValidationError onto the form's fields (or the form when the field is unknown)."""
    if hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


class BoundedPaginator(Paginator):
    """Pages of a list whose count never reads the whole scope.

    ``exact_count``, when known cheaply (the tallies, ``selectors.visible_case_count``), is the
    count; otherwise at most ``cap`` + 1 rows are counted and beyond that the list says
    "more than ``cap``" (``capped``) and offers its first ``cap`` rows page by page.
    """

    def __init__(self, object_list: Any, per_page: int, *, exact_count: int | None = None, cap: int = 1_000,
                 ids_first: bool = False, count_rows: Callable[[int], int] | None = None, **kwargs: Any) -> None:
        super().__init__(object_list, per_page, **kwargs)
        self.exact_count, self.cap, self.capped = exact_count, cap, False
        #: How the rows are counted when no exact count is given: given the cap, at most cap + 1 of them
        #: (a statement written once, say); the list's own ``count()`` of its first cap + 1 rows otherwise.
        self.count_rows = count_rows
        #: Pages after the first are read in two steps: the ids of the page's rows (the list's own
        #: statement, its order and offset, selecting nothing but the id: on the case list, in its usual
        #: order, read from one index alone, ``case_list_newest``), then those rows, by their ids, with
        #: every column and join the list shows. Read in one statement, the database fetched each row
        #: the offset passes over with those columns and joins: 40–45 ms for the 250th page of a
        #: mediator's 22,000 cases, against 5 ms (docs/performance.md, "Fourteenth pass").
        self.ids_first = ids_first

    def page(self, number: Any) -> Page:
        page = super().page(number)
        if self.ids_first and page.number > 1:
            rows: Any = page.object_list  # the list's slice for the page, not read yet
            ids = list(rows.values_list("pk", flat=True))
            listed: Any = self.object_list  # a QuerySet
            page.object_list = listed.filter(pk__in=ids)  # the list's own filters and order again
        return page

    @cached_property
    def count(self) -> int:
        if self.exact_count is not None:
            return self.exact_count
        rows: Any = self.object_list  # a QuerySet: counted in the database, at most cap + 1 rows
        counted = (self.count_rows(self.cap) if self.count_rows is not None
                   else rows.order_by()[: self.cap + 1].count())
        self.capped = counted > self.cap
        return min(counted, self.cap)
