"""Linkage responses through the shared ingestion mechanism: every state of a
request (answered, no record, manual pending then answered, retried with
backoff then failed, expired and asked once more), bad input quarantined or
rejected, received rows deleted after the configured days."""

from __future__ import annotations

import datetime as dt
import uuid

import psycopg
import pytest

from builders import fixture_load, insert_event, insert_person, shokai_res_file
from kenshin.exchange import queries as linkage
from kenshin.ingest.loading import ingest_file

pytestmark = pytest.mark.integration

D = dt.date


@pytest.fixture
def sent(db_url, inbox):
    """Three arrivals of April 1 (45, 46, 47 years old), asked about on June 30."""
    with psycopg.connect(db_url) as conn:
        fixture_load(conn)
        for i in (1, 2, 3):
            insert_person(conn, f"{i:010d}", 1, D(1982 - i, 5, 5), valid_from=D(2026, 4, 1))
            insert_event(conn, f"{i:010d}", "02", D(2026, 4, 1), i)
    linkage.request(D(2026, 6, 30), url=db_url)
    return db_url


def request_of(url, aid: str) -> str:
    with psycopg.connect(url) as conn:
        return str(conn.execute("select request_id from ops.linkage_request where addressee_id = %s "
                                "order by generation desc limit 1", (aid,)).fetchone()[0])


def state(url, aid: str) -> tuple:
    with psycopg.connect(url) as conn:
        return conn.execute("""select state, attempts, next_attempt_on, generation from ops.linkage_request
                                where addressee_id = %s order by generation desc limit 1""", (aid,)).fetchone()


def test_answers_no_record_and_bad_rows(sent, inbox):
    r1, r2 = request_of(sent, "0000000001"), request_of(sent, "0000000002")
    path = shokai_res_file(inbox, "20260715", 1, [
        [r1, "00", "131016", "04", "20241001", "1", ""],
        [r1, "00", "131016", "07", "20250901", "3", "4"],
        [r2, "01", "", "", "", "", ""],
        [str(uuid.uuid4()), "01", "", "", "", "", ""],      # a request the city never sent
        [r1, "XX", "", "", "", "", ""],                      # a malformed status
    ])
    result = ingest_file(path, url=sent)
    assert (result.status, result.rows, result.loaded, result.quarantined) == ("loaded", 5, 3, 2)
    with psycopg.connect(sent) as conn:
        reasons = conn.execute("select line_no, field, reason from ops.quarantine where load_id = %s "
                               "order by line_no", (result.load_id,)).fetchall()
        records = conn.execute("select exam_type, exam_date, result_code, followup_outcome, source_municipality_code "
                               "from core.external_screening order by exam_date").fetchall()
    assert reasons == [(5, "request_id", "no such request"), (6, "status", "not one of 00, 01, 02, 09")]
    assert records == [("04", D(2024, 10, 1), "1", None, "131016"), ("07", D(2025, 9, 1), "3", "4", "131016")]
    assert state(sent, "0000000001")[0] == "answered" and state(sent, "0000000002")[0] == "no_record"

    # a second answer to a closed request; the same file again; a truncated file
    late = ingest_file(shokai_res_file(inbox, "20260716", 1, [[r1, "01", "", "", "", "", ""]]), url=sent)
    assert (late.loaded, late.quarantined) == (0, 1)
    with psycopg.connect(sent) as conn:
        assert conn.execute("select reason from ops.quarantine where load_id = %s",
                            (late.load_id,)).fetchone()[0] == "request already closed (answered)"
    assert ingest_file(path, url=sent).status == "duplicate"
    cut = shokai_res_file(inbox, "20260717", 1, [[r1, "01", "", "", "", "", ""]], trailer=False)
    assert ingest_file(cut, url=sent).status == "rejected"

    # deletion: the configured days after the answers were applied, no payload is left
    with psycopg.connect(sent) as conn:
        conn.execute("update ops.load_manifest set finished_at = '2026-07-16 10:00+09' where source = 'shokai_res'")
    assert linkage.purge(D(2026, 8, 14), url=sent) == {"loads": 0, "rows_deleted": 0}
    assert linkage.purge(D(2026, 8, 15), url=sent) == {"loads": 2, "rows_deleted": 6}
    with psycopg.connect(sent) as conn:
        assert conn.execute("select count(*) from landing.shokai_res").fetchone()[0] == 0
        assert conn.execute("select loads, rows_deleted from ops.linkage_deletion").fetchall() == [(2, 6)]
    assert not path.exists()
    # a scan: no table keeps rows of the response loads but the manifest's own bookkeeping
    # (counts, reasons, gate results) and the applied records themselves
    with psycopg.connect(sent) as conn:
        loads = [r[0] for r in conn.execute("select load_id from ops.load_manifest where source = 'shokai_res'")]
        tables = conn.execute("""select table_schema, table_name from information_schema.columns
                                  where column_name = 'load_id' and table_schema not in ('pg_catalog',
                                        'information_schema') and table_name not like '%%accepted'""").fetchall()
        holding = {f"{schema}.{table}" for schema, table in tables
                   if conn.execute(f'select exists (select 1 from "{schema}"."{table}" where load_id = any(%s))',
                                   (loads,)).fetchone()[0]}
    assert holding == {"ops.load_manifest", "ops.quarantine", "ops.gate_result", "core.external_screening"}


