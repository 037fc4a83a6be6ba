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

The same triggers keep one derived column, ``Case.next_instalment_due``: for a settled case,
the due date of the earliest instalment of its effective agreement still unpaid (or part
paid); empty otherwise. "Not paid on time" is then an index range over the cases where it
lies before today, instead of a walk over every unpaid instalment ever recorded. Django
may write a stale value with the rest of a case: the database recomputes it on every
update of a case row, and on every change to an instalment or an agreement.

This module owns the trigger SQL, the rebuild and the check (``manage.py tallies``),
and every read of the two tables.
"""
from __future__ import annotations

import datetime
from typing import Any, Iterable

from django.db import connection, transaction
from django.db.models import Q, QuerySet, Sum

from mediation.models.tallies import NO_DUE_DATE, CaseTally, GrantTally, MediatorTally
from workflows.states import WORKING_STATES, CaseState

#: States whose running clock is the mediation deadline (``selectors.overdue_q``).
MEDIATION_CLOCK_STATES: tuple[str, ...] = (*WORKING_STATES, CaseState.ESCALATION_PENDING)

_CASE = "mediation_case"
_MEDIATORS = "mediation_case_mediators"
_CASE_TALLY = "mediation_casetally"
_MEDIATOR_TALLY = "mediation_mediatortally"
_GRANTS = "mediation_caseuserobjectpermission"
_GRANT_TALLY = "mediation_granttally"
#: Only grants of the read permission count (docs/permissions.md: a per-case grant).
_VIEW = "JOIN auth_permission p ON p.id = g.permission_id AND p.codename = 'view_case'"


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


def _pg_instalment_sql() -> list[str]:
    case_row = f"""
CREATE OR REPLACE FUNCTION mediation_case_next_instalment_due() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.next_instalment_due := CASE WHEN NEW.state = '{CaseState.SETTLED}' THEN {_next_due("NEW.id")} END;
  RETURN NEW;
END $$;"""
    # A change to instalments or agreements touches the settled cases concerned; the row trigger
    # above then recomputes their column.
    touch = ("UPDATE mediation_case c SET next_instalment_due = NULL WHERE c.state = "
             f"'{CaseState.SETTLED}' AND c.id IN ({{cases}});")
    by_instalment = "SELECT a.case_id FROM mediation_agreement a WHERE a.id IN (SELECT agreement_id FROM {rows})"
    by_agreement = "SELECT case_id FROM {rows}"
    functions = [case_row]
    for table, cases in (("instalment", by_instalment), ("agreement", by_agreement)):
        functions.append(f"""
CREATE OR REPLACE FUNCTION mediation_{table}_touch_case() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP IN ('INSERT', 'UPDATE') THEN
    {touch.format(cases=cases.format(rows="new_rows"))}
  END IF;
  IF TG_OP IN ('DELETE', 'UPDATE') THEN
    {touch.format(cases=cases.format(rows="old_rows"))}
  END IF;
  RETURN NULL;
