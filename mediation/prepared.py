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
- :func:`statement`: a statement of one's own (SQL and parameters).

What a statement reads at run time (the organisation tree, the grants, the cases) is always read
afresh; what decides how it is *written* must be in its key: the user (id, active, superuser and
:func:`permissions.reach_signature`: organisations, roles and permissions) is always part of it,
and every other value the caller's ``build`` reads must be in the caller's part (an object such as
a dict of annotations by :class:`Same`). Each store keeps the statements used last
(:class:`Store`): a process serving more keys than that writes the oldest again when they return.
"""
from __future__ import annotations

import hashlib
import itertools
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar, cast

from django.conf import settings
from django.core.exceptions import EmptyResultSet
from django.db import DatabaseError, ProgrammingError, connections
from django.db.models import QuerySet
from django.db.models.sql import Query

from mediation import permissions
from mediation.lookups import BIGINT_RANGE

#: A statement and its parameters.
Statement = tuple[str, tuple[Any, ...]]

T = TypeVar("T")
_MISSING: Any = object()


class Store(Generic[T]):
    """At most ``size`` entries, the one used longest ago dropped first; shared by a process's threads."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._entries: OrderedDict[Any, T] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Any, default: Any = None) -> Any:
        with self._lock:
            found = self._entries.get(key, _MISSING)
            if found is _MISSING:
                return default
            self._entries.move_to_end(key)
            return found

    def put(self, key: Any, value: T) -> None:
        with self._lock:
            self._entries[key] = value
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)

    def __iter__(self) -> Iterator[Any]:
        with self._lock:
            return iter(list(self._entries))


class Same:
    """An object as part of a key, by identity (a dict of annotations, say): two keys are the same
    only for the very same object, which the key keeps alive, so that its identity is never reused."""

    __slots__ = ("obj",)

    def __init__(self, obj: Any) -> None:
        self.obj = obj

    def __hash__(self) -> int:
        return id(self.obj)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Same) and other.obj is self.obj


def reach_key(user: Any) -> tuple[Any, ...]:
    """Who asks, as far as it changes how a statement is written: the user, whether the account
    is active or a superuser, and what their memberships reach (``permissions.reach_signature``)."""
    return (getattr(user, "pk", None), getattr(user, "is_active", False), getattr(user, "is_superuser", False),
            permissions.reach_signature(user))


#: Statements of one's own: a few hundred bytes each.
_STATEMENTS: Store[Statement] = Store(1024)

#: Choices of how to write a user's statements (:func:`decided`): a few bytes each.
_DECISIONS: Store[Any] = Store(1024)


def decided(user: Any, key: tuple[Any, ...], decide: Callable[[], T]) -> T:
    """What ``decide`` answers for ``user`` and ``key``, asked once per process, as a statement is written
    once: a choice of how to write statements (``permissions.asks_grants_row_by_row``) that later
    changes in the data may make less apt, never wrong."""
    full_key = (*reach_key(user), *key)
    found = _DECISIONS.get(full_key, _MISSING)
    if found is _MISSING:
        found = decide()
        _DECISIONS.put(full_key, found)
    return cast(T, found)


def statement(user: Any, key: tuple[Any, ...], write: Callable[[], Statement]) -> Statement:
    """The statement ``write`` gives for ``user`` and ``key``, written once per process."""
    return _statement((*reach_key(user), *key), write)


def statement_of_anyone(key: tuple[Any, ...], write: Callable[[], Statement]) -> Statement:
    """:func:`statement` of a statement whose ``key`` names everything it depends on, whoever asks
    (the user's grants, say, of which :func:`reach_key` is made)."""
    return _statement(("anyone", *key), write)


def _statement(full_key: tuple[Any, ...], write: Callable[[], Statement]) -> Statement:
    found = _STATEMENTS.get(full_key)
    if found is None:
        found = write()
        _STATEMENTS.put(full_key, found)
    return found


def fetchall(db: str, written: Statement) -> list[tuple[Any, ...]]:
    """The rows of a statement of one's own (:func:`statement`), read on the connection ``db`` and
    planned there once (:func:`on_server`)."""
    def read() -> list[tuple[Any, ...]]:
        sql, params = on_server(db, *written)
        with connections[db].cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall()

    return _again_if_missing(db, read)


