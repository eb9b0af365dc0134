"""The audit trail of the ledger (audit.change_log): every insert, update and
delete on core leaves a row per record with who (role, login, application
user), when, the table, the record's key, the person's pseudonymous key and
the names of the changed columns; never a value."""

from __future__ import annotations

import psycopg
import pytest

from builders import jumin_file, people
from kenshin.ingest.loading import ingest_file
from kenshin.platform import db

pytestmark = pytest.mark.integration


def personal_values(ps) -> set[str]:
    """Everything personal a synthetic person carries (names, number, address, addressee id)."""
    out = set()
    for p in ps:
        out |= {p.addressee_id, p.my_number, p.name_kanji, p.name_kana, p.address,
                p.name_kanji.replace("\u3000", ""), p.address[:10]}
    return out


def assert_no_personal_values(conn, table: str, values: set[str]) -> int:
    rows = conn.execute(f"select t::text from {table} t").fetchall()
    for (text,) in rows:
        leaked = [v for v in values if v in text]
        assert not leaked, f"a personal value in {table}"
    return len(rows)


def test_every_core_table_has_the_audit_triggers(db_url):
    """A new core table without the triggers fails here."""
    with psycopg.connect(db_url) as conn:
        tables = {r[0] for r in conn.execute(
            "select c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace "
            "where n.nspname = 'core' and c.relkind in ('r', 'p')")}
        triggers = conn.execute(
            """select c.relname, array_agg(t.tgname order by t.tgname) from pg_trigger t
                 join pg_class c on c.oid = t.tgrelid join pg_namespace n on n.oid = c.relnamespace
                where n.nspname = 'core' and t.tgname like 'audit_%%' group by 1""").fetchall()
    assert len(tables) >= 11
    assert {name: names for name, names in triggers} == {
        t: ["audit_delete", "audit_insert", "audit_update"] for t in tables}


def test_a_load_and_an_update_by_the_loader_are_traced_without_values(db_url, tmp_path, monkeypatch):
    monkeypatch.setenv("KENSHIN_USER", "clerk07")
    # a DAG test run earlier in this process (dag.test()) leaves Airflow's task context behind
    monkeypatch.delenv("AIRFLOW_CTX_DAG_ID", raising=False)
    ps = people(4)
    ps[3] = ps[3].but(protection_flag="1")
    assert ingest_file(jumin_file(tmp_path, "20261001", "full", [p.jumin_row() for p in ps]),
                       url=db_url).loaded == 4
    moved = ps[0].but(address="神奈川県川崎市高津区溝口1丁目2番3号", postal_code="213-0001", ward_code="141348")
    assert ingest_file(jumin_file(tmp_path, "20261002", "diff", [moved.jumin_row("05", "20261002")]),
                       url=db_url).loaded == 1
    with db.connect(db_url, user="clerk08") as conn:  # the loader role, another application user
        conn.execute("update core.person set missing_since = date '2026-10-03' where addressee_id = %s",
                     (ps[1].addressee_id,))
        conn.commit()
    with psycopg.connect(db_url) as conn:
        keys = dict(conn.execute("select addressee_id, person_key from core.person"))
        rows = conn.execute(
            """select operation, table_name, record_key, person_key, changed_columns, db_role, login, app_user
                 from audit.change_log order by change_id""").fetchall()
        inserts = [r for r in rows if r[0] == "insert"]
        assert {(r[1], r[3]) for r in inserts if r[1] == "core.person"} == {
            ("core.person", keys[p.addressee_id]) for p in ps}
        assert sum(1 for r in inserts if r[1] == "core.person_version") == 5
        assert {r[5:] for r in inserts} == {("kenshin_loader", conn.info.user, "clerk07")}
        updates = [r for r in rows if r[0] == "update"]
        old_version = conn.execute("select version_id from core.person_version where addressee_id = %s "
                                   "and valid_to is not null", (ps[0].addressee_id,)).fetchone()[0]
        assert ("update", "core.person_version", str(old_version), keys[ps[0].addressee_id], ["valid_to"],
                "kenshin_loader", conn.info.user, "clerk07") in updates
        assert ("update", "core.person", None, keys[ps[1].addressee_id], ["missing_since"],
                "kenshin_loader", conn.info.user, "clerk08") in updates
        assert assert_no_personal_values(conn, "audit.change_log", personal_values([*ps, moved])) == len(rows)


def test_a_delete_is_traced_with_the_record_key(db_url, tmp_path):
    ps = people(2)
    ingest_file(jumin_file(tmp_path, "20261001", "full", [p.jumin_row() for p in ps]), url=db_url)
    with db.connect(db_url, role="kenshin_purger", user="purge-run-1") as conn:
        conn.execute("delete from core.person_version where addressee_id = %s", (ps[0].addressee_id,))
        conn.commit()
    with psycopg.connect(db_url) as conn:
        key = conn.execute("select person_key from core.person where addressee_id = %s",
                           (ps[0].addressee_id,)).fetchone()[0]
        assert conn.execute(
            "select operation, table_name, person_key, db_role, app_user from audit.change_log "
            "where operation = 'delete'").fetchall() == [
            ("delete", "core.person_version", key, "kenshin_purger", "purge-run-1")]


def test_the_loader_cannot_write_or_erase_the_trail(db_url):
    with db.connect(db_url) as conn:
        for statement in ("insert into audit.change_log (db_role, login, operation, table_name) "
                          "values ('x', 'x', 'insert', 'x')",
                          "delete from audit.change_log", "update audit.change_log set app_user = 'x'",
                          "alter table core.screening disable trigger audit_insert"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(statement)
            conn.rollback()