END $$;""")
    statements = [*functions, "DROP TRIGGER IF EXISTS mediation_case_next_instalment_due ON mediation_case;",
                  "CREATE TRIGGER mediation_case_next_instalment_due BEFORE UPDATE ON mediation_case "
                  "FOR EACH ROW EXECUTE FUNCTION mediation_case_next_instalment_due();"]
    for table in ("instalment", "agreement"):
        for event, referencing in (("INSERT", "NEW TABLE AS new_rows"), ("DELETE", "OLD TABLE AS old_rows"),
                                   ("UPDATE", "OLD TABLE AS old_rows NEW TABLE AS new_rows")):
            name = f"mediation_{table}_touch_case_{event.lower()}"
            statements += [f"DROP TRIGGER IF EXISTS {name} ON mediation_{table};",
                           f"CREATE TRIGGER {name} AFTER {event} ON mediation_{table} REFERENCING {referencing} "
                           f"FOR EACH STATEMENT EXECUTE FUNCTION mediation_{table}_touch_case();"]
    return statements


def _lite_instalment_sql() -> list[str]:
    def recompute(where: str) -> str:
        return (f"UPDATE mediation_case SET next_instalment_due = CASE WHEN state = '{CaseState.SETTLED}' "
                f"THEN {_next_due('mediation_case.id')} END WHERE {where};")

    statements = ["DROP TRIGGER IF EXISTS mediation_case_next_instalment_due;",
                  "CREATE TRIGGER mediation_case_next_instalment_due AFTER UPDATE ON mediation_case BEGIN "
                  f"{recompute('id = NEW.id')} END;"]
    for table, case_of in (("instalment", "(SELECT case_id FROM mediation_agreement WHERE id = {row}.agreement_id)"),
                           ("agreement", "{row}.case_id")):
        for event, row_names in (("insert", ("NEW",)), ("delete", ("OLD",)), ("update", ("OLD", "NEW"))):
            name = f"mediation_{table}_touch_case_{event}"
            body = " ".join(recompute(f"id = {case_of.format(row=row)}") for row in row_names)
            statements += [f"DROP TRIGGER IF EXISTS {name};",
                           f"CREATE TRIGGER {name} AFTER {event.upper()} ON mediation_{table} BEGIN {body} END;"]
    return statements


def postgresql_sql(*, grants: bool = True) -> list[str]:
    due_old, due_new = _due("o", "postgresql"), _due("w", "postgresql")
    grant_delta = _pg_upsert_grant(
        "SELECT g.user_id, delta.organisation_id, delta.state, delta.due_on, sum(delta.d) FROM ("
        f"SELECT o.id, o.organisation_id, o.state, {due_old} AS due_on, -1 AS d FROM old_rows o "
        f"UNION ALL SELECT w.id, w.organisation_id, w.state, {due_new}, 1 FROM new_rows w) AS delta "
        f"JOIN {_GRANTS} g ON g.content_object_id = delta.id {_VIEW} "
        "GROUP BY 1, 2, 3, 4 HAVING sum(delta.d) <> 0 ORDER BY 1, 2, 3, 4") if grants else ""
    case_fn = f"""
CREATE OR REPLACE FUNCTION mediation_case_tally() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    {_pg_upsert_case(f"SELECT w.organisation_id, w.state, {due_new}, count(*) FROM new_rows w "
                     "GROUP BY 1, 2, 3 ORDER BY 1, 2, 3")}
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
    statements = [case_fn, mediator_fn] + ([grant_fn] if grants else [])
    tables = [(_CASE, "mediation_case_tally"), (_MEDIATORS, "mediation_mediator_tally")]
    for table, function in tables + ([(_GRANTS, "mediation_grant_tally")] if grants else []):
        for event, referencing in (("INSERT", "NEW TABLE AS new_rows"), ("DELETE", "OLD TABLE AS old_rows"),
                                   ("UPDATE", "OLD TABLE AS old_rows NEW TABLE AS new_rows")):
            if table == _MEDIATORS and event == "UPDATE":
                continue  # the through table's rows are only ever inserted and deleted
            name = f"{function}_{event.lower()}"
            statements += [f"DROP TRIGGER IF EXISTS {name} ON {table};",
                           f"CREATE TRIGGER {name} AFTER {event} ON {table} REFERENCING {referencing} "
                           f"FOR EACH STATEMENT EXECUTE FUNCTION {function}();"]
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


def sqlite_sql(*, grants: bool = True) -> list[str]:
    names = ("mediation_case_tally_insert", "mediation_case_tally_delete", "mediation_case_tally_update",
             "mediation_mediator_tally_insert", "mediation_mediator_tally_delete", "mediation_grant_tally_insert",
             "mediation_grant_tally_delete", "mediation_grant_tally_update")
    grant_triggers = [
        f"CREATE TRIGGER mediation_grant_tally_insert AFTER INSERT ON {_GRANTS} BEGIN "
        f"{_lite_grant_row('NEW', '')} END;",
        f"CREATE TRIGGER mediation_grant_tally_delete AFTER DELETE ON {_GRANTS} BEGIN "
        f"{_lite_grant_row('OLD', '-')} END;",
        f"CREATE TRIGGER mediation_grant_tally_update AFTER UPDATE ON {_GRANTS} BEGIN {_lite_grant_row('OLD', '-')} "
        f"{_lite_grant_row('NEW', '')} END;"] if grants else []
    case_grants = f"{_lite_grants('OLD', '-')} {_lite_grants('NEW', '')}" if grants else ""
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
            "WHERE c.id = OLD.case_id ON CONFLICT (user_id, state) DO UPDATE SET n = n + excluded.n; END;"]


