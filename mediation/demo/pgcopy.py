"""Write rows of a model with PostgreSQL ``COPY`` (the writer of the bulk generator, ``demo.bulk``).

``bulk_create`` spends most of its time compiling a parameterised ``INSERT`` for
every value; ``COPY … FROM STDIN`` streams the rows instead, in PostgreSQL's binary
format (each value as the server stores it, typed by the column's type from the
catalog: no text to parse on either side). What ``bulk_create`` did besides, this
module does too:

* rows are model instances, or plain dicts of field values by attribute name
  (``case_id``, not ``case``) for rows nothing reads back: a dict costs a fraction
  of a model instance; the fields a dict leaves out get their ``get_default()``, as
  the model's constructor would give them;
* values are prepared as ``bulk_create`` prepares them: a self-stamping date field
  (``auto_now``/``auto_now_add`` switched on) gets the moment of writing, other
  values go through ``get_db_prep_save`` — except where that returns a well-typed
  value unchanged (integers, booleans, foreign keys, decimals, plain text, dates,
  aware datetimes), which are sent as they are;
* primary keys the caller needs before writing (children point at their parents)
  are reserved from the table's own sequence, ``count`` at a time and in order, so
  ids come out as ``bulk_create`` would have given them and later inserts continue
  after them; rows whose ids nobody needs get them from the column's default.

``Writer`` chooses: ``COPY`` on PostgreSQL, ``bulk_create`` on other databases.
"""
from __future__ import annotations

import datetime
from collections.abc import Callable, Iterable, Iterator, Sequence
from operator import attrgetter
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections, models
from django.utils import timezone

#: Field types whose ``get_db_prep_save`` on PostgreSQL returns a well-typed value unchanged.
_AS_IS = frozenset({
    models.AutoField, models.BigAutoField, models.SmallAutoField, models.IntegerField, models.BigIntegerField,
    models.SmallIntegerField, models.PositiveIntegerField, models.PositiveSmallIntegerField,
    models.PositiveBigIntegerField, models.BooleanField, models.ForeignKey, models.OneToOneField,
    models.DecimalField, models.CharField, models.TextField,
})

_sequences: dict[tuple[str, type[models.Model]], str] = {}


def available(using: str = DEFAULT_DB_ALIAS) -> bool:
    """Whether the database can ``COPY`` (PostgreSQL)."""
    return connections[using].vendor == "postgresql"


def reserve_ids(model: type[models.Model], count: int, using: str = DEFAULT_DB_ALIAS) -> list[int]:
    """The next ``count`` primary keys of ``model``'s sequence, in increasing order (one round trip)."""
    if count <= 0:
        return []
    connection = connections[using]
    with connection.cursor() as cursor:
        sequence = _sequences.get((using, model))
        if sequence is None:
            cursor.execute("SELECT pg_get_serial_sequence(%s, %s)",
                           [connection.ops.quote_name(model._meta.db_table), model._meta.pk.column])
            sequence = _sequences[(using, model)] = cursor.fetchone()[0]
        cursor.execute("SELECT nextval(%s) FROM generate_series(1, %s)", [sequence, count])
        return sorted(row[0] for row in cursor.fetchall())


def give_ids(model: type[models.Model], objs: Sequence[models.Model], using: str = DEFAULT_DB_ALIAS) -> None:
    """Reserve primary keys for the unsaved instances ``objs`` and set them, as saving would."""
    for obj, pk in zip(objs, reserve_ids(model, len(objs), using), strict=True):
        obj.pk = pk
        obj._state.adding = False
        obj._state.db = using


def _fields(model: type[models.Model], with_pk: bool) -> list[models.Field]:
    return [f for f in model._meta.concrete_fields if with_pk or not f.primary_key]


def _columns(fields: Iterable[Any]) -> list[str]:
    return [str(f.column) for f in fields]


def _converter(f: models.Field, connection: Any) -> Callable[[Any], Any] | None:
    """value → database value for a field whose values are not sent as they are, else None."""
    prep = f.get_db_prep_save

    def aware(v: Any) -> Any:  # an aware datetime goes as it is; a naive one as Django would make it
        return v if v is None or v.utcoffset() is not None else prep(v, connection)

    def date(v: Any) -> Any:
        return v if v is None or type(v) is datetime.date else prep(v, connection)

    def prepared(v: Any) -> Any:
        return prep(v, connection)

    if type(f) is models.DateTimeField:
        return aware
    if type(f) is models.DateField:
        return date
    return None if type(f) in _AS_IS else prepared


def _converters(fields: list[models.Field], connection: Any) -> list[tuple[int, Callable[[Any], Any]]]:
    """(position, converter) for the fields whose values are not sent as they are (stamped ones aside)."""
    out = []
    for i, f in enumerate(fields):
        if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
            continue  # stamped by the caller
        convert = _converter(f, connection)
        if convert is not None:
            out.append((i, convert))
    return out


def _stamped(fields: list[models.Field]) -> list[tuple[int, models.Field]]:
    return [(i, f) for i, f in enumerate(fields)
            if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False)]


