"""Counters the database keeps in the same transaction as the change that moves them.

The pages people live in show counts over a whole scope — open cases in the district,
overdue cases, each mediator's load — and counting a scope means reading every case
in it: fine at 10,000 cases, seconds at 1,000,000. So the database keeps two small
tables current instead (``mediation.models.tallies``):

* ``CaseTally`` — cases per organisation, state and *running due date*: the acceptance
  deadline while registered, the mediation deadline while being mediated or waiting for
  an escalation decision (``selectors.overdue_q``'s two halves), ``NO_DUE_DATE`` otherwise.
  "Overdue now" and "due soon" are then sums over the rows whose due date lies before
  today or within the warning window: the count changes at midnight without any write.
* ``MediatorTally`` — cases per assigned user and state (workloads, "my open cases").

Triggers on ``mediation_case`` and ``mediation_case_mediators`` maintain both, so every
writer — the services, the admin, the ledger import, ``generate_cases``' COPY, a restore,
raw SQL — keeps them exact, inside its own transaction (a rolled-back change leaves
them untouched). PostgreSQL uses statement-level triggers with transition tables (one
aggregated upsert per statement, rows touched in key order so concurrent writers
cannot deadlock on them); SQLite uses row-level triggers with upserts.

The same triggers keep four derived columns of the case. ``Case.awaiting_visit_since`` and
``Case.awaiting_outcome_since``: when a performed case began to wait for its follow-up visit, a
referred one for its outcome (the home page's follow-through lists walk them in order).
``Case.mediator_count``: while the case is being mediated, how many
mediators are assigned (the "to assign" list is then an index range, not an anti-join over
every working case). ``Case.next_instalment_due``: for a settled case,
the due date of the earliest instalment of its effective agreement still unpaid (or part
paid); empty otherwise. "Not paid on time" is then an index range over the cases where it
lies before today, instead of a walk over every unpaid instalment ever recorded. Django
may write a stale value with the rest of a case: the database recomputes it on every
update of a case row, and on every change to an instalment or an agreement.

The same triggers keep, on each per-case grant, whether its case is closed
(``CaseUserObjectPermission.case_closed``) and its case's state (``case_state``): the home page's
lists, which never show a closed case, read only the grants on cases not closed
(``permissions.granted_case_ids``), through a partial index, and a list of cases in some states only
(overdue, waiting for a follow-up visit…) only the grants on cases in those states, through an index
of its own. Both are recomputed whenever a grant is written and whenever its case's state changes;
on PostgreSQL a grant written while another transaction changes its case waits for that
change (the services lock the case first anyway).

This module owns the trigger SQL, the rebuild and the check (``manage.py tallies``),
and every read of the two tables. Past 600 lines on purpose: the triggers of both databases, what
installs and checks them and what reads their counts are one rule each, kept in one place.
"""
from __future__ import annotations

import datetime
import re
from typing import Any, Iterable

from django.db import connection, transaction
from django.db.models import Q, QuerySet, Sum

from mediation.models.tallies import NO_DUE_DATE, CaseTally, GrantTally, MediatorTally
from workflows.states import WORKING_STATES, CaseState

#: States whose running clock is the mediation deadline (``selectors.overdue_q``).
MEDIATION_CLOCK_STATES: tuple[str, ...] = (*WORKING_STATES, CaseState.ESCALATION_PENDING)

_CASE = "mediation_case"
#: The migration that creates the tables and first installs the triggers.
MIGRATION = ("mediation", "0014_counts_kept_by_the_database")
_MEDIATORS = "mediation_case_mediators"
_CASE_TALLY = "mediation_casetally"
_MEDIATOR_TALLY = "mediation_mediatortally"
_GRANTS = "mediation_caseuserobjectpermission"
_GRANT_TALLY = "mediation_granttally"
#: The trigger (and on PostgreSQL its function) that keeps a grant's ``case_closed``.
_GRANT_FLAG = "mediation_grant_case_closed"
#: Only grants of the read permission count (docs/permissions.md: a per-case grant).
_VIEW = "JOIN auth_permission p ON p.id = g.permission_id AND p.codename = 'view_case'"


def _closed(case_id: str) -> str:
    """Whether case ``case_id`` is closed, as SQL (a per-case grant's ``case_closed``)."""
    return f"EXISTS (SELECT 1 FROM {_CASE} c WHERE c.id = {case_id} AND c.state = '{CaseState.CLOSED}')"


def _state_of(case_id: str) -> str:
    """The state of case ``case_id``, as SQL ('' for none: a per-case grant's ``case_state``)."""
    return f"COALESCE((SELECT c.state FROM {_CASE} c WHERE c.id = {case_id}), '')"


def _grant_columns(conn: Any) -> set[str]:
    with conn.cursor() as cursor:
        return {c.name for c in conn.introspection.get_table_description(cursor, _GRANTS)}


def has_closed_flag(conn: Any) -> bool:
    """Whether the grants' table has its ``case_closed`` column yet (the migrations before the one that
    adds it install the triggers with this module's SQL too)."""
    return "case_closed" in _grant_columns(conn)


def has_state_column(conn: Any) -> bool:
    """Whether the grants' table has its ``case_state`` column yet (added after ``case_closed``)."""
    return "case_state" in _grant_columns(conn)


def _states(states: Iterable[str]) -> str:
    return ", ".join(f"'{s}'" for s in states)  # fixed identifiers from workflows.states, never input


