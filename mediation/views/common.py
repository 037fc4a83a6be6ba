"""What every case view shares: finding the case within scope and turning refusals into answers."""
from __future__ import annotations

import functools
from typing import Any, Callable

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
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
