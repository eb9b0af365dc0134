"""PostgreSQL's own log is a copy of whatever it is told, and nobody purges it:
a failing row's values (DETAIL "Failing row contains ..."), the failing
statement and its parameters. Each constraint is violated here through the
write paths (the loader's SQL, a four-eyes correction), with marker values, and
the server's log is read back: the errors are there, the values are not."""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path

import psycopg
import pytest

from builders import fixture_load, insert_person, insert_screening
from kenshin.governance import corrections
from kenshin.platform import db

pytestmark = pytest.mark.integration


def server_log(url: str) -> Path:
    """The file the server logs to: the embedded cluster's, or the collector's."""
    with psycopg.connect(url) as conn:
        port = conn.execute("select current_setting('port')").fetchone()[0]
        current = conn.execute("select pg_current_logfile()").fetchone()[0]
        data = conn.execute("select current_setting('data_directory')").fetchone()[0]
    embedded = db.cluster_dir()
    if (embedded / "port").exists() and (embedded / "port").read_text().strip() == port:
        return embedded / "server.log"
    assert current, "the server logs to no file this test can read (start it with logging_collector or embedded)"
    return Path(data) / current


def test_no_value_of_a_failing_row_reaches_the_server_log(db_url, logins):
    marker = f"漏洩{uuid.uuid4().hex[:8]}"
    ghost = f"9{uuid.uuid4().int % 10**9:09d}"   # an addressee id nobody has
    aid = "0000000501"
    with psycopg.connect(db_url) as conn:
        fixture_load(conn)
        insert_person(conn, aid, 2, dt.date(1960, 1, 1), name_kanji=f"{marker}　花子")
        sid = insert_screening(conn, aid, "04", dt.date(2026, 10, 1), 1)
        other = insert_screening(conn, aid, "04", dt.date(2026, 10, 8), 2)
    log = server_log(db_url)
    start = log.stat().st_size

    loader = logins("etl09", "kenshin_loader", register=False)
    row = ("insert into core.screening (addressee_id, exam_type, exam_date, clinic_code, result_code, "
           "result_detail, fee_exempt, link_method, load_id, line_no) values ({}, '04', {}, {}, {}, %s, false, "
           "'x', 1, 9)")
    attempts = {
        "check": row.format("%s", "'2026-11-01'", "'1413050001'", "'7'"),
        "unique": row.format("%s", "'2026-10-01'", "'1413050001'", "'1'"),
        "not null": row.format("%s", "'2026-11-02'", "null", "'1'"),
        "foreign key": row.format(f"'{ghost}'", "'2026-11-03'", "'1413050001'", "'1'"),
        # the value as a literal in the statement's text
        "literal": row.format(f"'{aid}'", "'2026-11-04'", "'1413050001'", f"'{marker[:1]}'") + " -- " + marker,
    }
    with db.connect(loader) as conn:
        for name, statement in attempts.items():
            args = (marker,) if name == "foreign key" or name == "literal" else (aid, marker)
            with pytest.raises(psycopg.errors.Error):
                conn.execute(statement, args)
            conn.rollback()
            conn.execute("set role kenshin_loader")

    # four eyes: corrections whose values break a CHECK and the UNIQUE rule
    staff = {n: logins(n, "kenshin_staff") for n in ("staff51", "staff52")}
    for changes in ({"result_code": "8", "result_detail": marker}, {"exam_date": "2026-10-08"}):
        filed = corrections.request("screening", sid, reason=marker, changes=changes, url=staff["staff51"])
        with pytest.raises(corrections.CorrectionError) as refused:
            corrections.decide(filed["request_id"], url=staff["staff52"])
        assert marker not in str(refused.value) and aid not in str(refused.value)
    del other

    text = log.read_bytes()[start:].decode("utf-8", "replace")
    # the attempts were logged (this is the right log) ...
    for message in ("violates check constraint", "violates unique constraint", "violates not-null constraint",
                    "violates foreign key constraint", "the new values break a rule"):
        assert message in text, message
    # ... without a value of them
    for value in (marker, ghost, aid, "Failing row", "DETAIL", "STATEMENT"):
        assert value not in text, value