def _due(row: str, vendor: str) -> str:
    """The running due date of ``row`` (a table alias or NEW/OLD) as SQL."""
    none = "DATE '9999-12-31'" if vendor == "postgresql" else "'9999-12-31'"
    return (f"CASE WHEN {row}.state = '{CaseState.REGISTERED}' THEN COALESCE({row}.acceptance_due, {none}) "
            f"WHEN {row}.state IN ({_states(MEDIATION_CLOCK_STATES)}) THEN COALESCE({row}.mediation_due, {none}) "
            f"ELSE {none} END")


def _pg_upsert_case(select: str) -> str:
    return (f"INSERT INTO {_CASE_TALLY} (organisation_id, state, due_on, n) {select} "
            f"ON CONFLICT (organisation_id, state, due_on) DO UPDATE SET n = {_CASE_TALLY}.n + EXCLUDED.n;")


def _pg_upsert_grant(select: str) -> str:
    return (f"INSERT INTO {_GRANT_TALLY} (user_id, organisation_id, state, due_on, n) {select} "
            f"ON CONFLICT (user_id, organisation_id, state, due_on) DO UPDATE SET n = {_GRANT_TALLY}.n + EXCLUDED.n;")


def _pg_upsert_mediator(select: str) -> str:
    return (f"INSERT INTO {_MEDIATOR_TALLY} (user_id, state, n) {select} "
            f"ON CONFLICT (user_id, state) DO UPDATE SET n = {_MEDIATOR_TALLY}.n + EXCLUDED.n;")


_UNPAID = "(i.paid_on IS NULL OR i.paid_amount < i.amount)"


def _next_due(case_id: str) -> str:
    """The earliest unpaid instalment of the effective agreement of case ``case_id``, as SQL."""
    return ("(SELECT min(i.due_on) FROM mediation_instalment i JOIN mediation_agreement a ON a.id = i.agreement_id "
            f"WHERE a.case_id = {case_id} AND a.status = 'effective' AND {_UNPAID})")


def _mediator_count(case_id: str) -> str:
    return f"(SELECT count(*) FROM {_MEDIATORS} m WHERE m.case_id = {case_id})"


def _derived(case: str) -> list[tuple[str, str]]:
    """Each derived column of the case row ``case`` (NEW, or the table's name) and its value as SQL."""
    return [
        ("next_instalment_due", f"CASE WHEN {case}.state = '{CaseState.SETTLED}' THEN {_next_due(f'{case}.id')} END"),
        # While being mediated: how many mediators are assigned (0 in any other state).
        ("mediator_count", f"CASE WHEN {case}.state IN ({_states(WORKING_STATES)}) "
                           f"THEN {_mediator_count(f'{case}.id')} ELSE 0 END"),
        # Performed and not yet visited: since when (the latest move into "performed").
        ("awaiting_visit_since",
         f"CASE WHEN {case}.state = '{CaseState.PERFORMED}' AND NOT EXISTS (SELECT 1 FROM mediation_followup f "
         f"WHERE f.case_id = {case}.id) THEN (SELECT max(t.at) FROM workflows_transitionlog t "
         f"WHERE t.case_id = {case}.id AND t.to_state = '{CaseState.PERFORMED}') END"),
        # Referred and no outcome known: since the latest referral's date.
        ("awaiting_outcome_since",
         f"CASE WHEN {case}.state = '{CaseState.REFERRED}' AND NOT EXISTS (SELECT 1 FROM mediation_referral r "
         f"WHERE r.case_id = {case}.id AND r.outcome <> 'pending') THEN (SELECT max(r.referred_on) "
         f"FROM mediation_referral r WHERE r.case_id = {case}.id) END"),
    ]


#: The tables whose rows a derived column reads: (table, events, the SQL giving the case ids of
#: the changed rows ``{rows}``, the states a case must be in for the change to matter).
_TOUCHES: list[tuple[str, tuple[str, ...], str, tuple[str, ...]]] = [
    ("mediation_instalment", ("INSERT", "UPDATE", "DELETE"),
     "SELECT a.case_id FROM mediation_agreement a WHERE a.id IN (SELECT agreement_id FROM {rows})",
     (CaseState.SETTLED,)),
    ("mediation_agreement", ("INSERT", "UPDATE", "DELETE"), "SELECT case_id FROM {rows}", (CaseState.SETTLED,)),
    (_MEDIATORS, ("INSERT", "DELETE"), "SELECT case_id FROM {rows}", WORKING_STATES),
    ("workflows_transitionlog", ("INSERT", "UPDATE", "DELETE"),
     f"SELECT case_id FROM {{rows}} WHERE to_state = '{CaseState.PERFORMED}'", (CaseState.PERFORMED,)),
    ("mediation_followup", ("INSERT", "DELETE"), "SELECT case_id FROM {rows}", (CaseState.PERFORMED,)),
    ("mediation_referral", ("INSERT", "UPDATE", "DELETE"), "SELECT case_id FROM {rows}", (CaseState.REFERRED,)),
]


def _touch_name(table: str) -> str:
    return f"mediation_touch_case_from_{table.removeprefix('mediation_')}"


