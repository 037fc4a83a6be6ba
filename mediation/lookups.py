"""Lookups of the project's own.

``any_of``: a list of ids as one parameter. Django writes ``IN (%s, %s, …)`` with a placeholder and
a parameter prepared one by one for each value: for a search's 2,000 matches checked against the
user's reach, 7–8 ms of Django's time before the statement is sent, and a longer statement for
PostgreSQL to parse (docs/performance.md, "Seventh pass"). On PostgreSQL ``any_of`` writes
``= ANY(%s::bigint[])`` with the whole list as one array; elsewhere it is ``in``. Registered on
the big integer keys every model here has (``apps.MediationConfig.ready``).
"""
from __future__ import annotations

from typing import Any

from django.core.exceptions import EmptyResultSet
from django.db.models.lookups import In

#: What a ``bigint`` (the widest integer column) holds: a value beyond it matches no row.
BIGINT_RANGE = (-(2**63), 2**63 - 1)


class AnyOf(In):
    lookup_name = "any_of"

    def get_prep_lookup(self) -> Any:
        prepared = super().get_prep_lookup()
        if self.rhs_is_direct_value():  # on every database: a value no key holds is no parameter
            prepared = [v for v in prepared if v is None or BIGINT_RANGE[0] <= int(v) <= BIGINT_RANGE[1]]
        return prepared

    def as_postgresql(self, compiler: Any, connection: Any) -> tuple[str, tuple[Any, ...]]:
        if not self.rhs_is_direct_value():
            return self.as_sql(compiler, connection)
        values = list(dict.fromkeys(int(v) for v in self.rhs if v is not None))
        if not values:
            raise EmptyResultSet
        lhs, lhs_params = self.process_lhs(compiler, connection)
        return f"{lhs} = ANY(%s::bigint[])", (*lhs_params, values)
