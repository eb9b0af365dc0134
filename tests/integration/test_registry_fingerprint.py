"""Full snapshots land unchanged lines narrow (fingerprints, 0019): the ledger
is exactly what parsing every line gives, only less is copied and parsed."""

from __future__ import annotations

import datetime as dt

import psycopg
import pytest

from builders import jumin_file, people
from kenshin.ingest.loading import ingest_file
from kenshin.ingest.sources.registry import JuminSource

pytestmark = pytest.mark.integration

# What the ledger holds, without surrogate ids and bookkeeping timestamps.
LEDGER = {
    "person": "select addressee_id, person_key, my_number_hmac, my_number_enc is not null, missing_since, "
              "snapshot_fingerprint from core.person order by 1",
    "person_version": "select addressee_id, valid_from, valid_to, household_id, name_kanji, name_kana, "
                      "name_kanji_key, name_kana_key, sex, birth_date, postal_code, ward_code, address, address_key, "
                      "status, protection_flag, attrs_hash, change_event, load_id, line_no "
                      "from core.person_version order by addressee_id, valid_from, load_id, line_no",
    "person_event": "select addressee_id, event_code, event_date, previous_municipality_code, load_id, line_no "
                    "from core.person_event order by 1, 2, 3, 5, 6",
    "registry_check": "select addressee_id, load_id, reason, raised_on from ops.registry_check order by 1, 2",
    "manifest": "select file_name, status, rows_in_file, rows_loaded, rows_quarantined from ops.load_manifest "
                "order by load_id",
}


def q(url: str, sql: str, *args):
    with psycopg.connect(url) as conn:
        return conn.execute(sql, args).fetchall()


def ledger(url: str) -> dict[str, list]:
    return {name: q(url, sql) for name, sql in LEDGER.items()}


def load(url, path):
    result = ingest_file(path, url=url)
    assert result.status == "loaded", result.reason
    assert result.rows == result.loaded + result.quarantined + result.review
    landed = q(url, "select count(*), count(*) filter (where unchanged) from landing.jumin where load_id = %s",
               result.load_id)[0]
    assert landed[0] == result.rows
    return result, landed[1]


def _month(tmp_path, ps):
    """October's snapshot, a diff on 2 October, November's snapshot."""
    moved, renamed = ps[0], ps[1]
    october = jumin_file(tmp_path, "20261001", "full", [p.jumin_row() for p in ps[:40]])
    diff = jumin_file(tmp_path, "20261002", "diff", [
        moved.but(address="神奈川県川崎市高津区溝口1丁目2番3号", ward_code="141348").jumin_row("05", "20261002"),
        renamed.but(name_kanji="鈴木\u3000陽菜", name_kana="スズキ\u3000ヒナ").jumin_row("06", "20261002")])
    november = jumin_file(tmp_path, "20261101", "full", [
        # the diff's move is undone by the snapshot: the line equals October's,
        # but the person changed since, so it must be parsed and applied
        moved.jumin_row(),
        renamed.but(name_kanji="鈴木\u3000陽菜", name_kana="スズキ\u3000ヒナ").jumin_row(),
        ps[2].but(postal_code="210-0007").jumin_row(),           # changed in the snapshot
        *[p.jumin_row() for p in ps[3:39]],                       # unchanged; ps[39] not listed
        ps[40].jumin_row(),                                       # new
    ])
    return october, diff, november


def test_unchanged_lines_land_narrow_and_the_ledger_equals_parsing_every_line(new_database, tmp_path):
    fast, full = new_database(), new_database()
    ps = people(41)
    october, diff, november = _month(tmp_path, ps)
    for url in (fast, full):
        load(url, october)
        load(url, diff)
    # the reference database forgets the fingerprints of everyone November
    # lists: its lines are all parsed (ps[39], not listed, keeps October's)
    with psycopg.connect(full) as conn:
        conn.execute("update core.person set snapshot_fingerprint = null where addressee_id <> %s",
                     (ps[39].addressee_id,))
    fast_result, fast_unchanged = load(fast, november)
    full_result, full_unchanged = load(full, november)

    assert (fast_unchanged, full_unchanged) == (36, 0)   # ps[3:39]
    assert fast_result.counts == full_result.counts == {"persons_new": 1, "persons_changed": 2,
                                                        "persons_missing": 1}
    assert ledger(fast) == ledger(full)
    # the person the diff moved is back at October's address, a version of its own
    assert q(fast, "select ward_code from core.person_current where addressee_id = %s",
             ps[0].addressee_id) == [("141330",)]
    # an unchanged line lands nothing but what identifies it
    narrow = q(fast, "select count(*) from landing.jumin where load_id = %s and unchanged and "
                     "(name_kanji is not null or address is not null or birth_date is not null "
                     "or my_number_hmac is not null or my_number_enc is not null or household_id is not null "
                     "or addressee_id is null or line_fingerprint is null)", fast_result.load_id)
    assert narrow == [(0,)]
    # every person listed by November's lines now holds that line's fingerprint
    assert q(fast, "select count(*) from core.person p join landing.jumin l on l.load_id = %s "
                   "and landing.ascii_digits(l.addressee_id) = p.addressee_id "
                   "where p.snapshot_fingerprint is distinct from l.line_fingerprint",
             fast_result.load_id) == [(0,)]


def test_a_diff_clears_the_fingerprint_of_whom_it_changes(db_url, tmp_path):
    ps = people(41)
    october, diff, _ = _month(tmp_path, ps)
    load(db_url, october)
    assert q(db_url, "select count(*) from core.person where snapshot_fingerprint is null") == [(0,)]
    load(db_url, diff)
    assert q(db_url, "select addressee_id from core.person where snapshot_fingerprint is null order by 1") == [
        (ps[0].addressee_id,), (ps[1].addressee_id,)]