def _pg_instalment_sql() -> list[str]:
    sets = "\n  ".join(f"NEW.{column} := {value};" for column, value in _derived("NEW"))
    statements = [f"""
CREATE OR REPLACE FUNCTION mediation_case_derived() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  {sets}
  RETURN NEW;
END $$;""", "DROP TRIGGER IF EXISTS mediation_case_derived ON mediation_case;",
                  "CREATE TRIGGER mediation_case_derived BEFORE UPDATE ON mediation_case "
                  "FOR EACH ROW EXECUTE FUNCTION mediation_case_derived();"]
    # A change to a table a derived column reads touches the cases concerned (a no-op assignment);
    # the row trigger above then recomputes their columns.
    for table, events, cases, state in _TOUCHES:  # state: the states in which the change matters
        where = f" AND c.state IN ({_states(state)})"

        def touch(rows: str, cases: str = cases, where: str = where) -> str:
            return (f"UPDATE mediation_case c SET mediator_count = c.mediator_count "
                    f"WHERE c.id IN ({cases.format(rows=rows)}){where};")

        function = _touch_name(table)
        body = []
        if "INSERT" in events or "UPDATE" in events:
            body.append(f"IF TG_OP IN ('INSERT', 'UPDATE') THEN {touch('new_rows')} END IF;")
        if "DELETE" in events or "UPDATE" in events:
            body.append(f"IF TG_OP IN ('DELETE', 'UPDATE') THEN {touch('old_rows')} END IF;")
        statements.append(f"CREATE OR REPLACE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $$\n"
                          f"BEGIN\n  {' '.join(body)}\n  RETURN NULL;\nEND $$;")
        for event in events:
            referencing = {"INSERT": "NEW TABLE AS new_rows", "DELETE": "OLD TABLE AS old_rows",
                           "UPDATE": "OLD TABLE AS old_rows NEW TABLE AS new_rows"}[event]
            name = f"{function}_{event.lower()}"
            statements += [f"DROP TRIGGER IF EXISTS {name} ON {table};",
                           f"CREATE TRIGGER {name} AFTER {event} ON {table} REFERENCING {referencing} "
                           f"FOR EACH STATEMENT EXECUTE FUNCTION {function}();"]
    return statements


def _lite_instalment_sql() -> list[str]:
    sets = ", ".join(f"{column} = {value}" for column, value in _derived("mediation_case"))

    def recompute(where: str) -> str:
        return f"UPDATE mediation_case SET {sets} WHERE {where};"

    # No recursion: SQLite does not fire a trigger from its own statements (recursive_triggers off).
    statements = ["DROP TRIGGER IF EXISTS mediation_case_derived;",
                  "CREATE TRIGGER mediation_case_derived AFTER UPDATE ON mediation_case BEGIN "
                  f"{recompute('id = NEW.id')} END;"]
    for table, events, _cases, _state in _TOUCHES:
        case_of = ("(SELECT case_id FROM mediation_agreement WHERE id = {row}.agreement_id)"
                   if table == "mediation_instalment" else "{row}.case_id")
        for event in events:
            rows = {"INSERT": ("NEW",), "DELETE": ("OLD",), "UPDATE": ("OLD", "NEW")}[event]
            name = f"{_touch_name(table)}_{event.lower()}"
            body = " ".join(recompute(f"id = {case_of.format(row=row)}") for row in rows)
            statements += [f"DROP TRIGGER IF EXISTS {name};",
                           f"CREATE TRIGGER {name} AFTER {event} ON {table} BEGIN {body} END;"]
    return statements


