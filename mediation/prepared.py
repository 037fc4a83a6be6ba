"""Statements written once per process and read afresh on every request.

Django builds and compiles a statement anew each time a queryset is read. For the short lists of
a home page, whose filters carry the user's whole reach (subtrees, per-case grants, escalation
requests waiting), that costs about a millisecond of Python each — more than the database takes to
answer them (docs/performance.md, "Seventh pass"). Yet what such a statement *says* depends only on
who asks (:func:`reach_key`) and a few values the caller names (the day, a limit); only what it
*finds* changes from one request to the next. So each is written once per process for its key,
and its rows are read afresh every time:

- :func:`rows`: the rows of a queryset (model instances with their ``select_related`` relations,
  or values), exactly as reading the queryset would give them;
- :func:`statement` / :func:`remembered`: a statement of one's own (SQL and parameters).

What a statement reads at run time (the organisation tree, the grants, the cases) is always read
afresh; what decides how it is *written* must be in its key: the user (id, active, superuser and
:func:`permissions.reach_signature`: organisations, roles and permissions) is always part of it,
and every other value the caller's ``build`` reads must be in the caller's part. A store holds at
most :data:`STORE_SIZE` statements: a process serving more keys than that starts again.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from django.core.exceptions import EmptyResultSet
from django.db import connections
from django.db.models import QuerySet
from django.db.models.sql import Query

from mediation import permissions

#: A statement and its parameters.
Statement = tuple[str, tuple[Any, ...]]
#: How many statements a store keeps.
STORE_SIZE = 1024

T = TypeVar("T")


def remembered(store: dict[Any, T], key: Any, write: Callable[[], T]) -> T:
    """What ``write`` gives for ``key``, written once per process and kept in ``store``."""
    found = store.get(key)
    if found is None:
        found = write()
        if len(store) >= STORE_SIZE:
            store.clear()
        store[key] = found
    return found


def reach_key(user: Any) -> tuple[Any, ...]:
    """Who asks, as far as it changes how a statement is written: the user, whether the account
    is active or a superuser, and what their memberships reach (``permissions.reach_signature``)."""
    return (getattr(user, "pk", None), getattr(user, "is_active", False), getattr(user, "is_superuser", False),
            permissions.reach_signature(user))


_STATEMENTS: dict[Any, Statement] = {}


def statement(user: Any, key: tuple[Any, ...], write: Callable[[], Statement]) -> Statement:
    """The statement ``write`` gives for ``user`` and ``key``, written once per process."""
    return remembered(_STATEMENTS, (*reach_key(user), *key), write)


@dataclass(frozen=True)
class _Written:
    """A queryset's statement and what its compiler knew of the columns when it wrote it."""
    vendor: str
    sql: str
    params: tuple[Any, ...]
    select: Any
    klass_info: Any
    annotation_col_map: Any
    col_count: int
    has_extra_select: bool
    #: Where each of the caller's values goes among ``params``: (position, which value).
    slots: tuple[tuple[int, int], ...] = ()


#: What stands in for the caller's values while a statement is written (:func:`rows`' ``values``):
#: negative integers no id takes, within every integer column's range (a value beyond it would make
#: Django write a statement that matches nothing), told apart from every real value by what they are.
_STAND_INS = tuple(-2_000_000_000 - n for n in range(8))
#: The range of the widest integer column: a value beyond it is never bound to a written statement.
_BIGINT = (-(2**63), 2**63 - 1)


class _WrittenQuery(Query):
    """A query whose statement is written already: its compiler answers with it instead of writing
    it again. It never leaves this module (:func:`rows` returns a list), so nothing can narrow it
    after its statement was written."""

    written: _Written
    #: The statement's parameters for this read: the written ones, the caller's values in their slots.
    bound: tuple[Any, ...]

    def get_compiler(self, using: Any = None, connection: Any = None, elide_empty: bool = True) -> Any:
        compiler = super().get_compiler(using, connection, elide_empty)
        written, bound = self.written, self.bound
        compiler.select, compiler.klass_info = written.select, written.klass_info
        compiler.annotation_col_map = written.annotation_col_map
        compiler.col_count, compiler.has_extra_select = written.col_count, written.has_extra_select
        compiler.as_sql = lambda *args, **kwargs: (written.sql, bound)
        return compiler