# --- planned once per connection ------------------------------------------------------------
#
# A statement written once per process is sent with the same values every time for its key (the
# user's reach, the day), so on PostgreSQL it is also *planned* once per connection: prepared
# (``PREPARE``) with its values written in, then sent as ``EXECUTE``. With every value known when it is
# planned, its plan is the one the database would choose for it anyway (no generic plan for parameters
# it cannot see); planning was about half of what the database spent on a supervisor's home page
# (docs/performance.md, "Eleventh pass"). A statement of :func:`rows` bound to a value of the caller's
# own on each read (a case's id) is prepared with that value as its one parameter instead, and only
# outside a transaction (:func:`_on_server_with_values`; "Thirteenth pass"). A prepared statement
# lives as long as its session, whatever the transactions around it do; each connection keeps the
# ones sent last, as many as ``settings.DB_PREPARED_STATEMENTS`` says (a supervisor's home page sends
# seventeen, a case page up to seventeen; each holds about a third of a megabyte of the backend's memory),
# deallocating the oldest; 0 turns it off (a pooler in transaction mode cannot keep a session's
# statements).
#: Each statement as ``PREPARE`` takes it (its values written in as the database adapter writes them;
#: for one with values of the caller's own, their types and ``$1``… in their places) and its digest (once
#: per process). A prepared statement's name holds the digest of its text, then a number never given
#: before in this process: in every process and session a name stands for one text only, so an
#: ``EXECUTE`` that reaches a session other than the one it was prepared in (a pooler in transaction
#: mode, set up against the advice above) finds that same statement or none, never another; and no
#: session is ever asked to prepare a name it holds already.
_TEXTS: Store[tuple[str, str]] = Store(1024)
_NUMBERS = itertools.count(1)


def on_server(db: str, sql: str, params: Sequence[Any], slots: Sequence[tuple[int, int]] = ()) -> Statement:
    """What to send for ``sql`` with ``params`` on the connection ``db``: on PostgreSQL, ``EXECUTE`` of
    the statement with its values written in, prepared on this connection the first time it is sent
    there (one statement more, once); elsewhere, or when turned off, the statement itself. Only for
    statements sent again and again as they are (:func:`statement`, :func:`rows`): another would be
    prepared for nothing and push out one that is.

    ``slots`` (:class:`_Written`): the parameters that are the caller's own values on each read (a
    case's id), as (position among ``params``, which value). Those stay parameters of the prepared
    statement (``$1``…, ``bigint``), so that one statement serves every case; the others are written in.
    A statement PostgreSQL will not prepare so is sent as it is (and remembered as such).
    """
    connection = connections[db]
    kept = settings.DB_PREPARED_STATEMENTS
    if not sql or connection.vendor != "postgresql" or kept <= 0:
        return sql, tuple(params)
    if slots:
        return _on_server_with_values(connection, sql, params, slots)
    names = _session_statements(connection)
    key = (sql, tuple((type(value), repr(value)) for value in params))  # 1 is not True, 1.50 not 1.5
    written = _TEXTS.get(key)
    if written is None:
        text = " AS " + connection.ops.compose_sql(sql, params)  # type: ignore[attr-defined]  # PostgreSQL's own
        written = (text, hashlib.sha256(text.encode()).hexdigest()[:24])
        _TEXTS.put(key, written)
    return f"EXECUTE {_prepared_name(connection, names, *written)}", ()


def _prepared_name(connection: Any, names: OrderedDict[str, str], text: str, digest: str) -> str:
    """The name of ``text`` (``PREPARE``'s own: a statement, or its parameters' types and the statement)
    on this connection's session, prepared there now if the session does not hold it."""
    kept = settings.DB_PREPARED_STATEMENTS
    name = names.get(text)
    if name is not None:
        names.move_to_end(text)
        return name
    name = f"mediation_{digest}_{next(_NUMBERS)}"
    # The oldest are forgotten first: should the round trip fail after dropping them (a DEALLOCATE stays
    # done whatever becomes of its transaction), none is taken for held; one it did not drop stays in the
    # session unused until the session ends.
    dropped = [names.popitem(last=False)[1] for _ in range(len(names) - kept + 1)]
    with connection.cursor() as cursor:  # one round trip: the oldest dropped, this one prepared
        cursor.execute("".join(f"DEALLOCATE {old}; " for old in dropped) + f"PREPARE {name}{text}")
    names[text] = name
    return name


