"""Row rules never raise (issue 21, build item 6): a bad value quarantines its
row alone, with the file line and the field and never the value, whatever the
value is (a circled digit, another script's digit, a line number past the
database's integer, a runaway field, a quoted line break), and the rest of the
file loads as a file of the intended records alone would.

Each case loads a real CP932 file with the planted values into one database and
a file of only the intended records into another, and compares core; the
reasons in ops and every log line are searched for the synthetic people's
names, birth dates and ids and for the planted values."""

from __future__ import annotations

import logging

import psycopg
import pytest

import builders
from builders import clinic_file, jumin_file, kenshin_row, people
from kenshin.ingest.loading import ingest_file

pytestmark = pytest.mark.integration

EXAM = "20261015"


def quarantined(url: str, load_id: int) -> dict[int, str]:
    with psycopg.connect(url) as conn:
        return {line: f"{field}: {reason}" for line, field, reason in conn.execute(
            "select line_no, field, reason from ops.quarantine where load_id = %s", (load_id,))}


def assert_accounted(url: str, result) -> None:
    """Rows in file = loaded + quarantined + review, on the result and the manifest."""
    assert result.status == "loaded", result.reason
    assert result.rows == result.loaded + result.quarantined + result.review
    with psycopg.connect(url) as conn:
        assert conn.execute(
            "select rows_in_file, rows_loaded, rows_quarantined, rows_review from ops.load_manifest "
            "where load_id = %s", (result.load_id,)).fetchone() == (
                result.rows, result.loaded, result.quarantined, result.review)


def test_registry_values_that_crashed_or_refused_the_file_quarantine_their_row(new_database, tmp_path, caplog):
    caplog.set_level(logging.INFO)
    ps = people(8)
    hostile_url, clean_url = new_database(), new_database()
    broken_birth = ps[0].jumin_row()[7][:4] + "③" + ps[0].jumin_row()[7][5:]
    rows = [
        ps[0].jumin_row(birth_date=broken_birth),                    # line 2: a circled digit (ValueError before)
        ps[1].jumin_row(addressee_id=ps[1].addressee_id[:9] + "①"),  # line 3: isdigit() passed it, core refused the file
        ps[2].jumin_row(address="川" * 12_000),                       # line 4: "index row requires ... bytes"
        ps[3].jumin_row(name_kanji="佐藤\r\n花子"),                    # lines 5-6: RFC 4180, kept as received
        ps[4].jumin_row(household_id="10000\r\n005"),                # lines 7-8: no household id has a line break
        ps[5].jumin_row(my_number=ps[5].my_number[:11] + "⑤"),       # line 9: ⑤ is a digit to isdigit()
        ps[6].jumin_row(),                                           # line 10
        ps[7].jumin_row(),                                           # line 11
    ]
    (tmp_path / "hostile").mkdir()
    hostile = ingest_file(jumin_file(tmp_path / "hostile", "20261001", "full", rows), url=hostile_url)
    assert_accounted(hostile_url, hostile)
    assert (hostile.rows, hostile.loaded, hostile.quarantined) == (8, 3, 5)
    assert quarantined(hostile_url, hostile.load_id) == {
        2: "birth_date: expected YYYYMMDD or GYYMMDD",
        3: "addressee_id: expected 10 digits",
        4: "address: longer than 200 characters",
        7: "household_id: expected 10 digits",
        9: "my_number: check digit or format invalid",
    }

    (tmp_path / "clean").mkdir()
    clean = ingest_file(jumin_file(tmp_path / "clean", "20261001", "full", [rows[3], rows[6], rows[7]]),
                        url=clean_url)
    assert (clean.status, clean.loaded) == ("loaded", 3)
    assert builders.core_state(hostile_url) == builders.core_state(clean_url)
    with psycopg.connect(hostile_url) as conn:
        kanji, key = conn.execute("select name_kanji, name_kanji_key from core.person_version "
                                  "where addressee_id = %s", (ps[3].addressee_id,)).fetchone()
    assert kanji == "佐藤\r\n花子" and key == "佐藤花子"  # as received; matched as if a space

    builders.assert_nothing_said(hostile_url, caplog.records, ps, broken_birth, "①", "⑤", "川" * 20)