def postgresql_sql(flag: bool = True, state: bool = True) -> list[str]:
    due_old, due_new = _due("o", "postgresql"), _due("w", "postgresql")
    grant_delta = _pg_upsert_grant(
        "SELECT g.user_id, delta.organisation_id, delta.state, delta.due_on, sum(delta.d) FROM ("
        f"SELECT o.id, o.organisation_id, o.state, {due_old} AS due_on, -1 AS d FROM old_rows o "
        f"UNION ALL SELECT w.id, w.organisation_id, w.state, {due_new}, 1 FROM new_rows w) AS delta "
        f"JOIN {_GRANTS} g ON g.content_object_id = delta.id {_VIEW} "
        "GROUP BY 1, 2, 3, 4 HAVING sum(delta.d) <> 0 ORDER BY 1, 2, 3, 4")
    # A case whose state changes (with only ``case_closed``: closed or reopened) touches its grants (a
    # no-op assignment): their row trigger below then recomputes ``case_closed`` and ``case_state``.
    # Last, after the tallies: the grants' own tally rows it then upserts are those the case's change
    # holds already (no new lock order between two cases).
    moved = ("o.state <> w.state" if state
             else f"(o.state = '{CaseState.CLOSED}') <> (w.state = '{CaseState.CLOSED}')")
    touch_grants = (f"UPDATE {_GRANTS} g SET case_closed = g.case_closed "
                    "FROM old_rows o JOIN new_rows w ON w.id = o.id "
                    f"WHERE g.content_object_id = w.id AND {moved};") if flag else ""
    # A case written after grants on it (a foreign key checked at commit: a fixture, a hand-made load).
    touch_new_grants = (f"UPDATE {_GRANTS} g SET case_closed = g.case_closed FROM new_rows w "
                        "WHERE g.content_object_id = w.id;") if state else ""
    case_fn = f"""
CREATE OR REPLACE FUNCTION mediation_case_tally() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    {_pg_upsert_case(f"SELECT w.organisation_id, w.state, {due_new}, count(*) FROM new_rows w "
                     "GROUP BY 1, 2, 3 ORDER BY 1, 2, 3")}
    {touch_new_grants}
  ELSIF TG_OP = 'DELETE' THEN
    {_pg_upsert_case(f"SELECT o.organisation_id, o.state, {due_old}, -count(*) FROM old_rows o "
                     "GROUP BY 1, 2, 3 ORDER BY 1, 2, 3")}
  ELSE
    {_pg_upsert_case(f"SELECT organisation_id, state, due_on, sum(d) FROM ("
                     f"SELECT o.organisation_id, o.state, {due_old} AS due_on, -1 AS d FROM old_rows o "
                     f"UNION ALL SELECT w.organisation_id, w.state, {due_new}, 1 FROM new_rows w) AS delta "
                     "GROUP BY 1, 2, 3 HAVING sum(d) <> 0 ORDER BY 1, 2, 3")}
    {_pg_upsert_mediator("SELECT m.user_id, delta.state, sum(delta.d) FROM ("
                         "SELECT o.id, o.state, -1 AS d FROM old_rows o "
                         "UNION ALL SELECT w.id, w.state, 1 FROM new_rows w) AS delta "
                         f"JOIN {_MEDIATORS} m ON m.case_id = delta.id "
                         "GROUP BY 1, 2 HAVING sum(delta.d) <> 0 ORDER BY 1, 2")}
    {grant_delta}
    {touch_grants}
  END IF;
  RETURN NULL;
END $$;"""
    grant_fn = f"""
CREATE OR REPLACE FUNCTION mediation_grant_tally() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP IN ('INSERT', 'UPDATE') THEN
    {_pg_upsert_grant(f"SELECT g.user_id, c.organisation_id, c.state, {_due('c', 'postgresql')}, count(*) "
                      f"FROM new_rows g {_VIEW} JOIN {_CASE} c ON c.id = g.content_object_id "
                      "GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4")}
  END IF;
  IF TG_OP IN ('DELETE', 'UPDATE') THEN
    {_pg_upsert_grant(f"SELECT g.user_id, c.organisation_id, c.state, {_due('c', 'postgresql')}, -count(*) "
                      f"FROM old_rows g {_VIEW} JOIN {_CASE} c ON c.id = g.content_object_id "
                      "GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4")}
  END IF;
  RETURN NULL;
END $$;"""
    mediator_fn = f"""
CREATE OR REPLACE FUNCTION mediation_mediator_tally() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    {_pg_upsert_mediator(f"SELECT w.user_id, c.state, count(*) FROM new_rows w JOIN {_CASE} c ON c.id = w.case_id "
                         "GROUP BY 1, 2 ORDER BY 1, 2")}
  ELSE
    {_pg_upsert_mediator(f"SELECT o.user_id, c.state, -count(*) FROM old_rows o JOIN {_CASE} c ON c.id = o.case_id "
                         "GROUP BY 1, 2 ORDER BY 1, 2")}
  END IF;
  RETURN NULL;
END $$;"""
    statements = [case_fn, mediator_fn, grant_fn]
    tables = [(_CASE, "mediation_case_tally"), (_MEDIATORS, "mediation_mediator_tally")]
    for table, function in [*tables, (_GRANTS, "mediation_grant_tally")]:
        for event, referencing in (("INSERT", "NEW TABLE AS new_rows"), ("DELETE", "OLD TABLE AS old_rows"),
                                   ("UPDATE", "OLD TABLE AS old_rows NEW TABLE AS new_rows")):
            if table == _MEDIATORS and event == "UPDATE":
                continue  # the through table's rows are only ever inserted and deleted
            name = f"{function}_{event.lower()}"
            statements += [f"DROP TRIGGER IF EXISTS {name} ON {table};",
                           f"CREATE TRIGGER {name} AFTER {event} ON {table} REFERENCING {referencing} "
                           f"FOR EACH STATEMENT EXECUTE FUNCTION {function}();"]
    if flag:
        set_state = "NEW.case_state := coalesce(now_state, '');" if state else ""
        statements += [f"""
CREATE OR REPLACE FUNCTION {_GRANT_FLAG}() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  now_state varchar;
BEGIN
  -- FOR SHARE: a change to the case not yet committed (a reopening) is waited for, then read.
  SELECT c.state INTO now_state FROM {_CASE} c WHERE c.id = NEW.content_object_id FOR SHARE;
  NEW.case_closed := coalesce(now_state = '{CaseState.CLOSED}', false);
  {set_state}
  RETURN NEW;
END $$;""", f"DROP TRIGGER IF EXISTS {_GRANT_FLAG} ON {_GRANTS};",
                       f"CREATE TRIGGER {_GRANT_FLAG} BEFORE INSERT OR UPDATE ON {_GRANTS} "
                       f"FOR EACH ROW EXECUTE FUNCTION {_GRANT_FLAG}();"]
    return statements


def _lite_case(row: str, sign: str) -> str:
    return (f"INSERT INTO {_CASE_TALLY} (organisation_id, state, due_on, n) "
            f"VALUES ({row}.organisation_id, {row}.state, {_due(row, 'sqlite')}, {sign}1) "
            "ON CONFLICT (organisation_id, state, due_on) DO UPDATE SET n = n + excluded.n;")


def _lite_mediators(row: str, sign: str, where: str = "") -> str:
    return (f"INSERT INTO {_MEDIATOR_TALLY} (user_id, state, n) "
            f"SELECT m.user_id, {row}.state, {sign}1 FROM {_MEDIATORS} m WHERE m.case_id = {row}.id {where} "
            "ON CONFLICT (user_id, state) DO UPDATE SET n = n + excluded.n;")


