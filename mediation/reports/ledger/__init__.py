"""The case ledger (台账, DOMAIN.md §8): export to .xlsx, and import of historical ledgers.

``columns``: the column spec both directions share. ``export``: the cases of the case
list (``case_list_visible_to`` with the list's own filters), one row each, streamed
to a temporary file with flat memory; identity numbers masked unless the reader may
see them (``access``). ``template``: the empty ledger to fill in. ``importer``: the
same columns read back, each row a form (``forms``) that yields the registration
``case_register`` checks; the history to the recorded state (``history``) is
replayed along the lifecycle graph; all rows are written (``writer``) or none, and
rows imported before are skipped.
"""
from __future__ import annotations

from mediation.reports.ledger.access import (
    PersonalDataChecker,
    import_organisations,
    ledger_queryset,
    may_import,
    may_use_ledger,
    personal_data_checker,
)
from mediation.reports.ledger.columns import (
    COLUMN_BY_KEY,
    COLUMNS,
    MAX_IMPORT_BYTES,
    MAX_IMPORT_ROWS,
    Column,
    Outcome,
    _headers,
    case_outcome,
    outcome_of,
)
from mediation.reports.ledger.export import ExportResult, ledger_export
from mediation.reports.ledger.importer import ImportReport, Problem, ledger_import
from mediation.reports.ledger.template import ledger_template

__all__ = [
    "COLUMNS", "COLUMN_BY_KEY", "Column", "ExportResult", "ImportReport", "MAX_IMPORT_BYTES", "MAX_IMPORT_ROWS",
    "Outcome", "PersonalDataChecker", "Problem", "_headers", "case_outcome", "import_organisations", "ledger_export",
    "ledger_import", "ledger_queryset", "ledger_template", "may_import", "may_use_ledger", "outcome_of",
    "personal_data_checker",
]
