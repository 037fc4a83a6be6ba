"""Logs as one JSON object a line, each carrying its request's id and no personal data (docs/operations.md, Logs).

* :class:`RequestIdMiddleware` (second in MIDDLEWARE, after the request-size limit) gives every
  request an id: the proxy's ``X-Request-ID`` when it is a plain token (8-64 letters, digits, ``.``,
  ``_``, ``-``), else a new one, the same id the audit trail records
  (:func:`mediation.audit.log.request_info`). The id goes back in the response's ``X-Request-ID``
  header and, through :class:`RequestContextFilter`, on every log record written while the request
  runs, with the signed-in user's id (never a name).
* :class:`JsonFormatter` writes a fixed set of keys. Anything else a library attaches to a record is
  dropped: Django's ``django.request`` records carry the request itself, whose text holds the query
  string (a search by ID number, a phone). Gunicorn's access lines (``deploy/gunicorn.conf.py``)
  become method, path (without the query string), status, bytes, duration and request id.
"""
from __future__ import annotations

import contextvars
import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.utils.functional import empty
from pythonjsonlogger.json import JsonFormatter as _LibraryJsonFormatter

if TYPE_CHECKING:
    from django.http import HttpRequest, HttpResponse

HEADER = "X-Request-ID"

#: Keys a JSON line may carry; every other attribute of a record is dropped.
FIELDS = ("time", "level", "logger", "message", "request_id", "user_id", "status_code", "method", "path",
          "status", "bytes", "duration_ms", "remote_addr", "task_id", "task_name", "job_id", "exc_info",
          "stack_info")

#: Gunicorn's access-log atoms (gunicorn.glogging.Logger.atoms) each key is read from.
_ACCESS_ATOMS = {"method": "m", "path": "U", "status": "s", "bytes": "B", "duration_ms": "M",
                 "remote_addr": "h", "request_id": "{x-request-id}o"}

#: A query string in a message: gunicorn's "Error handling request /cases/?q=…" names the whole URI.
_QUERY = re.compile(r"\?\S*")


@dataclass(frozen=True)
class RequestContext:
    request_id: str
    request: HttpRequest


_current: contextvars.ContextVar[RequestContext | None] = contextvars.ContextVar("log_request", default=None)


def current_request_id() -> str | None:
    context = _current.get()
    return context.request_id if context else None


class RequestIdMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        # Imported here: the logging configuration imports this module before the apps are loaded.
        from mediation.audit.log import request_info

        request_id = request.request_id = request_info(request).request_id  # type: ignore[attr-defined]
        token = _current.set(RequestContext(request_id, request))
        try:
            response = self.get_response(request)
        finally:
            _current.reset(token)
        response[HEADER] = request_id
        return response


def _user_id(request: HttpRequest) -> int | None:
    """The signed-in user's id if the request has already looked its user up (never a query of its own)."""
    user = getattr(request, "user", None)
    wrapped = getattr(user, "_wrapped", user)  # AuthenticationMiddleware's lazy object, or a plain user
    if wrapped is None or wrapped is empty or not getattr(wrapped, "is_authenticated", False):
        return None
    return getattr(wrapped, "pk", None)


class RequestContextFilter(logging.Filter):
    """Puts the running request's id and user id on each record (on the handler: covers every logger)."""

    def filter(self, record: logging.LogRecord) -> bool:
        context = _current.get()
        request = context.request if context is not None else None
        request_id = context.request_id if context is not None else None
        attached = getattr(record, "request", None)
        if request is None and hasattr(attached, "META"):
            # Django logs a 4xx/5xx response on django.request after the middleware has returned,
            # with the request attached to the record: the id the middleware gave it is on it.
            request = attached
            request_id = getattr(attached, "request_id", None)
        if request_id is not None and getattr(record, "request_id", None) is None:
            record.request_id = request_id
        if request is not None:
            record.user_id = _user_id(request)
        else:
            _add_task(record)
        return True


def _add_task(record: logging.LogRecord) -> None:
    """Inside a Celery task: the task's id and name (a job's lines can be followed across retries)."""
    from celery import current_task

    if current_task and getattr(current_task.request, "id", None):
        record.task_id = current_task.request.id
        record.task_name = current_task.name


class JsonFormatter(_LibraryJsonFormatter):
    """python-json-logger's formatter, keeping only :data:`FIELDS`."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("rename_fields", {"levelname": "level", "name": "logger"})
        kwargs.setdefault("timestamp", "time")
        super().__init__("{levelname}{name}{message}", style="{", **kwargs)

    def add_fields(self, log_data: dict[str, Any], record: logging.LogRecord, message_dict: dict[str, Any]) -> None:
        super().add_fields(log_data, record, message_dict)
        if record.name == "gunicorn.access" and isinstance(record.args, Mapping):
            for key, atom in _ACCESS_ATOMS.items():
                value = record.args.get(atom)
                if value not in (None, "-", ""):
                    log_data[key] = value
        if record.name.startswith("gunicorn.") and isinstance(log_data.get("message"), str):
            log_data["message"] = _QUERY.sub("", log_data["message"])
        for key in [key for key in log_data if key not in FIELDS]:
            del log_data[key]
        for key in ("request_id", "user_id"):
            if log_data.get(key) is None:
                log_data.pop(key, None)