def test_the_same_snapshot_again_parses_nothing_and_passes_the_gate(db_url, tmp_path):
    ps = people(30)
    load(db_url, jumin_file(tmp_path, "20261001", "full", [p.jumin_row() for p in ps]))
    result, unchanged = load(db_url, jumin_file(tmp_path, "20261101", "full", [p.jumin_row() for p in ps]))
    assert unchanged == 30
    assert result.counts == {"persons_new": 0, "persons_changed": 0, "persons_missing": 0}
    assert q(db_url, "select count(*) from core.person_version") == [(30,)]


def test_a_person_listed_twice_unchanged_is_still_stopped_by_the_gate(db_url, tmp_path):
    ps = people(30)
    load(db_url, jumin_file(tmp_path, "20261001", "full", [p.jumin_row() for p in ps]))
    result = ingest_file(jumin_file(tmp_path, "20261101", "full", [p.jumin_row() for p in ps + ps[:1]]),
                         url=db_url)
    assert result.status == "rejected"
    assert "expect_column_values_to_be_unique on addressee_id" in result.reason


def test_a_missing_person_listed_again_unchanged_is_no_longer_missing(db_url, tmp_path):
    ps = people(30)
    load(db_url, jumin_file(tmp_path, "20261001", "full", [p.jumin_row() for p in ps]))
    load(db_url, jumin_file(tmp_path, "20261101", "full", [p.jumin_row() for p in ps[:29]]))
    assert q(db_url, "select missing_since from core.person where addressee_id = %s",
             ps[29].addressee_id) == [(dt.date(2026, 11, 1),)]
    _, unchanged = load(db_url, jumin_file(tmp_path, "20261201", "full", [p.jumin_row() for p in ps]))
    assert unchanged == 30
    assert q(db_url, "select missing_since from core.person where addressee_id = %s",
             ps[29].addressee_id) == [(None,)]


def test_new_row_rules_parse_every_line_again(db_url, tmp_path, monkeypatch):
    ps = people(30)
    load(db_url, jumin_file(tmp_path, "20261001", "full", [p.jumin_row() for p in ps]))
    stamps = q(db_url, "select addressee_id, updated_at, last_load_id from core.person order by 1")
    monkeypatch.setattr(JuminSource, "row_rules_version", "next")
    _, unchanged = load(db_url, jumin_file(tmp_path, "20261101", "full", [p.jumin_row() for p in ps]))
    assert unchanged == 0
    # a new fingerprint alone is no change of the person (the marts do not rebuild them)
    assert q(db_url, "select addressee_id, updated_at, last_load_id from core.person order by 1") == stamps
    # and with the new rules' fingerprints stored, the next snapshot skips them again
    _, unchanged = load(db_url, jumin_file(tmp_path, "20261201", "full", [p.jumin_row() for p in ps]))
    assert unchanged == 30


def test_the_same_line_in_another_encoding_is_parsed(db_url, tmp_path):
    ps = people(30)
    load(db_url, jumin_file(tmp_path, "20261001", "full", [p.jumin_row() for p in ps]))
    _, unchanged = load(db_url, jumin_file(tmp_path, "20261101", "full", [p.jumin_row() for p in ps],
                                           encoding="utf-8", bom=True))
    assert unchanged == 0


def test_a_parsed_line_with_the_number_of_an_unchanged_person_rejects_the_file(new_database, tmp_path):
    """Parsing every line, the gate's uniqueness of the number rejects this file;
    with the holder's line unchanged (landed without its number) it must still."""
    fast, full = new_database(), new_database()
    ps = people(30)
    october = jumin_file(tmp_path, "20261001", "full", [p.jumin_row() for p in ps])
    newcomer = people(1, start=100)[0].but(my_number=ps[3].my_number)
    november = jumin_file(tmp_path, "20261101", "full", [p.jumin_row() for p in ps] + [newcomer.jumin_row()])
    for url in (fast, full):
        load(url, october)
    with psycopg.connect(full) as conn:
        conn.execute("update core.person set snapshot_fingerprint = null")
    outcomes = [ingest_file(november, url=url) for url in (fast, full)]
    assert [r.status for r in outcomes] == ["rejected", "rejected"]
    assert "individual number given to more than one addressee in this file" in outcomes[0].reason
    assert "expect_column_values_to_be_unique on my_number_hmac" in outcomes[1].reason
    assert q(fast, "select count(*) from core.person") == [(30,)]


def test_an_unchanged_line_of_a_person_gone_from_the_ledger_rejects_the_file(db_url, tmp_path, monkeypatch):
    """A purge between reading the fingerprints and promoting must not make a
    narrow row a new person."""
    ps = people(30)
    load(db_url, jumin_file(tmp_path, "20261001", "full", [p.jumin_row() for p in ps]))
    read_before = {bytes(f) for (f,) in q(db_url, "select snapshot_fingerprint from core.person")}
    with psycopg.connect(db_url) as conn:
        for table in ("core.person_event", "core.person_version", "core.person"):
            conn.execute(f"delete from {table} where addressee_id = %s", (ps[5].addressee_id,))
    monkeypatch.setattr(JuminSource, "known_fingerprints", lambda self, conn, meta: read_before)
    result = ingest_file(jumin_file(tmp_path, "20261101", "full", [p.jumin_row() for p in ps]), url=db_url)
    assert result.status == "rejected"
    assert "landed as unchanged for persons no longer in the ledger" in result.reason
    assert q(db_url, "select count(*) from core.person") == [(29,)]