def fetch_with_parameters(db: str, sql: str, types: Sequence[str],
                          values: Sequence[Any]) -> list[tuple[Any, ...]] | None:
    """The rows of ``sql`` — PostgreSQL's own, its parameters ``$1``… of ``types`` — for ``values``: one
    statement for every value, prepared once per connection and sent as ``EXECUTE name(…)`` (as
    :func:`_on_server_with_values` does for ids, here for values of any type: a session's key, say).
    ``None`` where it is not to be read so — another database, preparing turned off, values bound by the
    server, or a transaction open (a lost statement would end it): the caller then reads as Django does."""
    connection = connections[db]
    if (connection.vendor != "postgresql" or settings.DB_PREPARED_STATEMENTS <= 0 or in_transaction(db)
            or connection.settings_dict.get("OPTIONS", {}).get("server_side_binding")):
        return None
    text = f"({', '.join(types)}) AS {sql}"
    written = _TEXTS.get(("typed", text))
    if written is None:
        written = (text, hashlib.sha256(text.encode()).hexdigest()[:24])
        _TEXTS.put(("typed", text), written)

    def read() -> list[tuple[Any, ...]]:
        name = _prepared_name(connection, _session_statements(connection), *written)
        with connection.cursor() as cursor:
            cursor.execute(f"EXECUTE {name}({', '.join(['%s'] * len(values))})", tuple(values))
            return cursor.fetchall()

    return _again_if_missing(db, read)


#: A placeholder of Django's statements, or a percent sign written twice (one in the statement).
_PLACEHOLDER = re.compile(r"%%|%s")


def _on_server_with_values(connection: Any, sql: str, params: Sequence[Any],
                           slots: Sequence[tuple[int, int]]) -> Statement:
    """:func:`on_server` of a statement with values of the caller's own (``slots``): prepared with those
    as ``bigint`` parameters ``$1``… and every other value written in, then ``EXECUTE name(v1, …)``.
    PostgreSQL plans the first few executions for their values and then keeps a generic plan if it
    costs no more, which for a row's id (the only such values, :func:`rows`) it does: its planning,
    three milliseconds for the case page's statement against a third of one to run it, is spared."""
    if connection.settings_dict.get("OPTIONS", {}).get("server_side_binding"):
        return sql, tuple(params)  # ``EXECUTE name(%s)`` needs the values written in by the client
    held = _session_statements(connection)
    which_at = dict(slots)
    count = max(which_at.values()) + 1
    key = ("with values", sql, tuple((type(value), repr(value)) for i, value in enumerate(params)
                                     if i not in which_at), tuple(sorted(which_at.items())))
    written = _TEXTS.get(key)
    if written is None:
        written = _with_parameters(connection, sql, params, which_at, count)
        _TEXTS.put(key, written)
    if written is _PLAIN:
        return sql, tuple(params)
    values = [0] * count
    for position, which in slots:
        values[which] = int(params[position])
    try:
        name = _prepared_name(connection, held, *written)
    except ProgrammingError as error:
        if _missing_prepared(error):  # one the round trip dropped was gone already: read again (the caller)
            raise
        # PostgreSQL would not prepare it so (a value where only an ``integer`` goes, say): sent as it
        # is from now on, as before this statement was prepared.
        _TEXTS.put(key, _PLAIN)
        return sql, tuple(params)
    return f"EXECUTE {name}({', '.join(['%s'] * count)})", tuple(values)


#: In :data:`_TEXTS`: a statement with values of its own that is sent as it is (not prepared).
_PLAIN: Any = ("", "")


def _with_parameters(connection: Any, sql: str, params: Sequence[Any], which_at: dict[int, int],
                     count: int) -> tuple[str, str]:
    """``PREPARE``'s text of ``sql`` with the values at ``which_at``'s positions as parameters and its
    digest; :data:`_PLAIN` if Django's placeholders are not one per parameter as expected."""
    placeholders = [match.group() for match in _PLACEHOLDER.finditer(sql)].count("%s")
    if placeholders != len(params):
        return _PLAIN
    kept_params: list[Any] = []
    positions = itertools.count()

    def parameter(match: re.Match[str]) -> str:
        if match.group() == "%%":
            return "%%"
        position = next(positions)
        if position in which_at:
            return f"${which_at[position] + 1}"
        kept_params.append(params[position])
        return "%s"

    body = connection.ops.compose_sql(_PLACEHOLDER.sub(parameter, sql), kept_params)
    text = f"({', '.join(['bigint'] * count)}) AS {body}"
    return text, hashlib.sha256(text.encode()).hexdigest()[:24]