def _lite_grants(row: str, sign: str) -> str:
    """The per-case grants on case ``row`` (NEW/OLD of a case trigger), counted in or out."""
    return (f"INSERT INTO {_GRANT_TALLY} (user_id, organisation_id, state, due_on, n) "
            f"SELECT g.user_id, {row}.organisation_id, {row}.state, {_due(row, 'sqlite')}, {sign}1 "
            f"FROM {_GRANTS} g {_VIEW} WHERE g.content_object_id = {row}.id "
            "ON CONFLICT (user_id, organisation_id, state, due_on) DO UPDATE SET n = n + excluded.n;")


def _lite_grant_row(row: str, sign: str) -> str:
    """One grant (NEW/OLD of a grant trigger) counted in or out."""
    return (f"INSERT INTO {_GRANT_TALLY} (user_id, organisation_id, state, due_on, n) "
            f"SELECT {row}.user_id, c.organisation_id, c.state, {_due('c', 'sqlite')}, {sign}1 "
            f"FROM {_CASE} c, auth_permission p WHERE c.id = {row}.content_object_id "
            f"AND p.id = {row}.permission_id AND p.codename = 'view_case' "
            "ON CONFLICT (user_id, organisation_id, state, due_on) DO UPDATE SET n = n + excluded.n;")


def sqlite_sql(flag: bool = True, state: bool = True) -> list[str]:
    names = ("mediation_case_tally_insert", "mediation_case_tally_delete", "mediation_case_tally_update",
             "mediation_mediator_tally_insert", "mediation_mediator_tally_delete", "mediation_grant_tally_insert",
             "mediation_grant_tally_delete", "mediation_grant_tally_update")
    grant_triggers = [
        f"CREATE TRIGGER mediation_grant_tally_insert AFTER INSERT ON {_GRANTS} BEGIN "
        f"{_lite_grant_row('NEW', '')} END;",
        f"CREATE TRIGGER mediation_grant_tally_delete AFTER DELETE ON {_GRANTS} BEGIN "
        f"{_lite_grant_row('OLD', '-')} END;",
        f"CREATE TRIGGER mediation_grant_tally_update AFTER UPDATE ON {_GRANTS} BEGIN {_lite_grant_row('OLD', '-')} "
        f"{_lite_grant_row('NEW', '')} END;"]
    case_grants = f"{_lite_grants('OLD', '-')} {_lite_grants('NEW', '')}"
    return [*(f"DROP TRIGGER IF EXISTS {n};" for n in names), *grant_triggers,
            f"CREATE TRIGGER mediation_case_tally_insert AFTER INSERT ON {_CASE} BEGIN {_lite_case('NEW', '')} END;",
            f"CREATE TRIGGER mediation_case_tally_delete AFTER DELETE ON {_CASE} BEGIN {_lite_case('OLD', '-')} END;",
            f"CREATE TRIGGER mediation_case_tally_update AFTER UPDATE OF organisation_id, state, acceptance_due, "
            f"mediation_due ON {_CASE} BEGIN {_lite_case('OLD', '-')} {_lite_case('NEW', '')} "
            f"{_lite_mediators('OLD', '-', 'AND OLD.state <> NEW.state')} "
            f"{_lite_mediators('NEW', '', 'AND OLD.state <> NEW.state')} {case_grants} END;",
            f"CREATE TRIGGER mediation_mediator_tally_insert AFTER INSERT ON {_MEDIATORS} BEGIN "
            f"INSERT INTO {_MEDIATOR_TALLY} (user_id, state, n) SELECT NEW.user_id, c.state, 1 FROM {_CASE} c "
            "WHERE c.id = NEW.case_id ON CONFLICT (user_id, state) DO UPDATE SET n = n + excluded.n; END;",
            f"CREATE TRIGGER mediation_mediator_tally_delete AFTER DELETE ON {_MEDIATORS} BEGIN "
            f"INSERT INTO {_MEDIATOR_TALLY} (user_id, state, n) SELECT OLD.user_id, c.state, -1 FROM {_CASE} c "
            "WHERE c.id = OLD.case_id ON CONFLICT (user_id, state) DO UPDATE SET n = n + excluded.n; END;",
            *(_lite_flag_sql(state) if flag else [])]


def _lite_flag_sql(state: bool = True) -> list[str]:
    """A grant's ``case_closed`` and ``case_state``: set when the grant is written, and when its case's
    state changes (with only ``case_closed``: when its case is closed or reopened)."""
    def recompute(row: str) -> str:
        sets = f"case_closed = {_closed(f'{row}.content_object_id')}"
        if state:
            sets += f", case_state = {_state_of(f'{row}.content_object_id')}"
        return f"UPDATE {_GRANTS} SET {sets} WHERE id = {row}.id;"

    closed = f"'{CaseState.CLOSED}'"
    columns = "content_object_id, case_closed, case_state" if state else "content_object_id, case_closed"
    moved, sets = (("OLD.state <> NEW.state", f"case_closed = (NEW.state = {closed}), case_state = NEW.state")
                   if state else (f"(OLD.state = {closed}) <> (NEW.state = {closed})",
                                  f"case_closed = (NEW.state = {closed})"))
    inserted = ([f"CREATE TRIGGER {_GRANT_FLAG}_case_insert AFTER INSERT ON {_CASE} BEGIN "
                 f"UPDATE {_GRANTS} SET {sets} WHERE content_object_id = NEW.id; END;"]
                if state else [])
    events = ("insert", "update", "case", "case_insert")
    return [*(f"DROP TRIGGER IF EXISTS {_GRANT_FLAG}_{event};" for event in events),
            *inserted,
            f"CREATE TRIGGER {_GRANT_FLAG}_insert AFTER INSERT ON {_GRANTS} BEGIN {recompute('NEW')} END;",
            f"CREATE TRIGGER {_GRANT_FLAG}_update AFTER UPDATE OF {columns} ON {_GRANTS} "
            f"BEGIN {recompute('NEW')} END;",
            f"CREATE TRIGGER {_GRANT_FLAG}_case AFTER UPDATE OF state ON {_CASE} "
            f"WHEN {moved} BEGIN UPDATE {_GRANTS} SET {sets} WHERE content_object_id = NEW.id; END;"]


