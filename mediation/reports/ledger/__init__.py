"""The case ledger (台账, DOMAIN.md §8): export to .xlsx, and import of historical ledgers.

``columns``: the column spec both directions share. ``export``: the cases of the case
list (``case_list_visible_to`` with the list's own filters), one row each, streamed
to a temporary file with flat memory; identity numbers masked unless the reader may
see them (``access``). ``template``: the empty ledger to fill in. ``importer``: the
same columns read back (``cells``), each row a form (``forms``) that yields the
registration ``case_register`` checks, with the history to the recorded state replayed
along the lifecycle graph (``history``); all rows are written or none, and rows
imported before are skipped.
"""
from __future__ import annotations

from mediation.reports.ledger.access import may_import, may_use_ledger, personal_data_checker
from mediation.reports.ledger.columns import COLUMNS, MAX_IMPORT_BYTES, Outcome, _headers, case_outcome
from mediation.reports.ledger.export import ledger_export
from mediation.reports.ledger.importer import ImportReport, ledger_import
from mediation.reports.ledger.template import ledger_template

__all__ = ["COLUMNS", "ImportReport", "MAX_IMPORT_BYTES", "Outcome", "_headers", "case_outcome", "ledger_export",
           "ledger_import", "ledger_template", "may_import", "may_use_ledger", "personal_data_checker"]