def _session_statements(connection: Any) -> OrderedDict[str, str]:
    """What the connection's session holds prepared: text → name, the one sent longest ago first."""
    connection.close_if_health_check_failed()  # a session replaced now, not between here and the cursor
    connection.ensure_connection()
    held = getattr(connection, "_mediation_prepared", None)
    if held is None or held[0] is not connection.connection:  # a new session holds none yet
        held = (connection.connection, OrderedDict())
        connection._mediation_prepared = held
    return held[1]


def forget_prepared(db: str) -> None:
    """Forget what the session of ``db`` holds prepared: the next statement is prepared again."""
    connections[db]._mediation_prepared = None  # type: ignore[attr-defined]


def in_transaction(db: str) -> bool:
    """Whether a transaction is open on the connection ``db``: an ``atomic`` block, or autocommit off."""
    connection = connections[db]
    return connection.in_atomic_block or not connection.get_autocommit()


def _missing_prepared(error: BaseException) -> bool:
    """Whether ``error`` is the database's "prepared statement does not exist" (a session whose statements
    were dropped behind this process's back: ``DISCARD ALL``, ``DEALLOCATE ALL``, a pooler)."""
    return getattr(error.__cause__, "sqlstate", None) == "26000"


def _again_if_missing(db: str, read: Callable[[], T]) -> T:
    """``read()``; if the session no longer holds a statement it was told it prepared, forget them all and
    read once more (preparing again), unless a transaction is open: the error has ended it already."""
    try:
        return read()
    except DatabaseError as error:
        if not _missing_prepared(error) or in_transaction(db):
            raise
    forget_prepared(db)
    return read()


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
    #: The converters of its columns' values (Django's ``get_converters``), found on its first read: they
    #: depend on the columns written and the database's dialect alone, both fixed with the statement.
    converters: dict[tuple[int, ...], Any] = field(default_factory=dict, compare=False, repr=False)


#: What stands in for the caller's values while a statement is written (:func:`rows`' ``values``):
#: negative integers no id takes, within every integer column's range (a value beyond it would make
#: Django write a statement that matches nothing). A statement is written with both sets, and kept
#: only if the two differ in nothing but these, each where the other has its own. Up to 100 values
#: (a page of the case list's ids, ``selectors.with_first_applicants``).
_STAND_INS = (tuple(-2_000_000_000 - n for n in range(100)), tuple(-2_100_000_000 - n for n in range(100)))


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
        compiler.get_converters = lambda expressions: _converters(written, compiler, expressions)
        if written.slots and in_transaction(compiler.using):
            # A value of its own on every read (a case's id) and a transaction open: sent as it is, as
            # the grants are (``permissions.grants_of``): an access check (``case_get_for_user``) never
            # depends there on what the session holds prepared, which a lost statement would fail
            # together with the transaction.
            compiler.as_sql = lambda *args, **kwargs: (written.sql, bound)
        else:
            sent = on_server(compiler.using, written.sql, bound, written.slots)
            compiler.as_sql = lambda *args, **kwargs: sent
        return compiler


def _converters(written: _Written, compiler: Any, expressions: list[Any]) -> Any:
    """Django's ``compiler.get_converters(expressions)``, found once per statement: the columns are the
    written statement's own (the same objects on every read), so the answer is too."""
    key = tuple(map(id, expressions))
    found = written.converters.get(key)
    if found is None:
        found = written.converters[key] = type(compiler).get_converters(compiler, expressions)
    return found


#: Per key, a queryset whose statement is written and the statement; ``None`` for a key whose
#: statement cannot be written once (:func:`rows`' ``values`` do not stay parameters). Some tens of
#: kilobytes each (the queryset's expressions): a few hundred, the lists of a few dozen users.
_QUERYSETS: Store[tuple[QuerySet[Any], _Written] | None] = Store(256)