#: Per key, a queryset whose statement is written and the statement; ``None`` for a key whose
#: statement cannot be written once (:func:`rows`' ``values`` do not stay parameters).
_QUERYSETS: dict[Any, tuple[QuerySet[Any], _Written] | None] = {}
_UNWRITTEN: Any = object()


def rows(user: Any, key: tuple[Any, ...], build: Callable[..., QuerySet[Any]],
         values: tuple[int, ...] = ()) -> list[Any]:
    """The rows of the queryset ``build`` gives for ``user`` and ``key`` — read afresh, its statement
    written once per process (again if the database it is read from speaks another dialect).

    ``values`` (integers, such as a case's id) are the statement's own and not part of ``key``:
    ``build`` is given stand-ins for them when it is written, and each read puts them in their
    places. A statement that does not take each of them as a parameter of its own is never kept:
    it is then built and read as Django reads it, every time."""
    if any(not _BIGINT[0] <= value <= _BIGINT[1] for value in values):
        return list(build(*values))  # beyond any column's range: Django's own answer (no rows)
    full_key = (*reach_key(user), *key)
    found = _QUERYSETS.get(full_key, _UNWRITTEN)
    if found is not None and found is not _UNWRITTEN and connections[found[0].db].vendor != found[1].vendor:
        found = _UNWRITTEN
    if found is _UNWRITTEN:
        found = _write_with_stand_ins(build, len(values))
        if len(_QUERYSETS) >= STORE_SIZE:
            _QUERYSETS.clear()
        _QUERYSETS[full_key] = found
    if found is None:  # the values do not stay parameters: read as Django reads them, every time
        return list(build(*values))
    template, written = found
    if not written.sql:
        return []
    bound = list(written.params)
    for position, which in written.slots:
        bound[position] = values[which]
    queryset = template.all()
    queryset.query.bound = tuple(bound)
    return list(queryset)


def _write_with_stand_ins(build: Callable[..., QuerySet[Any]], n: int) -> tuple[QuerySet[Any], _Written] | None:
    """:func:`_write` of what ``build`` gives for ``n`` stand-ins; ``None`` where they cannot stand in
    (a queryset that refuses a negative number, as a slice does: the real values are then read as
    Django reads them, and any error they cause is raised there)."""
    if not n:
        return _write(build())
    try:
        queryset = build(*_STAND_INS[:n])
    except (ValueError, TypeError):
        return None
    return _write(queryset, n)


def _write(queryset: QuerySet[Any], stand_ins: int = 0) -> tuple[QuerySet[Any], _Written] | None:
    """``queryset`` with its statement written: a copy whose query answers with it, and the statement;
    ``None`` if one of the ``stand_ins`` first values of :data:`_STAND_INS` is not a parameter of
    its own in it (written into the SQL, say, or changed on its way)."""
    db = queryset.db
    compiler = queryset.query.get_compiler(using=db)
    try:
        sql, params = compiler.as_sql()
    except EmptyResultSet:  # a filter that can match nothing: no statement, no rows
        sql, params = "", ()
    slots = tuple((position, _STAND_INS.index(value)) for position, value in enumerate(params)
                  if type(value) is int and value in _STAND_INS)
    if stand_ins and ({which for _, which in slots} != set(range(stand_ins))
                      or any(str(abs(value)) in sql for value in _STAND_INS[:stand_ins])):
        return None
    written = _Written(connections[db].vendor, sql, tuple(params), compiler.select, compiler.klass_info,
                       compiler.annotation_col_map, getattr(compiler, "col_count", 0),
                       getattr(compiler, "has_extra_select", False), slots)
    template = queryset.all()
    template.query.__class__ = _WrittenQuery
    template.query.written = written  # type: ignore[attr-defined]
    return template, written
