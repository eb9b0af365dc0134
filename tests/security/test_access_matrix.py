"""Role x object x operation: every table and view of the warehouse (all its
schemas, the dbt-built ones included) against every role, for SELECT, INSERT,
UPDATE and DELETE, run for real as that role.

MATRIX below is the one place to extend: a relation added by a migration or a
dbt model must get a line, or the test fails. Each line holds one cell of four
characters per role of ROLES, for SELECT, INSERT, UPDATE, DELETE:

    y  succeeds
    -  permission denied (SQLSTATE 42501)
    0  SELECT succeeds with zero rows although the relation has rows (row-level
       security: the fixture's only person is protection-flagged)
    n  refused for everyone before any permission check: a view PostgreSQL
       cannot write through (joins, unions, aggregates)

Writes are tried with statements that change nothing (`... where false`,
`default values` rolled back): only the permission check is exercised.
"""

from __future__ import annotations

import datetime as dt

import psycopg
import pytest
from psycopg import sql

from builders import fixture_load, insert_event, insert_person
from kenshin.reporting import marts

pytestmark = pytest.mark.integration

ROLES = ("kenshin_loader", "kenshin_staff", "kenshin_protection", "kenshin_stats", "kenshin_auditor", "kenshin_purger",
         "kenshin_reporter")

NONE = "---- " * 7
#                loader staff protection stats auditor purger reporter
CORE_TABLE = "yyy- ---- ---- ---- ---- y--y ----"
LANDING_TABLE = "yyyy ---- ---- ---- ---- y--y ----"
LANDING_VIEW = "y--- ---- ---- ---- ---- ---- ----"
OPS_TABLE = "yyy- ---- ---- ---- y--- y--y ----"
STAFF_VIEW = "---- y--- y--- ---- ---- ---- ----"
# the fixture's person is protection-flagged: only kenshin_protection sees the rows holding addresses
STAFF_ADDRESS_VIEW = "---- 0--- y--- ---- ---- ---- ----"
STATS_TABLE = "---- ---- ---- y--- ---- ---- ----"

MATRIX: dict[str, str] = {
    # append-only: the purge removes and scrubs only through audit.expire_rows / scrub_correction_values
    "audit.access_log": "---- ---- ---- ---- y--- y--- ----",
    "audit.change_log": "---- ---- ---- ---- y--- y--- ----",
    "audit.record_correction": "yy-- ---- ---- ---- y--- y--- ----",
    **{f"audit.{t}": "---- ---- ---- ---- y--- ---- ----" for t in (
        "access_purpose", "expired_row", "policy", "scrubbed_values", "seal")},
    **{f"core.{t}": CORE_TABLE for t in (
        "detailed_exam", "external_screening", "nhi_period", "person", "person_event", "person_version",
        "screening", "voucher", "welfare_period")},
    # letters are written once and never changed
    "core.notice": "yy-- ---- ---- ---- ---- y--y ----",
    "core.notice_cause": "yy-- ---- ---- ---- ---- y--y ----",
    # a join: no one writes through it (n for the roles that may use the schema)
    "core.person_current": "ynnn ---- ---- ---- ---- -nnn ----",
    # the predicate of protected addresses: the letters (loader) ask it; staff only through their functions
    "core.protected_address": "ynnn ---- ---- ---- ---- -nnn ----",
    **{f"landing.{t}": LANDING_TABLE for t in ("jumin", "kenshin", "kokuho", "seiho", "seiken", "shokai_res")},
    **{f"landing.{t}_accepted": LANDING_VIEW for t in ("jumin", "kokuho", "seiho")},
    # the UPDATE is tried on their last column, an expression
    **{f"landing.{t}_accepted": "y-n- ---- ---- ---- ---- --n- ----" for t in ("kenshin", "seiken", "shokai_res")},
    **{f"ops.{t}": OPS_TABLE for t in (
        "gate_result", "linkage_deletion", "linkage_request", "quarantine", "record_match", "registry_check",
        "review_item")},
    "ops.load_manifest": "yyy- ---- ---- ---- y--- y-yy ----",
    # written only through ops.request_correction / ops.decide_correction
    "ops.correction_request": "---- ---- ---- ---- y--- y--y ----",
    # staff identities: the owner's; support-measure lifts: written only through ops.*_protection_lift
    "ops.staff_member": "---- ---- ---- ---- y--- ---- ----",
    "ops.protection_request": "---- ---- ---- ---- y--- y--y ----",
    "ops.deletion_log": "y--- ---- ---- ---- y--- y--y ----",
    "ops.provision_export": "yyy- ---- ---- ---- y--- ---- ----",
    # the last voucher serial per fiscal year and exam type (no personal data)
    "ops.voucher_serial": "yyy- ---- ---- ---- ---- ---- ----",
    # the approver (staff) reads the plan it decides: counts only
    "ops.purge_run": "y--- y--- y--- ---- y--- yyyy ----",
    "ops.purge_count": "y--- y--- y--- ---- y--- yyyy ----",
    "public.kenshin_schema_version": NONE,
    **{f"staff.{t}": STAFF_VIEW for t in (
        "detailed_exam", "external_screening", "nhi_period", "notice", "screening", "voucher", "welfare_period")},
    "staff.person": STAFF_ADDRESS_VIEW,
    "staff.person_event": STAFF_ADDRESS_VIEW,
    # dbt: pseudonymous facts for staff; the person-level history only through staff.screening_history()
    "marts.fct_screening": "---- y--- y--- ---- ---- ---- ----",
    "marts.screening_history": "---- -nnn -nnn ---- ---- ---- ----",
    **{f"marts_staging.{t}": NONE for t in (
        "age_bands", "detailed_exam_outcomes", "exam_types", "indicator_thresholds", "int_people_screened",
        "int_screening_counts", "int_screening_enriched", "int_target_population", "result_codes", "wards",
        "detailed_exam_criteria", "exam_families", "int_reported_exam_types",
        "stg_core__detailed_exam", "stg_core__external_screening", "stg_core__nhi_period", "stg_core__person",
        "stg_core__person_version", "stg_core__screening", "stg_core__welfare_period")},
    **{f"stats.{t}": STATS_TABLE for t in ("ministry_report", "participation", "process_indicators")},
    # the ministry report's exact cells: the reporting role alone, every read logged (row-level policy)
    "report.ministry_report_exact": "---- ---- ---- ---- ---- ---- y---",
    # the statistics being built: granted to kenshin_stats by dbt, unreachable (no usage of the schema)
    **{f"stats_build.{t}": NONE for t in ("ministry_report", "participation", "process_indicators")},
}