def test_clinic_values_that_crashed_or_refused_the_file_quarantine_their_row(new_database, tmp_path, caplog):
    caplog.set_level(logging.INFO)
    ps = people(60)
    adults = [p for p in ps if 1945 <= p.birth.year <= 1980][:8]
    hostile_url, clean_url = new_database(), new_database()
    for url, folder in ((hostile_url, tmp_path / "h"), (clean_url, tmp_path / "c")):
        folder.mkdir()
        assert ingest_file(jumin_file(folder, "20261001", "full", [p.jumin_row() for p in ps]),
                           url=url).status == "loaded"
    a = adults
    birth = a[1].birth.strftime("%Y%m%d")
    rows = [
        kenshin_row(a[0], EXAM, line_no=1),
        kenshin_row(a[1], EXAM, line_no=2, birth_date=birth[:7] + "②"),  # ValueError quoting the date before
        kenshin_row(a[2], EXAM, line_no=3, addressee_id="00000000a1"),    # a non-digit: this row, not the file
        kenshin_row(a[3], EXAM, line_no=4, name_kanji="山" * 5_000),      # a runaway name
        kenshin_row(a[4], EXAM, line_no=5, result_detail="PSA 1.2\r\n再検査不要"),  # RFC 4180: kept as received
        kenshin_row(a[5], EXAM, line_no=6),
        kenshin_row(a[6], EXAM, line_no=7),
    ]
    rows[0][1] = "①"            # a circled digit in the line number (int() raised ValueError before)
    rows[6][1] = "9999999999"   # past PostgreSQL's integer: COPY refused the whole file before
    hostile = ingest_file(clinic_file(tmp_path / "h", "kenshin", "202610", rows), url=hostile_url)
    assert_accounted(hostile_url, hostile)
    assert (hostile.rows, hostile.loaded, hostile.quarantined, hostile.review) == (7, 2, 5, 0)
    assert quarantined(hostile_url, hostile.load_id) == {
        2: "line_no: expected a number from 1 to 2147483647",
        3: "birth_date: expected YYYYMMDD or GYYMMDD",
        4: "addressee_id: expected 10 digits or empty",
        5: "name_kanji: longer than 100 characters",
        9: "line_no: expected a number from 1 to 2147483647",
    }

    clean = ingest_file(clinic_file(tmp_path / "c", "kenshin", "202610", [rows[4], rows[5]]), url=clean_url)
    assert (clean.status, clean.loaded) == ("loaded", 2)
    assert builders.core_state(hostile_url) == builders.core_state(clean_url)
    with psycopg.connect(hostile_url) as conn:
        assert conn.execute("select result_detail from core.screening where addressee_id = %s",
                            (a[4].addressee_id,)).fetchone()[0] == "PSA 1.2\r\n再検査不要"

    builders.assert_nothing_said(hostile_url, caplog.records, ps, birth[:7] + "②", "①", "9999999999", "00000000a1", "山" * 20)


def test_a_runaway_field_in_every_layout_position_never_reaches_an_index(db_url, tmp_path):
    """Every free-text field of the registry at 10 000 characters: each row is
    quarantined naming its field; the file (and a rerun of it) never fails."""
    ps = people(5)
    long = "長" * 10_000
    rows = [ps[0].jumin_row(name_kanji=long), ps[1].jumin_row(name_kana="ア" * 10_000),
            ps[2].jumin_row(household_head_name=long), ps[3].jumin_row(previous_address=long),
            ps[4].jumin_row(relationship=long)]
    path = jumin_file(tmp_path, "20261001", "full", rows)
    result = ingest_file(path, url=db_url)
    assert_accounted(db_url, result)
    assert quarantined(db_url, result.load_id) == {
        2: "name_kanji: longer than 100 characters", 3: "name_kana: longer than 100 characters",
        4: "household_head_name: longer than 100 characters", 5: "previous_address: longer than 200 characters",
        6: "relationship: longer than 20 characters"}
    assert ingest_file(path, url=db_url).status == "duplicate"
