"""Least privilege in the database and no plaintext individual number anywhere."""

from __future__ import annotations

import psycopg
import pytest

from builders import jumin_file, people
from kenshin.ingest.loading import ingest_file

pytestmark = pytest.mark.integration


def tables(conn, schemas):
    return conn.execute(
        """select table_schema, table_name from information_schema.tables
            where table_schema = any(%s) order by 1, 2""", (list(schemas),)).fetchall()


def test_stats_role_is_denied_every_core_ops_and_audit_relation(db_url):
    with psycopg.connect(db_url, autocommit=True) as conn:
        targets = tables(conn, ("core", "ops", "audit", "landing", "marts"))
        assert len(targets) >= 10
        conn.execute("set role kenshin_stats")
        for schema, name in targets:
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(f'select 1 from "{schema}"."{name}" limit 1')


def test_loader_cannot_change_the_schema(db_url):
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("set role kenshin_loader")
        for statement in ("create table core.x (i int)", "drop table core.person_event",
                          "alter table core.person add column x int"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(statement)


def test_nothing_is_granted_to_public(db_url):
    with psycopg.connect(db_url) as conn:
        grants = conn.execute(
            """select table_schema, table_name, privilege_type from information_schema.role_table_grants
                where grantee = 'PUBLIC' and table_schema in ('landing','core','ops','audit','marts','stats')"""
        ).fetchall()
        assert grants == []
        # nor may PUBLIC run any of the warehouse's functions (SECURITY DEFINER ones write the audit)
        functions = conn.execute(
            """select n.nspname || '.' || p.proname from pg_proc p join pg_namespace n on n.oid = p.pronamespace
                where n.nspname in ('landing', 'core', 'ops', 'audit', 'marts', 'stats', 'staff')
                  and has_function_privilege('public', p.oid, 'EXECUTE')""").fetchall()
        assert functions == []
        defined = conn.execute(
            """select count(*) from pg_proc p join pg_namespace n on n.oid = p.pronamespace
                where n.nspname in ('landing', 'ops', 'audit', 'staff')""").fetchone()[0]
        assert defined >= 5   # the check above looked at real functions


def test_no_plaintext_individual_number_anywhere(db_url, tmp_path):
    ps = people(25)
    numbers = {p.my_number for p in ps}
    result = ingest_file(jumin_file(tmp_path, "20261001", "full", [p.jumin_row() for p in ps]), url=db_url)
    assert result.loaded == 25
    with psycopg.connect(db_url) as conn:
        assert conn.execute("select count(*) from core.person where my_number_enc is not null").fetchone()[0] == 25
        relations = conn.execute(
            """select n.nspname, c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace
                where c.relkind in ('r', 'p', 'm') and n.nspname not in ('pg_catalog', 'information_schema')
                  and n.nspname not like 'pg_toast%%'""").fetchall()
        scanned = 0
        for schema, name in relations:
            for (text,) in conn.execute(f'select t::text from "{schema}"."{name}" t'):
                scanned += 1
                hits = [n for n in numbers if n in text]
                assert not hits, f"plaintext individual number in {schema}.{name}"
                # bytea renders as hex: the ASCII of a number would show as 3x3x... runs
                for n in numbers:
                    assert n.encode().hex() not in text, f"unencrypted number bytes in {schema}.{name}"
        assert scanned > 25