def copy_objects(model: type[models.Model], objs: Sequence[models.Model], *, with_pk: bool = False,
                 using: str = DEFAULT_DB_ALIAS) -> None:
    """``COPY`` the instances ``objs`` into ``model``'s table; ``with_pk`` when their ids are reserved."""
    if not objs:
        return
    connection = connections[using]
    fields = _fields(model, with_pk)
    read = attrgetter(*[f.attname for f in fields])
    converters, stamped = _converters(fields, connection), _stamped(fields)

    single = len(fields) == 1  # attrgetter of one name gives the value, not a tuple

    def rows() -> Iterator[Sequence[Any]]:
        for obj in objs:
            row: Any = [read(obj)] if single else read(obj)
            if converters or stamped:
                row = list(row)
                for i, f in stamped:
                    row[i] = f.get_db_prep_save(f.pre_save(obj, True), connection)
                for i, convert in converters:
                    row[i] = convert(row[i])
            yield row

    copy_rows(model._meta.db_table, _columns(fields), rows(), using=using)


def copy_values(model: type[models.Model], values: Sequence[dict[str, Any]], *, with_pk: bool = False,
                using: str = DEFAULT_DB_ALIAS) -> None:
    """``COPY`` rows given as dicts of field values by attribute name; the rest get their defaults."""
    if not values:
        return
    connection = connections[using]
    fields = _fields(model, with_pk)
    position = {f.attname: i for i, f in enumerate(fields)}
    template = [None if callable(f.default) else f.get_default() for f in fields]
    called = [(i, f) for i, f in enumerate(fields) if callable(f.default)]
    converters = _converters(fields, connection)
    now = {i: (timezone.now() if isinstance(f, models.DateTimeField) else datetime.date.today())
           for i, f in _stamped(fields)}

    def rows() -> Iterator[list[Any]]:
        for given in values:
            row = template.copy()
            for name, value in given.items():
                row[position[name]] = value  # a name that is no column of the table fails here
            for i, f in called:
                if f.attname not in given:
                    row[i] = f.get_default()
            for i, stamp in now.items():
                row[i] = stamp
            for i, convert in converters:
                row[i] = convert(row[i])
            yield row

    copy_rows(model._meta.db_table, _columns(fields), rows(), using=using)


_types: dict[tuple[str, str], dict[str, int]] = {}


def _column_types(cursor: Any, using: str, table: str) -> dict[str, int]:
    """The type (oid) of each column of ``table``, read from the catalog once per run."""
    types = _types.get((using, table))
    if types is None:
        cursor.execute("SELECT attname, atttypid FROM pg_attribute WHERE attrelid = %s::regclass AND attnum > 0 "
                       "AND NOT attisdropped", [table])
        types = _types[(using, table)] = dict(cursor.fetchall())
    return types


def copy_rows(table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]],
              using: str = DEFAULT_DB_ALIAS) -> None:
    """``COPY`` plain rows (values already in the columns' database form) into ``table``.

    In PostgreSQL's binary format, with the columns' types from the catalog: the server
    then reads each value as it is stored instead of parsing its text (a timestamp, a
    date, a decimal), which was most of its work in a load.
    """
    connection = connections[using]
    quote = connection.ops.quote_name
    sql = f"COPY {quote(table)} ({', '.join(quote(c) for c in columns)}) FROM STDIN (FORMAT BINARY)"
    with connection.cursor() as cursor:
        types = _column_types(cursor, using, table)
        with cursor.cursor.copy(sql) as copy:
            copy.set_types([types[c] for c in columns])
            write = copy.write_row
            for row in rows:
                write(row)


class Writer:
    """Writes rows with ``COPY`` on PostgreSQL and with ``bulk_create`` elsewhere: the same rows, the same ids."""

    def __init__(self) -> None:
        self.copy = available()

    def keyed(self, model: type[models.Model], objs: list) -> None:
        """Instances whose primary keys later rows need: they get them."""
        if self.copy:
            give_ids(model, objs)
            copy_objects(model, objs, with_pk=True)
        else:
            model._default_manager.bulk_create(objs)

    def rows(self, model: type[models.Model], objs: list) -> None:
        if self.copy:
            copy_objects(model, objs)
        else:
            model._default_manager.bulk_create(objs)

    def keyed_values(self, model: type[models.Model], values: list[dict]) -> None:
        """Rows given as field values (``copy_values``) whose keys later rows need: they get them."""
        key = model._meta.pk.attname
        if self.copy:
            for row, pk in zip(values, reserve_ids(model, len(values)), strict=True):
                row[key] = pk
            copy_values(model, values, with_pk=True)
        else:
            for row, obj in zip(values, model._default_manager.bulk_create([model(**v) for v in values]),
                                strict=True):
                row[key] = obj.pk

    def values(self, model: type[models.Model], values: list[dict]) -> None:
        """Rows given as field values by attribute name, which nothing reads back."""
        if self.copy:
            copy_values(model, values)
        else:
            model._default_manager.bulk_create([model(**v) for v in values])

    def links(self, model: type[models.Model], names: tuple[str, ...], values: list[tuple]) -> None:
        """Rows of foreign keys only (many-to-many links, object permissions), as tuples of ids."""
        fields: list[Any] = [model._meta.get_field(name) for name in names]
        if self.copy:
            copy_rows(model._meta.db_table, _columns(fields), values)
        else:
            model._default_manager.bulk_create([model(**{f.attname: v for f, v in zip(fields, row, strict=True)})
                                                for row in values])