def rows(user: Any, key: tuple[Any, ...], build: Callable[..., QuerySet[Any]],
         values: tuple[int, ...] = ()) -> list[Any]:
    """The rows of the queryset ``build`` gives for ``user`` and ``key`` — read afresh, its statement
    written once per process (again if the database it is read from speaks another dialect).

    ``values`` (ids, such as a case's: integers that go where a ``bigint`` does) are the statement's own
    and not part of ``key``: ``build`` is given stand-ins for them when it is written, and each read
    puts them in their places. A statement that does not take each of them, unchanged, as a parameter
    of its own is never kept: it is then built and read as Django reads it, every time. A queryset that
    prefetches related rows is refused (its prefetches' querysets would be shared by every read)."""
    return _read((*reach_key(user), *key), build, values)


def rows_of_anyone(key: tuple[Any, ...], build: Callable[..., QuerySet[Any]], values: tuple[int, ...]) -> list[Any]:
    """:func:`rows` of a statement that reads the same whoever asks: its filter names nothing but
    ``values`` (the rows of one case, say, whose reading the caller has decided already), so who
    asks is not part of its key."""
    return _read(("anyone", *key), build, values)


def _read(full_key: tuple[Any, ...], build: Callable[..., QuerySet[Any]], values: tuple[int, ...]) -> list[Any]:
    if any(not BIGINT_RANGE[0] <= value <= BIGINT_RANGE[1] for value in values):
        return list(build(*values))  # beyond any column's range: Django's own answer (no rows)
    found = _QUERYSETS.get(full_key, _MISSING)
    if found is not _MISSING and found is not None and connections[found[0].db].vendor != found[1].vendor:
        found = _MISSING
    if found is _MISSING:
        found = _write_with_stand_ins(build, len(values))
        _QUERYSETS.put(full_key, found)
    if found is None:  # the values do not stay parameters: read as Django reads them, every time
        return list(build(*values))
    template, written = found
    if not written.sql:
        return []
    bound = list(written.params)
    for position, which in written.slots:
        bound[position] = type(bound[position])(values[which])  # as the database adapter wrapped it
    queryset = template.all()
    queryset.query.bound = tuple(bound)
    # Planned once per connection. A read that fails leaves the queryset unread: read again, its
    # compiler is asked afresh (and prepares the statement again where the session lost it).
    return _again_if_missing(queryset.db, lambda: list(queryset))


def _write_with_stand_ins(build: Callable[..., QuerySet[Any]], n: int) -> tuple[QuerySet[Any], _Written] | None:
    """:func:`_write` of what ``build`` gives for ``n`` stand-ins; ``None`` where they cannot stand in
    for the values: refused (a slice refuses a negative number), written into the statement's text,
    or changed on their way (``pk + 1``, or a branch taken on the value) — told by writing the
    statement with each set of :data:`_STAND_INS` and comparing."""
    if not n:
        return _write(build())
    try:
        built = [build(*stand_ins[:n]) for stand_ins in _STAND_INS]
    except (ValueError, TypeError):
        return None
    first, second = (_write(queryset, stand_ins[:n]) for queryset, stand_ins in zip(built, _STAND_INS, strict=True))
    if (first[1].sql != second[1].sql or len(first[1].params) != len(second[1].params)
            or first[1].slots != second[1].slots or {which for _, which in first[1].slots} != set(range(n))
            or any(a != b for i, (a, b) in enumerate(zip(first[1].params, second[1].params, strict=True))
                   if i not in dict(first[1].slots))):
        return None
    return first


def _write(queryset: QuerySet[Any], stand_ins: tuple[int, ...] = ()) -> tuple[QuerySet[Any], _Written]:
    """``queryset`` with its statement written: a copy whose query answers with it, and the statement
    (where ``stand_ins`` are among its parameters: its slots)."""
    if queryset._prefetch_related_lookups:  # type: ignore[attr-defined]
        raise TypeError("prepared.rows() reads no queryset that prefetches related rows")
    db = queryset.db
    compiler = queryset.query.get_compiler(using=db)
    try:
        sql, params = compiler.as_sql()
    except EmptyResultSet:  # a filter that can match nothing: no statement, no rows
        sql, params = "", ()
    slots = tuple((position, stand_ins.index(value)) for position, value in enumerate(params)
                  if isinstance(value, int) and not isinstance(value, bool) and value in stand_ins)
    written = _Written(connections[db].vendor, sql, tuple(params), compiler.select, compiler.klass_info,
                       compiler.annotation_col_map, getattr(compiler, "col_count", 0),
                       getattr(compiler, "has_extra_select", False), slots)
    template = queryset.all()
    template.query.__class__ = _WrittenQuery
    template.query.written = written  # type: ignore[attr-defined]
    return template, written
