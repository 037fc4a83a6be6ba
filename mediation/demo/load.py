"""The bulk generator's loading machinery (``demo.bulk``): indexes set aside, and a planner process.

**Load, then index.** Maintaining a table's secondary indexes row by row costs PostgreSQL
more than taking the rows in; building an index once over the loaded table costs far
less (``pg_restore`` loads that way too). ``indexes_set_aside`` drops the plain secondary
indexes of the given tables — the non-unique ones that back no constraint — and creates
them again, from the definitions the catalog gave (``pg_get_indexdef``: an index added
later is covered without a list to keep), with a generous ``maintenance_work_mem``.
Unique indexes and the indexes of constraints (primary keys, unique constraints, the
targets of foreign keys) stay and keep guarding every row. The caller holds one
transaction around the drop, the load and the creation: PostgreSQL's DDL is
transactional, so a run that fails or is interrupted anywhere rolls back to the
database as it was — every index there, none of the rows. Dropping an index takes an
``ACCESS EXCLUSIVE`` lock on its table until the end of that transaction.

**Planning in a second process.** Planning a batch is pure Python and needs no database
once the generator is prepared, so ``planned`` forks a child that plans the batches, in
order and with the one random generator it inherited (a seed gives the same data
whatever the timing), and sends each batch down a pipe as a pickle, while the parent
writes the previous one: the two no longer share one interpreter lock. Objects both
sides already hold from the preparation (organisations, employers) travel by reference
(``shared``), not as copies. The child never uses the parent's database connection: it
sets it aside unused (never closed: closing would end the server session the parent
is using) and leaves with ``os._exit``, so no exit handler or finaliser of the parent's
runs in it. Where ``fork`` is unavailable the batches are planned in a helper thread
of the same process instead (one batch ahead), with the same results.
"""
from __future__ import annotations

import copyreg
import functools
import io
import os
import pickle
import signal
import struct
import traceback
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any, NamedTuple

from django.apps import apps
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import Choices
from django.db.models.base import ModelState

#: Memory for building each index again (the session's setting, for this transaction only).
MAINTENANCE_WORK_MEM = "768MB"


# ------------------------------------------------------------------------- indexes

class PlainIndex(NamedTuple):
    name: str  #: qualified
    table: str
    definition: str  #: the ``CREATE INDEX`` statement


def plain_indexes(tables: Sequence[str], using: str = DEFAULT_DB_ALIAS) -> list[PlainIndex]:
    """The tables' non-unique indexes that back no constraint."""
    with connections[using].cursor() as cursor:
        cursor.execute(
            "SELECT quote_ident(n.nspname) || '.' || quote_ident(x.relname), t.relname, pg_get_indexdef(i.indexrelid) "
            "FROM pg_index i JOIN pg_class x ON x.oid = i.indexrelid JOIN pg_class t ON t.oid = i.indrelid "
            "JOIN pg_namespace n ON n.oid = t.relnamespace "
            "WHERE t.relname = ANY(%s) AND n.nspname = ANY(current_schemas(false)) "
            "AND NOT i.indisunique AND NOT i.indisprimary AND i.indisvalid "
            "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid) "
            "ORDER BY t.relname, x.relname", [list(tables)])
        return [PlainIndex(*row) for row in cursor.fetchall()]


class SetAside:
    """The indexes a load dropped: ``build`` creates some of them again before the end, the rest
    come back when the load ends (``indexes_set_aside``)."""

    def __init__(self, indexes: list[PlainIndex], using: str) -> None:
        self.indexes = indexes
        self.pending = list(indexes)
        self.using = using

    def __len__(self) -> int:
        return len(self.indexes)

    def build(self, *, except_tables: Sequence[str] = ()) -> int:
        """Create the pending indexes, but those of ``except_tables``; returns how many."""
        now = [index for index in self.pending if index.table not in except_tables]
        with connections[self.using].cursor() as cursor:
            cursor.execute(f"SET LOCAL maintenance_work_mem = '{MAINTENANCE_WORK_MEM}'")
            for index in now:
                cursor.execute(index.definition)
        self.pending = [index for index in self.pending if index not in now]
        return len(now)


@contextmanager
def indexes_set_aside(tables: Sequence[str], using: str = DEFAULT_DB_ALIAS) -> Iterator[SetAside]:
    """Drop the tables' plain indexes, let the caller load, create them again (PostgreSQL only).

    Must run inside the caller's transaction (``transaction.atomic``), which holds the
    drop, the load and the creation together: if anything fails, nothing of it stays.
    The caller may create some of them earlier (``SetAside.build``), e.g. the ones a
    set-based update after the load reads through, before the indexes of the table it
    rewrites (rows rewritten with their indexes there cost several times as much).
    """
    connection = connections[using]
    if not connection.in_atomic_block:
        raise RuntimeError("indexes_set_aside needs the caller's transaction around the whole load")
    aside = SetAside(plain_indexes(tables, using), using)
    with connection.cursor() as cursor:
        # PostgreSQL changes no index of a table with checks still pending on it: whatever the
        # caller's transaction deferred (Django's foreign keys are deferred) is checked now.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        for index in aside.indexes:
            cursor.execute(f"DROP INDEX {index.name}")
    yield aside
    aside.build()


# ------------------------------------------------------------------------- planner

_HEADER = struct.Struct("!Q")


class PlannerFailed(RuntimeError):
    """The planner process stopped with an error (its traceback is the message)."""


def can_fork() -> bool:
    return hasattr(os, "fork")