def install(schema_editor: Any = None) -> None:
    """Create (or replace) the triggers on the current database, then count everything once."""
    conn = schema_editor.connection if schema_editor is not None else connection
    flag = conn.vendor in ("postgresql", "sqlite") and has_closed_flag(conn)
    state = flag and has_state_column(conn)
    if conn.vendor == "postgresql":
        statements = postgresql_sql(flag, state) + _pg_instalment_sql()
    elif conn.vendor == "sqlite":
        statements = sqlite_sql(flag, state) + _lite_instalment_sql()
    else:
        statements = []
    with conn.cursor() as cursor:
        for sql in statements:
            cursor.execute(sql)
    rebuild(using=conn.alias)


def _statements(vendor: str, flag: bool = True, state: bool = True) -> list[str]:
    return (postgresql_sql(flag, state) + _pg_instalment_sql() if vendor == "postgresql"
            else sqlite_sql(flag, state) + _lite_instalment_sql() if vendor == "sqlite" else [])


def keep_grant_states(schema_editor: Any, state: bool = True) -> None:
    """Migration ``mediation 0025``: start (``state=False``: stop) keeping each grant's ``case_state``.
    On PostgreSQL only the trigger functions are replaced (the triggers stay) and the grants' states
    filled in by one update of the grants — no count of the cases, no lock on them; on SQLite, whose
    triggers were dropped for the table's rebuild, everything is installed again (``state=False``:
    dropped, for the rebuild that takes the column away)."""
    conn = schema_editor.connection
    if conn.vendor == "sqlite":
        install(schema_editor) if state else uninstall(schema_editor)
    elif conn.vendor == "postgresql":
        with conn.cursor() as cursor:
            for sql in postgresql_sql(True, state):
                if sql.lstrip().startswith("CREATE OR REPLACE FUNCTION"):
                    cursor.execute(sql)
            if state:
                cursor.execute(f"UPDATE {_GRANTS} SET case_state = {_state_of(f'{_GRANTS}.content_object_id')} "
                               f"WHERE {_state_stale()}")


def trigger_names(vendor: str, flag: bool = True) -> set[str]:
    """The names of the triggers :func:`install` creates on this kind of database."""
    return {s.split()[2] for s in _statements(vendor, flag) if s.startswith("CREATE TRIGGER")}


def _definitions(vendor: str, flag: bool, state: bool) -> dict[str, str]:
    """What :func:`install` writes, as the database keeps it: on PostgreSQL each function's body
    (``pg_proc.prosrc``), on SQLite each trigger's statement (``sqlite_master.sql``)."""
    found = {}
    for sql in _statements(vendor, flag, state):
        function = re.match(r"\s*CREATE OR REPLACE FUNCTION (\w+)\(\).*? AS \$\$(.*)\$\$;?\s*$", sql, re.S)
        if vendor == "postgresql" and function:
            found[function.group(1)] = function.group(2)
        elif vendor == "sqlite" and sql.startswith("CREATE TRIGGER"):
            found[sql.split()[2]] = sql.rstrip(";")
    return found


def _installed(conn: Any) -> tuple[set[str], dict[str, str]]:
    """The names of the triggers on the database, and the definitions :func:`_definitions` names."""
    with conn.cursor() as cursor:
        if conn.vendor == "postgresql":
            cursor.execute("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal")
            names = {name for (name,) in cursor.fetchall()}
            cursor.execute("SELECT proname, prosrc FROM pg_proc WHERE pronamespace = 'public'::regnamespace")
            return names, dict(cursor.fetchall())
        cursor.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'")
        definitions = dict(cursor.fetchall())
        return set(definitions), definitions


def ensure_installed(conn: Any) -> bool:
    """Install the triggers (and count afresh) if any is missing or not as this code writes it; True if
    they had to be."""
    from django.db.migrations.recorder import MigrationRecorder

    if conn.vendor not in ("postgresql", "sqlite"):
        return False
    recorder = MigrationRecorder(conn)
    if not recorder.has_table() or MIGRATION not in recorder.applied_migrations():
        return False  # the tables are not there yet
    flag = has_closed_flag(conn)
    names, definitions = _installed(conn)
    expected = _definitions(conn.vendor, flag, flag and has_state_column(conn))
    # Every trigger there, each as this code writes it (an older release's rebuild, after a rollback,
    # leaves triggers of the same names that keep less).
    if trigger_names(conn.vendor, flag) <= names and all(definitions.get(k) == v for k, v in expected.items()):
        return False

    class _Editor:  # install() takes what a migration gives it: something with a connection
        connection = conn

    install(_Editor())
    return True