def test_manual_pending_errors_with_backoff_and_expiry(sent, inbox):
    r1, r2, r3 = (request_of(sent, f"{i:010d}") for i in (1, 2, 3))
    ingest_file(shokai_res_file(inbox, "20260701", 1, [[r1, "02", "", "", "", "", ""],
                                                        [r2, "09", "", "E01", "", "", ""]]), url=sent)
    assert state(sent, "0000000001") == ("manual_pending", 1, D(2026, 8, 30), 0)   # waited for 60 days
    assert state(sent, "0000000002") == ("retry", 1, D(2026, 7, 2), 0)             # after 1 day
    # the manual answer arrives in time: answered
    ingest_file(shokai_res_file(inbox, "20260720", 1, [[r1, "00", "131016", "03", "20250501", "1", ""]]),
                url=sent)
    assert state(sent, "0000000001")[0] == "answered"

    # 09 again and again: 1, 3, 7 days, then failed
    day, number = D(2026, 7, 2), 2
    for attempts, wait in ((2, 3), (3, 7)):
        linkage.request(day, url=sent)
        assert state(sent, "0000000002")[:2] == ("sent", attempts)
        ingest_file(shokai_res_file(inbox, f"{day:%Y%m%d}", number, [[r2, "09", "", "E01", "", "", ""]]),
                    url=sent)
        assert state(sent, "0000000002") == ("retry", attempts, day + dt.timedelta(days=wait), 0)
        day, number = day + dt.timedelta(days=wait), number + 1
    linkage.request(day, url=sent)
    ingest_file(shokai_res_file(inbox, f"{day:%Y%m%d}", number, [[r2, "09", "", "E01", "", "", ""]]), url=sent)
    assert state(sent, "0000000002")[:2] == ("failed", 4)

    # a manual answer never comes: expired after the 60 days waited (asked once more)
    with psycopg.connect(sent) as conn:
        conn.execute("update ops.linkage_request set state = 'manual_pending', next_attempt_on = '2026-07-25' "
                     "where addressee_id = '0000000003'")
    assert linkage.request(D(2026, 7, 24), url=sent)["expired"] == 0
    assert linkage.request(D(2026, 7, 25), url=sent)["expired"] == 1
    with psycopg.connect(sent) as conn:
        assert conn.execute("select generation, state from ops.linkage_request where addressee_id = '0000000003' "
                            "order by generation").fetchall() == [(0, "expired"), (1, "sent")]
        conn.execute("delete from ops.linkage_request where addressee_id = '0000000003' and generation = 1")
        conn.execute("update ops.linkage_request set state = 'sent', closed_on = null "
                     "where addressee_id = '0000000003'")

    # 3 never answers: expired after 30 days and asked once more, then expired for good
    assert linkage.request(D(2026, 7, 29), url=sent)["states"].get("expired") is None
    linkage.request(D(2026, 7, 30), url=sent)
    assert state(sent, "0000000003")[::3] == ("sent", 1)
    linkage.request(D(2026, 8, 29), url=sent)
    with psycopg.connect(sent) as conn:
        assert conn.execute("select generation, state from ops.linkage_request where addressee_id = '0000000003' "
                            "order by generation").fetchall() == [(0, "expired"), (1, "expired")]
