"""Lookups of the project's own.

``any_of``: a list of ids as one parameter. Django writes ``IN (%s, %s, …)`` with a placeholder and
a parameter prepared one by one for each value: for a search's 2,000 matches checked against the
user's reach, 7–8 ms of Django's time before the statement is sent, and a longer statement for
PostgreSQL to parse (docs/performance.md, "Seventh pass"). On PostgreSQL ``any_of`` writes
``= ANY(%s::bigint[])`` with the whole list as one array; elsewhere it is ``in``. Registered on
the big integer keys every model here has (``apps.MediationConfig.ready``).

Given as :class:`Keys` (not a list or tuple), the ids are taken whole: Django's query builder looks
into each value of a list for an expression, and the lookup prepares each value through the field; for
a search's 2,000 matches that was some 4,000 calls a request. Plain ints are kept as they are (the
field would return them unchanged); anything else is prepared by the field as before.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, overload

from django.core.exceptions import EmptyResultSet
from django.db.models.lookups import In

#: What a ``bigint`` (the widest integer column) holds: a value beyond it matches no row.
BIGINT_RANGE = (-(2**63), 2**63 - 1)


class Keys(Sequence[Any]):
    """Ids for ``any_of``, passed whole (see the module's docstring). Not a list or tuple on purpose.
    Ints as a rule; other values are prepared by the field, as in a list."""

    __slots__ = ("_values",)

    def __init__(self, values: Iterable[Any]) -> None:
        self._values = tuple(values)

    @overload
    def __getitem__(self, index: int) -> Any: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[Any]: ...

    def __getitem__(self, index: int | slice) -> Any:
        return self._values[index]

    def __len__(self) -> int:
        return len(self._values)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Keys) and self._values == other._values

    def __hash__(self) -> int:
        return hash(self._values)

    def __repr__(self) -> str:
        return f"Keys({list(self._values)!r})"


class AnyOf(In):
    lookup_name = "any_of"

    def get_prep_lookup(self) -> Any:
        if self.rhs_is_direct_value() and all(type(v) is int for v in self.rhs):
            return [v for v in self.rhs if BIGINT_RANGE[0] <= v <= BIGINT_RANGE[1]]
        prepared = super().get_prep_lookup()
        if self.rhs_is_direct_value():  # on every database: a value no key holds is no parameter
            prepared = [v for v in prepared if v is None or BIGINT_RANGE[0] <= int(v) <= BIGINT_RANGE[1]]
        return prepared

    def as_postgresql(self, compiler: Any, connection: Any) -> tuple[str, tuple[Any, ...]]:
        if not self.rhs_is_direct_value():
            return self.as_sql(compiler, connection)
        values = dict.fromkeys(int(v) for v in self.rhs if v is not None)
        if not values:
            raise EmptyResultSet
        lhs, lhs_params = self.process_lhs(compiler, connection)
        # The array as its text ('{1,2,3}'), cast by PostgreSQL: the driver would look at every value
        # to choose the array's type first.
        return f"{lhs} = ANY(%s::bigint[])", (*lhs_params, "{" + ",".join(map(str, values)) + "}")