@contextmanager
def planned(plan: Callable[[Any], Any], chunks: Sequence[Any], *, fork: bool,
            shared: Sequence[Any] = ()) -> Iterator[Iterator[Any]]:
    """``plan(chunk)`` for every chunk, in order, computed one step ahead of the consumer.

    With ``fork`` (and ``os.fork`` available) a child process plans and pickles the
    results; the objects of ``shared`` (held by both sides since before the fork) travel
    by reference and come out as the parent's same objects. Otherwise a helper thread plans.
    """
    if fork and can_fork():
        with _forked(plan, chunks, shared) as results:
            yield results
    else:
        with _threaded(plan, chunks) as results:
            yield results


@contextmanager
def _threaded(plan: Callable[[Any], Any], chunks: Sequence[Any]) -> Iterator[Iterator[Any]]:
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="generate-cases-planner") as pool:
        def results() -> Iterator[Any]:
            if not chunks:
                return
            future = pool.submit(plan, chunks[0])
            for n in range(len(chunks)):
                result = future.result()
                if n + 1 < len(chunks):
                    future = pool.submit(plan, chunks[n + 1])
                yield result

        yield results()


@contextmanager
def _forked(plan: Callable[[Any], Any], chunks: Sequence[Any], shared: Sequence[Any]) -> Iterator[Iterator[Any]]:
    global _shared_objects
    _shared_objects = list(shared)
    keys = {id(obj): n for n, obj in enumerate(_shared_objects)}
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the planner: never returns
        os.close(read_end)
        _plan_in_child(plan, chunks, keys, write_end)
    os.close(write_end)
    reader = os.fdopen(read_end, "rb", buffering=1 << 20)
    finished = False
    try:
        def results() -> Iterator[Any]:
            nonlocal finished
            for _ in range(len(chunks)):
                kind, payload = _receive(reader)
                if kind == "error":
                    raise PlannerFailed(payload)
                yield payload
            finished = True

        yield results()
    finally:
        reader.close()
        if not finished:
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        _, status = os.waitpid(pid, 0)
        if finished and status != 0:
            raise PlannerFailed(f"the planner process ended with status {status}")


def _plan_in_child(plan: Callable[[Any], Any], chunks: Sequence[Any], keys: dict[int, int], fd: int) -> None:
    status = 1
    try:
        _set_reducers(keys)
        _set_connections_aside()
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        with os.fdopen(fd, "wb", buffering=1 << 20) as out:
            for chunk in chunks:
                try:
                    result = plan(chunk)
                except BaseException:
                    _send(out, ("error", traceback.format_exc()))
                    raise
                _send(out, ("ok", result))
                del result
        status = 0
    except BaseException:  # the parent learns of it from the message or the closed pipe
        pass
    finally:
        os._exit(status)


_kept: list[Any] = []


def _set_connections_aside() -> None:
    """In the child: make sure no query goes down the parent's sockets, and that none is closed.

    The inherited connection objects are kept referenced (a finalised connection would tell
    the server goodbye, ending the parent's session) and replaced by nothing, so a query
    would open a connection of its own instead of writing into the parent's.
    """
    for conn in connections.all(initialized_only=True):
        _kept.append(conn.connection)
        conn.connection = None


_shared_objects: list[Any] = []


def _shared(n: int) -> Any:
    """The parent's own object number ``n`` of ``shared`` (what a reference to it unpickles as)."""
    return _shared_objects[n]


def _rebuilt(cls: Any, state: dict[str, Any]) -> Any:
    """An object of ``cls`` with the attributes ``state`` (what a model instance or its state unpickles as)."""
    obj = cls.__new__(cls)
    obj.__dict__.update(state)
    return obj


def _by_attributes(obj: Any) -> tuple[Any, ...]:
    return (_rebuilt, (type(obj), obj.__dict__))


def _as_plain(plain: type, member: Any) -> tuple[Any, ...]:
    return (plain, (member.value,))


def _choice_classes() -> list[type]:
    out: list[type] = []
    todo: list[type] = [Choices]
    while todo:
        cls = todo.pop()
        out.append(cls)
        todo += cls.__subclasses__()
    return out


def _set_reducers(keys: dict[int, int]) -> None:
    """In the child: how its batches are pickled, registered where pickle looks them up in C (copyreg's table).

    The shared objects go as references; model instances (and their ``_state``) as their
    attributes, without Django's general-purpose ``__reduce__``; a choice (an enum member)
    as its plain value, which is what the column receives. The parent unpickles with
    nothing registered: the stream names the functions that rebuild.
    """
    def shared_or_copied(obj: Any) -> Any:
        n = keys.get(id(obj))
        return (_shared, (n,)) if n is not None else obj.__reduce_ex__(pickle.HIGHEST_PROTOCOL)

    table = copyreg.dispatch_table
    for model in apps.get_models(include_auto_created=True):
        table[model] = _by_attributes
    table[ModelState] = _by_attributes
    for cls in _choice_classes():
        plain = next((base for base in cls.__mro__ if base in (str, int, float)), None)
        if plain is not None:
            table[cls] = functools.partial(_as_plain, plain)
    for obj in _shared_objects:
        table[type(obj)] = shared_or_copied


def _send(out: Any, message: tuple[str, Any]) -> None:
    buffer = io.BytesIO()
    pickle.Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL).dump(message)
    data = buffer.getbuffer()
    out.write(_HEADER.pack(len(data)))
    out.write(data)
    out.flush()


def _receive(reader: Any) -> tuple[str, Any]:
    header = reader.read(_HEADER.size)
    if len(header) < _HEADER.size:
        raise PlannerFailed("the planner process stopped before sending every batch")
    (size,) = _HEADER.unpack(header)
    data = reader.read(size)
    if len(data) < size:
        raise PlannerFailed("the planner process stopped in the middle of a batch")
    kind, payload = pickle.loads(data)
    return kind, payload