def uninstall(schema_editor: Any = None) -> None:
    """Drop the triggers (the reverse of the migration that installed them)."""
    conn = schema_editor.connection if schema_editor is not None else connection
    with conn.cursor() as cursor:
        for table, function in ((_CASE, "mediation_case_tally"), (_MEDIATORS, "mediation_mediator_tally"),
                                (_GRANTS, "mediation_grant_tally")):
            for event in ("insert", "delete", "update"):
                if conn.vendor == "postgresql":
                    cursor.execute(f"DROP TRIGGER IF EXISTS {function}_{event} ON {table}")
                elif conn.vendor == "sqlite":
                    cursor.execute(f"DROP TRIGGER IF EXISTS {function}_{event}")
            if conn.vendor == "postgresql":
                cursor.execute(f"DROP FUNCTION IF EXISTS {function}()")
        names = [("mediation_case", "mediation_case_derived"), (_GRANTS, _GRANT_FLAG),
                 *((_GRANTS, f"{_GRANT_FLAG}_{event}") for event in ("insert", "update")),
                 (_CASE, f"{_GRANT_FLAG}_case"), (_CASE, f"{_GRANT_FLAG}_case_insert")] + [
            (table, f"{_touch_name(table)}_{event.lower()}") for table, events, _c, _s in _TOUCHES for event in events]
        for table, name in names:
            cursor.execute(f"DROP TRIGGER IF EXISTS {name} ON {table}" if conn.vendor == "postgresql"
                           else f"DROP TRIGGER IF EXISTS {name}")
        if conn.vendor == "postgresql":
            for function in ["mediation_case_derived", _GRANT_FLAG, *(_touch_name(t) for t, _e, _c, _s in _TOUCHES)]:
                cursor.execute(f"DROP FUNCTION IF EXISTS {function}()")


def rebuild(using: str = "default") -> None:
    """Count both tables afresh from the cases (under a lock on the cases, so no write slips between)."""
    from django.db import connections

    conn = connections[using]
    with transaction.atomic(using=using), conn.cursor() as cursor:
        if conn.vendor == "postgresql":
            cursor.execute(f"LOCK TABLE {_CASE}, {_MEDIATORS}, {_GRANTS} IN SHARE MODE")
        cursor.execute(f"DELETE FROM {_CASE_TALLY}")
        cursor.execute(f"DELETE FROM {_MEDIATOR_TALLY}")
        cursor.execute(f"INSERT INTO {_CASE_TALLY} (organisation_id, state, due_on, n) "
                       f"SELECT c.organisation_id, c.state, {_due('c', conn.vendor)}, count(*) FROM {_CASE} c "
                       "GROUP BY 1, 2, 3")
        cursor.execute(f"INSERT INTO {_MEDIATOR_TALLY} (user_id, state, n) "
                       f"SELECT m.user_id, c.state, count(*) FROM {_MEDIATORS} m JOIN {_CASE} c ON c.id = m.case_id "
                       "GROUP BY 1, 2")
        cursor.execute(f"DELETE FROM {_GRANT_TALLY}")
        cursor.execute(f"INSERT INTO {_GRANT_TALLY} (user_id, organisation_id, state, due_on, n) "
                       f"SELECT g.user_id, c.organisation_id, c.state, {_due('c', conn.vendor)}, count(*) "
                       f"FROM {_GRANTS} g {_VIEW} JOIN {_CASE} c ON c.id = g.content_object_id "
                       "GROUP BY 1, 2, 3, 4")
        sets = ", ".join(f"{column} = {value}" for column, value in _derived(_CASE))
        cursor.execute(f"UPDATE {_CASE} SET {sets} WHERE {_derived_stale(conn.vendor)}")
        if has_closed_flag(conn):
            state = has_state_column(conn)
            sets = f"case_closed = {_closed(f'{_GRANTS}.content_object_id')}"
            if state:
                sets += f", case_state = {_state_of(f'{_GRANTS}.content_object_id')}"
            cursor.execute(f"UPDATE {_GRANTS} SET {sets} WHERE {_flag_stale(state)}")


def _flag_stale(state: bool) -> str:
    """SQL true for a grant whose ``case_closed`` (``state``: or ``case_state``) is not what it should be."""
    stale = f"case_closed <> {_closed(f'{_GRANTS}.content_object_id')}"
    return f"{stale} OR {_state_stale()}" if state else stale


def _state_stale() -> str:
    """SQL true for a grant whose ``case_state`` is not its case's state."""
    return f"case_state <> {_state_of(f'{_GRANTS}.content_object_id')}"


def _derived_stale(vendor: str) -> str:
    """SQL true for a case row whose derived columns are not what they should be."""
    differs = "IS DISTINCT FROM" if vendor == "postgresql" else "IS NOT"
    return " OR ".join(f"{column} {differs} ({value})" for column, value in _derived(_CASE))