WAREHOUSE_RELATIONS = """
select n.nspname || '.' || c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace
 where c.relkind in ('r', 'p', 'v', 'm', 'f') and n.nspname not in ('pg_catalog', 'information_schema')
   and n.nspname not like 'pg_toast%%' and n.nspname not like 'pg_temp%%' order by 1"""


def _try(conn: psycopg.Connection, statement: sql.Composable) -> tuple[str, int | None]:
    """Run `statement` in a savepoint that is always rolled back: ('ok', rows) or ('denied', None)."""
    try:
        with conn.transaction(force_rollback=True):
            cur = conn.execute(statement)
            return "ok", (cur.fetchone()[0] if cur.description else None)
    except psycopg.errors.InsufficientPrivilege:
        return "denied", None
    except (psycopg.errors.ObjectNotInPrerequisiteState, psycopg.errors.FeatureNotSupported):
        return "not writable", None
    except (psycopg.errors.IntegrityError, psycopg.errors.DataException):
        return "ok", None  # past the permission check: a constraint refused the empty row


def cell(conn: psycopg.Connection, relation: str, total: int, column: str) -> str:
    schema, name = relation.split(".")
    rel = sql.Identifier(schema, name)
    out = ""
    status, rows = _try(conn, sql.SQL("select count(*) from {}").format(rel))
    out += "-" if status == "denied" else ("0" if rows == 0 and total > 0 else "y")
    for statement in (sql.SQL("insert into {} default values").format(rel),
                      sql.SQL("update {} set {} = default where false").format(rel, sql.Identifier(column)),
                      sql.SQL("delete from {} where false").format(rel)):
        out += {"denied": "-", "not writable": "n", "ok": "y"}[_try(conn, statement)[0]]
    return out


def actual_matrix(url: str, relations: list[str]) -> dict[str, str]:
    with psycopg.connect(url) as conn:
        totals = {r: conn.execute(sql.SQL("select count(*) from {}").format(sql.Identifier(*r.split(".")))).fetchone()[0]
                  for r in relations}
        # the column an UPDATE is tried on: one the role may update, if any (else the
        # last: identity columns come first, and a view cannot set them to its default)
        columns = {(r, role): conn.execute(
            "select attname from pg_attribute where attrelid = %s::regclass and attnum > 0 and not attisdropped "
            "order by has_column_privilege(%s, attrelid, attnum, 'UPDATE') desc, attnum desc",
            (r, role)).fetchone()[0] for r in relations for role in ROLES}
        # staff must state a purpose before they may read a person's record
        conn.execute("select set_config('kenshin.purpose', 'investigation', false)")
        conn.commit()
        out = {}
        for relation in relations:
            cells = []
            for role in ROLES:
                conn.execute(sql.SQL("set role {}").format(sql.Identifier(role)))
                cells.append(cell(conn, relation, totals[relation], columns[relation, role]))
                conn.execute("reset role")
            out[relation] = " ".join(cells)
        conn.rollback()
    return out


