"""``mediation/migration_operations.py``: what the migrations that drop an index run can be written
into a migration again (``squashmigrations``), and says which index, table and column."""
from __future__ import annotations

import importlib

from django.db.migrations.serializer import serializer_factory

from mediation.migration_operations import create_index, drop_index, index_dropped


def test_an_index_dropped_is_two_partials_django_can_write():
    drop, create = index_dropped("mediation_case_employer_id_8f314dd7", "mediation_case", "employer_id")
    assert (drop.func, drop.args) == (drop_index, ("mediation_case_employer_id_8f314dd7",))
    assert (create.func, create.args) == (
        create_index, ("mediation_case_employer_id_8f314dd7", "mediation_case", "employer_id"))
    for function in (drop, create):
        text, imports = serializer_factory(function).serialize()
        assert text.startswith("functools.partial(mediation.migration_operations.")
        assert imports == {"import functools", "import mediation.migration_operations"}


def test_the_migrations_drop_the_indexes_they_replace():
    for name, index, column in (("0023_case_list_in_its_orders", "mediation_case_received_at_996c3eb1", "received_at"),
                                ("0024_case_employer_cases", "mediation_case_employer_id_8f314dd7", "employer_id")):
        migration = importlib.import_module(f"mediation.migrations.{name}").Migration
        run = [op for outer in migration.operations for op in getattr(outer, "database_operations", [])]
        assert len(run) == 1 and migration.atomic is False
        assert run[0].code.args == (index,) and run[0].reverse_code.args == (index, "mediation_case", column)