def install(schema_editor: Any = None, *, instalments: bool = True, grants: bool = True) -> None:
    """Create (or replace) the triggers on the current database, then count everything once.
    (``instalments``/``grants`` off: the parts whose tables came later, for earlier migrations.)"""
    conn = schema_editor.connection if schema_editor is not None else connection
    if conn.vendor == "postgresql":
        statements = postgresql_sql(grants=grants) + (_pg_instalment_sql() if instalments else [])
    elif conn.vendor == "sqlite":
        statements = sqlite_sql(grants=grants) + (_lite_instalment_sql() if instalments else [])
    else:
        statements = []
    with conn.cursor() as cursor:
        for sql in statements:
            cursor.execute(sql)
    rebuild(using=conn.alias, instalments=instalments, grants=grants)


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
        names = [("mediation_case", "mediation_case_next_instalment_due")] + [
            (f"mediation_{t}", f"mediation_{t}_touch_case_{e}") for t in ("instalment", "agreement")
            for e in ("insert", "delete", "update")]
        for table, name in names:
            cursor.execute(f"DROP TRIGGER IF EXISTS {name} ON {table}" if conn.vendor == "postgresql"
                           else f"DROP TRIGGER IF EXISTS {name}")
        if conn.vendor == "postgresql":
            for function in ("mediation_case_next_instalment_due", "mediation_instalment_touch_case",
                             "mediation_agreement_touch_case"):
                cursor.execute(f"DROP FUNCTION IF EXISTS {function}()")


def rebuild(using: str = "default", *, instalments: bool = True, grants: bool = True) -> None:
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
        if grants:
            cursor.execute(f"DELETE FROM {_GRANT_TALLY}")
            cursor.execute(f"INSERT INTO {_GRANT_TALLY} (user_id, organisation_id, state, due_on, n) "
                           f"SELECT g.user_id, c.organisation_id, c.state, {_due('c', conn.vendor)}, count(*) "
                           f"FROM {_GRANTS} g {_VIEW} JOIN {_CASE} c ON c.id = g.content_object_id "
                           "GROUP BY 1, 2, 3, 4")
        if not instalments:
            return
        cursor.execute(f"UPDATE {_CASE} SET next_instalment_due = CASE WHEN state = '{CaseState.SETTLED}' "
                       f"THEN {_next_due(f'{_CASE}.id')} END WHERE state = '{CaseState.SETTLED}' "
                       "OR next_instalment_due IS NOT NULL")


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
        cursor.execute(f"SELECT id FROM {_CASE} WHERE next_instalment_due IS DISTINCT FROM (CASE WHEN state = "
                       f"'{CaseState.SETTLED}' THEN {_next_due(f'{_CASE}.id')} END)"
                       if conn.vendor == "postgresql" else
                       f"SELECT id FROM {_CASE} WHERE next_instalment_due IS NOT (CASE WHEN state = "
                       f"'{CaseState.SETTLED}' THEN {_next_due(f'{_CASE}.id')} END)")
        found += [f"case {case_id}: next_instalment_due out of date" for (case_id,) in cursor.fetchall()[:50]]
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


def case_counts_query(organisation_ids: Iterable[int] | None, q: Q | None = None) -> QuerySet[Any]:
    """(state, cases) rows for these organisations (all when ``None``) among the tally rows matching ``q``."""
    rows = CaseTally.objects.filter(q or Q())
    if organisation_ids is not None:
        rows = rows.filter(organisation_id__in=list(organisation_ids))
    return rows.order_by().values("state").annotate(total=Sum("n")).values_list("state", "total")


def granted_counts_query(user_id: int, excluded_organisation_ids: Iterable[int] | None, q: Q | None = None,
                         ) -> QuerySet[Any]:
    """(state, cases) rows the user reads by a per-case grant, outside ``excluded_organisation_ids``
    (the organisations the user reads whole already), among the tally rows matching ``q``."""
    rows = GrantTally.objects.filter(q or Q(), user_id=user_id)
    if excluded_organisation_ids:
        rows = rows.exclude(organisation_id__in=list(excluded_organisation_ids))
    return rows.order_by().values("state").annotate(total=Sum("n")).values_list("state", "total")


def mediator_counts(user_ids: Iterable[int], states: Iterable[str]) -> dict[int, int]:
    """Cases per assigned user among ``states`` (users with none are absent)."""
    return {user_id: int(n) for user_id, n in MediatorTally.objects.filter(
        user_id__in=list(user_ids), state__in=list(states)).values("user_id").annotate(total=Sum("n"))
        .values_list("user_id", "total") if n}


__all__ = ["NO_DUE_DATE", "MEDIATION_CLOCK_STATES", "install", "uninstall", "rebuild", "differences", "running_due_q",
           "case_counts_query", "granted_counts_query", "mediator_counts"]