def test_every_role_object_and_operation_is_as_the_matrix_says(db_url):
    with psycopg.connect(db_url) as conn:
        fixture_load(conn)
        insert_person(conn, "0000000001", 2, dt.date(1980, 5, 5), protection_flag=True)
        insert_event(conn, "0000000001", "02", dt.date(2020, 4, 1), 2)
    assert marts.build(url=db_url), "dbt build failed"
    with psycopg.connect(db_url) as conn:
        relations = [r[0] for r in conn.execute(WAREHOUSE_RELATIONS)]
    assert set(relations) == set(MATRIX), "a relation without a line in MATRIX, or a line for one that is gone"
    actual = actual_matrix(db_url, relations)
    wrong = {r: f"expected {MATRIX[r].strip()}  actual {actual[r]}" for r in relations
             if actual[r] != " ".join(MATRIX[r].split())}
    assert wrong == {}, "\n".join(f"{r}: {w}" for r, w in wrong.items())
    cells = sum(len(v.split()) * 4 for v in actual.values())
    assert cells == len(relations) * len(ROLES) * 4 and len(relations) >= 70


def test_the_matrix_sees_a_grant_too_many(db_url):
    """The matrix is run, not read from the catalog: one extra right changes a cell."""
    assert actual_matrix(db_url, ["core.screening"])["core.screening"] == " ".join(MATRIX["core.screening"].split())
    with psycopg.connect(db_url) as conn:
        conn.execute("grant delete on core.screening to kenshin_loader")
        conn.execute("grant usage on schema core to kenshin_staff")
        conn.execute("grant select (screening_id) on core.screening to kenshin_stats")
    assert actual_matrix(db_url, ["core.screening"])["core.screening"] == "yyyy y--- y--- ---- ---- y--y ----"


# --- the protection predicate (core.protected_address) on every address path ---

ADDRESS_COLUMNS = ("address", "previous_address", "postal_code", "household_head_name")
PREDICATE = ("core.protected_address", "core.address_protected")


def unprotected_address_paths(conn: psycopg.Connection) -> list[str]:
    """Relations and functions staff (kenshin_staff, not kenshin_protection) can
    read that hold an address column but do not go through the predicate: a
    table must have a staff policy calling audit.staff_read(..., true) (which
    asks core.address_protected); a view must be security_invoker over such
    tables only; a function must ask the predicate in its body."""
    staff_read = conn.execute("select prosrc from pg_proc where oid = 'audit.staff_read'::regproc").fetchone()[0]
    bad = [] if "core.address_protected" in staff_read else ["audit.staff_read"]
    guarded = {r[0] for r in conn.execute(
        """select p.schemaname || '.' || p.tablename from pg_policies p
            where 'kenshin_staff' = any(p.roles) and p.qual ~ 'staff_read\\(.*true\\)'""")}
    relations = conn.execute(
        """select n.nspname || '.' || c.relname, c.relkind, coalesce(c.reloptions, '{}')
             from pg_class c join pg_namespace n on n.oid = c.relnamespace
            where c.relkind in ('r', 'v', 'm') and n.nspname not in ('pg_catalog', 'information_schema')
              and exists (select 1 from pg_attribute a where a.attrelid = c.oid and a.attname = any(%s)
                             and has_column_privilege('kenshin_staff', c.oid, a.attnum, 'SELECT'))
              and has_schema_privilege('kenshin_staff', n.oid, 'USAGE')""", (list(ADDRESS_COLUMNS),)).fetchall()
    for name, kind, options in relations:
        if kind == "r" and name not in guarded:
            bad.append(name)
        elif kind in ("v", "m"):
            sources = {r[0] for r in conn.execute(
                """select distinct n.nspname || '.' || c.relname from pg_rewrite w
                     join pg_depend d on d.objid = w.oid and d.classid = 'pg_rewrite'::regclass
                     join pg_class c on c.oid = d.refobjid and c.relkind = 'r'
                     join pg_namespace n on n.oid = c.relnamespace
                    where w.ev_class = %s::regclass""", (name,))}
            if "security_invoker=true" not in options or not sources or not sources <= guarded:
                bad.append(name)
    for name, body in conn.execute(
            """select p.oid::regprocedure::text, p.prosrc from pg_proc p
                 join pg_namespace n on n.oid = p.pronamespace
                where n.nspname not in ('pg_catalog', 'information_schema')
                  and has_function_privilege('kenshin_staff', p.oid, 'EXECUTE')
                  and has_schema_privilege('kenshin_staff', n.oid, 'USAGE')
                  and p.proargnames && %s::text[]""", (list(ADDRESS_COLUMNS),)):
        if not any(f in body for f in PREDICATE):
            bad.append(name)
    return bad


def test_every_address_staff_can_read_goes_through_the_protection_predicate(db_url):
    with psycopg.connect(db_url) as conn:
        assert unprotected_address_paths(conn) == []
        # a new path that forgets the predicate fails the test: a plain view, and a function
        conn.execute("create view staff.mailing_list as select addressee_id, address from core.person_version")
        conn.execute("grant select on staff.mailing_list to kenshin_staff")
        conn.execute("create function staff.addresses() returns table (addressee_id char(10), address text) "
                     "language sql security definer as 'select addressee_id, address from core.person_version'")
        conn.execute("grant execute on function staff.addresses() to kenshin_staff")
        assert unprotected_address_paths(conn) == ["staff.mailing_list", "staff.addresses()"]
        conn.rollback()