def differences(using: str = "default") -> list[str]:
    """Where the tallies disagree with a fresh count (empty when they are exact)."""
    from django.db import connections

    conn = connections[using]
    found = []
    with conn.cursor() as cursor:
        cursor.execute(f"SELECT c.organisation_id, c.state, {_due('c', conn.vendor)}, count(*) FROM {_CASE} c "
                       "GROUP BY 1, 2, 3")
        live = {(o, s, str(d)): n for o, s, d, n in cursor.fetchall()}
        cursor.execute(f"SELECT organisation_id, state, due_on, n FROM {_CASE_TALLY} WHERE n <> 0")
        kept = {(o, s, str(d)): n for o, s, d, n in cursor.fetchall()}
        for key in sorted(set(live) | set(kept)):
            if live.get(key, 0) != kept.get(key, 0):
                found.append(f"case {key}: {kept.get(key, 0)} kept, {live.get(key, 0)} counted")
        cursor.execute(f"SELECT m.user_id, c.state, count(*) FROM {_MEDIATORS} m JOIN {_CASE} c ON c.id = m.case_id "
                       "GROUP BY 1, 2")
        live_m = {(u, s): n for u, s, n in cursor.fetchall()}
        cursor.execute(f"SELECT user_id, state, n FROM {_MEDIATOR_TALLY} WHERE n <> 0")
        kept_m = {(u, s): n for u, s, n in cursor.fetchall()}
        for key_m in sorted(set(live_m) | set(kept_m)):
            if live_m.get(key_m, 0) != kept_m.get(key_m, 0):
                found.append(f"mediator {key_m}: {kept_m.get(key_m, 0)} kept, {live_m.get(key_m, 0)} counted")
        cursor.execute(f"SELECT g.user_id, c.organisation_id, c.state, {_due('c', conn.vendor)}, count(*) "
                       f"FROM {_GRANTS} g {_VIEW} JOIN {_CASE} c ON c.id = g.content_object_id GROUP BY 1, 2, 3, 4")
        live_g = {(u, o, s, str(d)): n for u, o, s, d, n in cursor.fetchall()}
        cursor.execute(f"SELECT user_id, organisation_id, state, due_on, n FROM {_GRANT_TALLY} WHERE n <> 0")
        kept_g = {(u, o, s, str(d)): n for u, o, s, d, n in cursor.fetchall()}
        for key_g in sorted(set(live_g) | set(kept_g)):
            if live_g.get(key_g, 0) != kept_g.get(key_g, 0):
                found.append(f"grant {key_g}: {kept_g.get(key_g, 0)} kept, {live_g.get(key_g, 0)} counted")
        cursor.execute(f"SELECT id FROM {_CASE} WHERE {_derived_stale(conn.vendor)}")
        found += [f"case {case_id}: a derived column is out of date" for (case_id,) in cursor.fetchall()[:50]]
        if has_closed_flag(conn):
            cursor.execute(f"SELECT id FROM {_GRANTS} WHERE {_flag_stale(False)}")
            found += [f"grant {grant_id}: case_closed is out of date" for (grant_id,) in cursor.fetchall()[:50]]
        if has_state_column(conn):
            cursor.execute(f"SELECT id FROM {_GRANTS} WHERE {_state_stale()}")
            found += [f"grant {grant_id}: case_state is out of date" for (grant_id,) in cursor.fetchall()[:50]]
    return found


# ------------------------------------------------------------------------------------ reads

def running_due_q(*, before: datetime.date | None = None, start: datetime.date | None = None,
                  end: datetime.date | None = None) -> Q:
    """Tally rows of cases whose running clock falls due before ``before`` / between ``start`` and ``end``."""
    q = Q(state=CaseState.REGISTERED) | Q(state__in=MEDIATION_CLOCK_STATES)
    if before is not None:
        q &= Q(due_on__lt=before)
    if start is not None:
        q &= Q(due_on__gte=start)
    if end is not None:
        q &= Q(due_on__lte=end)
    return q


def state_sums(rows: QuerySet[Any], windows: list[dict[str, Any]]) -> QuerySet[Any]:
    """(state, n₀, n₁, …) rows: the tally rows ``rows`` summed per state, one column per window of
    the running clock (``running_due_q`` bounds; an empty window sums every row)."""
    columns = [f"w{i}" for i in range(len(windows))]
    sums = {c: Sum("n", filter=running_due_q(**w)) if w else Sum("n") for c, w in zip(columns, windows, strict=True)}
    return rows.order_by().values("state").annotate(**sums).values_list("state", *columns)


def case_rows(q: Q) -> QuerySet[Any]:
    """The case tallies' rows matching ``q`` (a filter on ``CaseTally``: organisation, state, due date)."""
    return CaseTally.objects.filter(q)


def granted_rows(user_id: int, q: Q, *, outside: Q | None = None) -> QuerySet[Any]:
    """The rows of the cases the user reads by a per-case grant matching ``q``, leaving out the
    organisations ``outside`` selects (those the user reads whole already)."""
    rows = GrantTally.objects.filter(q, user_id=user_id)
    return rows.exclude(outside) if outside is not None else rows


def mediator_counts(user_ids: Iterable[int], states: Iterable[str]) -> dict[int, int]:
    """Cases per assigned user among ``states`` (users with none are absent)."""
    return {user_id: int(n) for user_id, n in MediatorTally.objects.filter(
        user_id__in=list(user_ids), state__in=list(states)).values("user_id").annotate(total=Sum("n"))
        .values_list("user_id", "total") if n}


__all__ = ["NO_DUE_DATE", "MEDIATION_CLOCK_STATES", "install", "uninstall", "rebuild", "differences", "running_due_q",
           "state_sums", "case_rows", "granted_rows", "mediator_counts"]
