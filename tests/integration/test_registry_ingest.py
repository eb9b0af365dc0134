"""Registry ingestion on a real PostgreSQL: bad input, duplicates, the gate,
reconciliation and the person ledger's history."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import psycopg
import pytest

from builders import jumin_file, my_number, people
from kenshin.ingest import gate
from kenshin.ingest import normalize as nz
from kenshin.ingest.loading import ingest_file
from kenshin.platform.envelope import write_records

pytestmark = pytest.mark.integration


def q(url: str, sql: str, *args):
    with psycopg.connect(url) as conn:
        return conn.execute(sql, args).fetchall()


def one(url: str, sql: str, *args):
    return q(url, sql, *args)[0][0]


def assert_reconciled(url: str, result, table: str = "landing.jumin") -> None:
    """rows in file = loaded + quarantined + review, on the result, the manifest and landing."""
    assert result.rows == result.loaded + result.quarantined + result.review
    if result.status == "loaded":
        m = q(url, "select rows_in_file, rows_loaded, rows_quarantined, rows_review from ops.load_manifest "
                   "where load_id = %s", result.load_id)[0]
        assert m == (result.rows, result.loaded, result.quarantined, result.review)
        assert one(url, f"select count(*) from {table} where load_id = %s", result.load_id) == result.rows
        assert one(url, "select count(*) from ops.quarantine where load_id = %s", result.load_id) == result.quarantined


def load(url, path):
    result = ingest_file(path, url=url)
    assert_reconciled(url, result)
    return result


def quarantine_reasons(url, load_id):
    return dict(q(url, "select line_no, field || ': ' || reason from ops.quarantine where load_id = %s", load_id))


# --- whole-file rejections ----------------------------------------------------

def test_full_snapshot_loads_everyone(db_url, tmp_path):
    ps = people(20)
    result = load(db_url, jumin_file(tmp_path, "20261001", "full", [p.jumin_row() for p in ps]))
    assert (result.status, result.rows, result.loaded, result.quarantined) == ("loaded", 20, 20, 0)
    assert one(db_url, "select count(*) from core.person_current") == 20
    assert one(db_url, "select count(*) from core.person_version") == 20


@pytest.mark.parametrize("case", ["truncated", "count_mismatch", "no_trailer", "empty", "other_header"])
def test_broken_files_are_rejected_whole(db_url, tmp_path, case):
    ps = people(5)
    path = jumin_file(tmp_path, "20261001", "full", [p.jumin_row() for p in ps])
    raw = path.read_bytes()
    expected = {
        "truncated": "no trailer (T): truncated transfer",
        "count_mismatch": "trailer count 6 differs from 5 data records",
        "no_trailer": "no trailer (T): truncated transfer",
        "empty": "empty file",
        "other_header": "header names another source (expected JUMIN)",
    }[case]
    if case == "truncated":
        path.write_bytes(raw[: len(raw) // 2])  # cut mid-record, as a broken transfer does
    elif case == "count_mismatch":
        path.write_bytes(raw.replace(b"T,5", b"T,6"))
    elif case == "no_trailer":
        path.write_bytes(raw[: raw.rindex(b"T,5")])
    elif case == "empty":
        path.write_bytes(b"")
    elif case == "other_header":
        path.write_bytes(raw.replace(b"H,JUMIN", b"H,SEIHO", 1))
    result = ingest_file(path, url=db_url)
    assert result.status == "rejected"
    assert expected in result.reason
    assert result.reason.startswith(path.name)  # names the file (and line / field where known)
    assert one(db_url, "select count(*) from core.person") == 0
    assert one(db_url, "select count(*) from landing.jumin") == 0
    assert one(db_url, "select status from ops.load_manifest where load_id = %s", result.load_id) == "rejected"


def test_trailer_count_message_names_line_and_field(db_url, tmp_path):
    path = jumin_file(tmp_path, "20261001", "full", [p.jumin_row() for p in people(3)])
    path.write_bytes(path.read_bytes().replace(b"T,3", b"T,4"))
    result = ingest_file(path, url=db_url)
    assert result.reason == f"{path.name}:5 field record_count: trailer count 4 differs from 3 data records"


# --- row rules ----------------------------------------------------------------

def test_bad_values_are_quarantined_with_field_and_line(db_url, tmp_path):
    ps = people(6)
    rows = [
        ps[0].jumin_row(birth_date="4310501"),            # 平成31年5月1日 does not exist (令和元年)
        ps[1].jumin_row(birth_date="5060230"),            # 令和6年2月30日
        ps[2].jumin_row(my_number=my_number(7)[:-1] + str((int(my_number(7)[-1]) + 1) % 10)),
        ps[3].jumin_row(ward_code="141399"),
        ps[4].jumin_row(sex="3"),
        ps[5].jumin_row(),
    ]
    result = load(db_url, jumin_file(tmp_path, "20261001", "full", rows))
    assert (result.loaded, result.quarantined) == (1, 5)
    reasons = quarantine_reasons(db_url, result.load_id)
    assert reasons == {
        2: "birth_date: date after the end of its era",
        3: "birth_date: not an existing date",
        4: "my_number: check digit or format invalid",
        5: "ward_code: not a ward of this city",
        6: "sex: not one of the allowed codes",
    }
    # the messages name field and line, never the value
    for text in reasons.values():
        assert "4310501" not in text and "5060230" not in text and "141399" not in text


def test_half_width_kana_and_full_width_digits_are_accepted(db_url, tmp_path):
    p = people(1)[0]
    row = p.jumin_row(name_kana="ｶﾜｻｷ ﾊﾅｺ", postal_code="２１１－００６３", ward_code="１４１３３０",
                      birth_date="３４５０３１２")
    result = load(db_url, jumin_file(tmp_path, "20261001", "full", [row]))
    assert (result.loaded, result.quarantined) == (1, 0)
    kana, postal, ward, birth = q(db_url, "select name_kana, postal_code, ward_code, birth_date "
                                          "from core.person_current")[0]
    assert (kana, postal, ward, birth) == ("カワサキ\u3000ハナコ", "211-0063", "141330", dt.date(1970, 3, 12))


def test_nec_special_characters_and_wave_dash_survive_cp932(db_url, tmp_path):
    p = people(1)[0].but(address="神奈川県川崎市中原区小杉町①丁目〜Ⅰ棟")
    path = jumin_file(tmp_path, "20261001", "full", [p.jumin_row()])
    assert "①".encode("cp932") in path.read_bytes()
    assert b"\x81\x60" in path.read_bytes()  # the wave dash's CP932 code
    result = load(db_url, path)
    assert result.loaded == 1
    # cp932 (not shift_jis) decodes 0x8160 to U+FF5E; kept as received, folded for matching
    address, key = q(db_url, "select address, address_key from core.person_current")[0]
    assert address == "神奈川県川崎市中原区小杉町①丁目\uff5eⅠ棟"
    assert key == nz.address_key("神奈川県川崎市中原区小杉町①丁目〜Ⅰ棟")


def test_utf8_with_bom_is_read_as_utf8(db_url, tmp_path):
    p = people(1)[0].but(name_kanji="髙橋\u3000﨑子")  # not in CP932's common set: proves UTF-8 decoding
    result = load(db_url, jumin_file(tmp_path, "20261001", "full", [p.jumin_row()], encoding="utf-8", bom=True))
    assert result.loaded == 1
    assert one(db_url, "select encoding from ops.load_manifest where load_id = %s", result.load_id) == "utf-8"
    assert one(db_url, "select name_kanji_key from core.person_current") == "高橋崎子"


def test_undecodable_line_is_quarantined_not_fatal(db_url, tmp_path):
    ps = people(2)
    path = jumin_file(tmp_path, "20261001", "full", [p.jumin_row() for p in ps])
    raw = path.read_bytes().split(b"\r\n")
    raw[2] += b"\x81\xff"  # a lead byte followed by a byte CP932 has no character for
    path.write_bytes(b"\r\n".join(raw))
    result = load(db_url, path)
    assert (result.loaded, result.quarantined) == (1, 1)
    assert quarantine_reasons(db_url, result.load_id) == {3: "record: not valid cp932 text"}


# --- duplicates -----------------------------------------------------------------

def test_same_file_twice_and_same_bytes_under_another_name_are_duplicates(db_url, tmp_path):
    path = jumin_file(tmp_path, "20261001", "full", [p.jumin_row() for p in people(3)])
    first = load(db_url, path)
    again = ingest_file(path, url=db_url)
    renamed = tmp_path / "jumin_20261002_full.csv"
    renamed.write_bytes(path.read_bytes())
    other_name = ingest_file(renamed, url=db_url)
    assert first.status == "loaded"
    assert (again.status, again.loaded) == ("duplicate", 0)
    assert (other_name.status, other_name.loaded) == ("duplicate", 0)
    assert f"load {first.load_id}" in other_name.reason
    assert one(db_url, "select count(*) from landing.jumin") == 3
    assert one(db_url, "select count(*) from core.person_version") == 3


# --- the gate --------------------------------------------------------------------

def test_gate_stops_a_snapshot_listing_a_person_twice(db_url, tmp_path):
    ps = people(4)
    rows = [p.jumin_row() for p in ps] + [ps[0].jumin_row()]
    result = ingest_file(jumin_file(tmp_path, "20261001", "full", rows), url=db_url)
    assert result.status == "rejected"
    assert "expect_column_values_to_be_unique on addressee_id" in result.reason
    assert one(db_url, "select count(*) from core.person") == 0
    failed = q(db_url, "select expectation, column_name from ops.gate_result where load_id = %s and not success",
               result.load_id)
    assert ("expect_column_values_to_be_unique", "addressee_id") in failed


def test_gate_stops_a_snapshot_far_smaller_than_the_ledger(db_url, tmp_path):
    ps = people(50)
    assert load(db_url, jumin_file(tmp_path, "20261001", "full", [p.jumin_row() for p in ps])).status == "loaded"
    partial = ingest_file(jumin_file(tmp_path, "20261101", "full", [p.jumin_row() for p in ps[:10]]), url=db_url)
    assert partial.status == "rejected"
    assert "expect_table_row_count_to_be_between" in partial.reason
    assert one(db_url, "select count(*) from ops.registry_check") == 0  # nobody flagged missing


def test_a_broken_expectation_stops_the_file(db_url, tmp_path, monkeypatch):
    """Tighten one expectation of the real suite so clean data fails it: at most
    two rows (the real suite asks for a minimum only)."""
    suite_dir = tmp_path / "expectations"
    suite_dir.mkdir()
    for name in ("landing_jumin_full", "landing_jumin_diff"):
        spec = gate.load_suite(name)
        spec["expectations"] = [e for e in spec["expectations"]
                                if e["type"] != "expect_table_row_count_to_be_between"]
        spec["expectations"].append({"type": "expect_table_row_count_to_be_between",
                                     "kwargs": {"min_value": 0, "max_value": 2}})
        (suite_dir / f"{name}.json").write_text(json.dumps(spec), encoding="utf-8")
    monkeypatch.setattr(gate, "EXPECTATIONS_DIR", suite_dir)
    result = ingest_file(jumin_file(tmp_path, "20261001", "full", [p.jumin_row() for p in people(3)]), url=db_url)
    assert result.status == "rejected"
    assert result.reason == "gate failed: expect_table_row_count_to_be_between"
    assert one(db_url, "select count(*) from core.person") == 0
    assert one(db_url, "select count(*) from ops.quarantine") == 0


# --- history --------------------------------------------------------------------

def test_diffs_build_history_and_events(db_url, tmp_path):
    ps = people(3)
    load(db_url, jumin_file(tmp_path, "20261001", "full", [p.jumin_row() for p in ps]))
    moved = ps[0].but(address="神奈川県川崎市高津区溝口1丁目2番3号", postal_code="213-0001", ward_code="141348")
    married = ps[1].but(name_kanji="鈴木\u3000陽菜", name_kana="スズキ\u3000ヒナ")
    newcomer = people(1, start=100)[0].but(previous_municipality_code="131016",
                                           previous_address="東京都千代田区千代田1番1号", resident_since="20261002")
    diff = [
        moved.jumin_row("05", "20261002"),
        married.jumin_row("06", "20261002"),
        newcomer.jumin_row("02", "20261002"),
        ps[2].but(status="3").jumin_row("04", "20261002"),
    ]
    result = load(db_url, jumin_file(tmp_path, "20261002", "diff", diff))
    assert result.loaded == 4
    hist = q(db_url, "select ward_code, valid_from, valid_to from core.person_version "
                     "where addressee_id = %s order by valid_from", ps[0].addressee_id)
    assert hist == [("141330", dt.date(2026, 10, 1), dt.date(2026, 10, 2)), ("141348", dt.date(2026, 10, 2), None)]
    assert one(db_url, "select name_kanji from core.person_current where addressee_id = %s",
               ps[1].addressee_id) == "鈴木\u3000陽菜"
    assert one(db_url, "select status from core.person_current where addressee_id = %s", ps[2].addressee_id) == 3
    assert q(db_url, "select event_code, event_date, previous_municipality_code from core.person_event "
                     "where addressee_id = %s", newcomer.addressee_id) == [("02", dt.date(2026, 10, 2), "131016")]
    assert one(db_url, "select count(*) from core.person_event") == 4


def test_two_events_of_one_person_in_one_diff_apply_in_order(db_url, tmp_path):
    p = people(1)[0]
    load(db_url, jumin_file(tmp_path, "20261001", "full", [p.jumin_row()]))
    step1 = p.but(address="神奈川県川崎市中原区新丸子町1番地")
    step2 = step1.but(name_kanji="田中\u3000花子", name_kana="タナカ\u3000ハナコ")
    load(db_url, jumin_file(tmp_path, "20261003", "diff",
                            [step2.jumin_row("06", "20261003"), step1.jumin_row("05", "20261002")]))
    versions = q(db_url, "select address, name_kanji, valid_from, valid_to from core.person_version "
                         "order by valid_from, version_id")
    assert [v[2:] for v in versions] == [
        (dt.date(2026, 10, 1), dt.date(2026, 10, 2)),
        (dt.date(2026, 10, 2), dt.date(2026, 10, 3)),
        (dt.date(2026, 10, 3), None),
    ]
    assert versions[-1][1] == "田中\u3000花子"


def test_snapshot_reconciles_changes_and_flags_the_missing(db_url, tmp_path):
    ps = people(40)
    load(db_url, jumin_file(tmp_path, "20261001", "full", [p.jumin_row() for p in ps]))
    changed = [ps[0].but(address="神奈川県川崎市幸区堀川町580番地", ward_code="141321")]
    rows = [p.jumin_row() for p in changed + ps[1:39]]  # ps[39] is not listed
    result = load(db_url, jumin_file(tmp_path, "20261101", "full", rows))
    assert result.counts == {"persons_new": 0, "persons_changed": 1, "persons_missing": 1}
    assert one(db_url, "select count(*) from core.person_version") == 41
    assert q(db_url, "select addressee_id, reason from ops.registry_check") == [
        (ps[39].addressee_id, "resident not listed in the full snapshot")]
    # never deleted: still in the ledger, flagged
    assert one(db_url, "select missing_since from core.person where addressee_id = %s",
               ps[39].addressee_id) == dt.date(2026, 11, 1)
    # an unchanged snapshot changes nothing
    rows_again = [p.jumin_row() for p in changed + ps[1:39]]
    write_records(tmp_path / "jumin_20261201_full.csv", ["H", "JUMIN", "full", "20261201", "141305"], rows_again)
    again = load(db_url, tmp_path / "jumin_20261201_full.csv")
    assert again.counts == {"persons_new": 0, "persons_changed": 0, "persons_missing": 0}


def test_individual_number_held_by_another_person_is_quarantined(db_url, tmp_path):
    a, b = people(2)
    load(db_url, jumin_file(tmp_path, "20261001", "full", [a.jumin_row()]))
    result = load(db_url, jumin_file(tmp_path, "20261002", "diff", [b.but(my_number=a.my_number)
                                                                       .jumin_row("02", "20261002")]))
    assert quarantine_reasons(db_url, result.load_id) == {
        2: "my_number: individual number already held by another addressee"}


# --- welfare and NHI ----------------------------------------------------------------

def test_welfare_and_nhi_periods(db_url, tmp_path):
    ps = people(3)
    load(db_url, jumin_file(tmp_path, "20261001", "full", [p.jumin_row() for p in ps]))
    seiho = tmp_path / "seiho_202610.csv"
    write_records(seiho, ["H", "SEIHO", "202610", "20261001"], [
        ["D", ps[0].addressee_id, "12345678", "1", "20200401", ""],
        ["D", "9999999999", "12345679", "1", "20200401", ""],      # not in the ledger
        ["D", ps[1].addressee_id, "12345670", "3", "20200401", ""],  # unknown benefit type
    ])
    r = ingest_file(seiho, url=db_url)
    assert_reconciled(db_url, r, "landing.seiho")
    assert (r.status, r.loaded, r.quarantined) == ("loaded", 1, 2)
    assert quarantine_reasons(db_url, r.load_id) == {
        3: "addressee_id: not in the person ledger", 4: "benefit_type: not one of the allowed codes"}
    kokuho = tmp_path / "kokuho_202610.csv"
    write_records(kokuho, ["H", "KOKUHO", "202610", "20261001"], [
        ["D", ps[2].addressee_id, "川崎12-3456", "20240401", ""],
    ])
    r = ingest_file(kokuho, url=db_url)
    assert_reconciled(db_url, r, "landing.kokuho")
    assert (r.status, r.loaded) == ("loaded", 1)
    assert q(db_url, "select addressee_id, qualified_from from core.nhi_period") == [
        (ps[2].addressee_id, dt.date(2024, 4, 1))]
    # the insured number is kept only as a keyed hash
    assert one(db_url, "select count(*) from core.nhi_period where insured_number_hmac is not null") == 1


# --- order, control characters, shared numbers ------------------------------------------

def test_a_registry_file_older_than_the_ledger_is_refused(db_url, tmp_path):
    ps = people(3)
    load(db_url, jumin_file(tmp_path, "20261001", "full", [p.jumin_row() for p in ps]))
    load(db_url, jumin_file(tmp_path, "20261003", "diff", [ps[0].but(status="3").jumin_row("04", "20261003")]))
    late = ingest_file(jumin_file(tmp_path, "20261002", "diff", [ps[1].but(status="2").jumin_row("03", "20261002")]),
                       url=db_url)
    assert late.status == "rejected"
    assert late.reason == ("jumin_20261002_diff.csv:1 field extract_date: extract date is older than the loaded "
                           "registry file of 2026-10-03; registry files load in date order")
    assert one(db_url, "select status from core.person_current where addressee_id = %s", ps[1].addressee_id) == 1


def test_carriage_return_and_nul_inside_fields(db_url, tmp_path):
    ps = people(3)
    path = jumin_file(tmp_path, "20261001", "full", [
        ps[0].jumin_row(relationship='"世帯\r主"'), ps[1].jumin_row(relationship="子\x00"), ps[2].jumin_row()])
    raw = path.read_bytes().replace(b'"""', b'"')
    path.write_bytes(raw)
    result = load(db_url, path)
    assert (result.loaded, result.quarantined) == (2, 1)
    assert quarantine_reasons(db_url, result.load_id) == {3: "record: contains a NUL character"}
    assert one(db_url, "select relationship from core.person_current where addressee_id = %s",
               ps[0].addressee_id) == "世帯\r主"


def test_one_number_for_two_people_in_one_diff_quarantines_both(db_url, tmp_path):
    """(In a full snapshot the gate's uniqueness expectation rejects the file.)"""
    a, b, c = people(3)
    load(db_url, jumin_file(tmp_path, "20261001", "full", [c.jumin_row()]))
    result = load(db_url, jumin_file(tmp_path, "20261002", "diff", [
        a.jumin_row("02", "20261002"), b.but(my_number=a.my_number).jumin_row("02", "20261002")]))
    assert quarantine_reasons(db_url, result.load_id) == {
        2: "my_number: individual number given to more than one addressee in this file",
        3: "my_number: individual number given to more than one addressee in this file"}


def test_an_empty_number_in_a_snapshot_keeps_the_stored_one(db_url, tmp_path):
    p = people(1)[0]
    load(db_url, jumin_file(tmp_path, "20261001", "full", [p.jumin_row()]))
    load(db_url, jumin_file(tmp_path, "20261101", "full", [p.jumin_row(my_number="")]))
    assert one(db_url, "select count(*) from core.person where my_number_hmac is not null") == 1


def test_ciphertext_is_bound_to_its_person(db_url, tmp_path):
    from cryptography.exceptions import InvalidTag

    from kenshin.platform.crypto import protector

    a, b = people(2)
    load(db_url, jumin_file(tmp_path, "20261001", "full", [a.jumin_row(), b.jumin_row()]))
    blob = bytes(one(db_url, "select my_number_enc from core.person where addressee_id = %s", a.addressee_id))
    assert protector().decrypt(blob, a.addressee_id) == a.my_number
    with pytest.raises(InvalidTag):  # moved to another person's row, it no longer decrypts
        protector().decrypt(blob, b.addressee_id)


def test_mapped_tasks_in_any_order_still_load_files_in_date_order(db_url, tmp_path):
    from kenshin.ingest.inbox import ingest_in_order

    p = people(1)[0]
    files = [
        str(jumin_file(tmp_path, "20261001", "full", [p.jumin_row()])),
        str(jumin_file(tmp_path, "20261002", "diff", [p.but(ward_code="141321").jumin_row("05", "20261002")])),
        str(jumin_file(tmp_path, "20261003", "diff", [p.but(ward_code="141372").jumin_row("05", "20261003")])),
    ]
    last = ingest_in_order(files, files[2], url=db_url)  # the last file's task happens to run first
    assert (last.file, last.status) == ("jumin_20261003_diff.csv", "loaded")
    first = ingest_in_order(files, files[0], url=db_url)  # already loaded by its successor: not loaded again
    assert (first.file, first.status, first.loaded) == ("jumin_20261001_full.csv", "loaded", 1)
    assert q(db_url, "select file_name from ops.load_manifest order by load_id") == [
        (Path(f).name,) for f in files]
    assert one(db_url, "select ward_code from core.person_current") == "141372"


def test_a_period_missing_from_the_next_monthly_list_is_closed(db_url, tmp_path):
    ps = people(2)
    load(db_url, jumin_file(tmp_path, "20261001", "full", [p.jumin_row() for p in ps]))
    for month, rows in (("202610", [ps[0], ps[1]]), ("202611", [ps[1]])):
        path = tmp_path / f"seiho_{month}.csv"
        write_records(path, ["H", "SEIHO", month, month + "01"],
                      [["D", p.addressee_id, f"1234567{ps.index(p)}", "1", "20200401", ""] for p in rows])
        result = ingest_file(path, url=db_url)
        assert_reconciled(db_url, result, "landing.seiho")
    assert q(db_url, "select addressee_id, end_date from core.welfare_period order by 1") == [
        (ps[0].addressee_id, dt.date(2026, 10, 31)), (ps[1].addressee_id, None)]


# --- found in review: inputs that once crashed or leaked ------------------------------

def test_full_width_backslash_and_an_oversized_field(db_url, tmp_path):
    ps = people(3)
    path = jumin_file(tmp_path, "20261001", "full", [
        ps[0].jumin_row(address="神奈川県川崎市中原区小杉町1番＼"), ps[1].jumin_row(), ps[2].jumin_row()])
    raw = path.read_bytes().split(b"\r\n")
    raw[2] = b'D,"' + b"x" * 140_000 + b'"'  # a quoted field longer than the csv module's limit
    path.write_bytes(b"\r\n".join(raw))
    result = load(db_url, path)
    assert (result.loaded, result.quarantined) == (2, 1)
    assert quarantine_reasons(db_url, result.load_id) == {3: "record: not a valid CSV record"}
    assert one(db_url, "select address_key from core.person_current where addressee_id = %s",
               ps[0].addressee_id).endswith("\\")


def test_a_short_row_never_puts_the_number_in_another_column(db_url, tmp_path):
    p = people(1)[0]
    row = p.jumin_row()
    del row[1]  # addressee id missing: every later field shifts left
    result = load(db_url, jumin_file(tmp_path, "20261001", "full", [row, people(1, start=2)[0].jumin_row()]))
    assert quarantine_reasons(db_url, result.load_id) == {2: "record: expected 20 fields, found 19"}
    landing = q(db_url, "select t::text from landing.jumin t")
    assert not any(p.my_number in text for (text,) in landing)


def test_circled_digit_is_a_bad_code_not_a_crash(db_url, tmp_path):
    ps = people(2)
    result = load(db_url, jumin_file(tmp_path, "20261001", "full", [ps[0].jumin_row(sex="①"), ps[1].jumin_row()]))
    assert quarantine_reasons(db_url, result.load_id) == {2: "sex: not one of the allowed codes"}


def test_a_quarantined_person_is_neither_flagged_missing_nor_closed(db_url, tmp_path):
    ps = people(30)
    load(db_url, jumin_file(tmp_path, "20261001", "full", [p.jumin_row() for p in ps]))
    rows = [ps[0].jumin_row(postal_code="21-10063")] + [p.jumin_row() for p in ps[1:]]
    result = load(db_url, jumin_file(tmp_path, "20261101", "full", rows))
    assert result.quarantined == 1 and result.counts["persons_missing"] == 0
    for month, start in (("202610", "20200401"), ("202611", "2025013X")):
        path = tmp_path / f"seiho_{month}.csv"
        write_records(path, ["H", "SEIHO", month, month + "01"], [["D", ps[0].addressee_id, "12345678", "1", start, ""]])
        assert_reconciled(db_url, ingest_file(path, url=db_url), "landing.seiho")
    assert one(db_url, "select end_date from core.welfare_period") is None


def test_monthly_lists_load_in_month_order_and_names_match_headers(db_url, tmp_path):
    p = people(1)[0]
    load(db_url, jumin_file(tmp_path, "20261001", "full", [p.jumin_row()]))
    for month in ("202611", "202610"):
        write_records(tmp_path / f"kokuho_{month}.csv", ["H", "KOKUHO", month, month + "01"],
                      [["D", p.addressee_id, "K1", "20240401", ""]])
    assert ingest_file(tmp_path / "kokuho_202611.csv", url=db_url).status == "loaded"
    late = ingest_file(tmp_path / "kokuho_202610.csv", url=db_url)
    assert late.reason == ("kokuho_202610.csv:1 field period: period is older than the loaded list of 202611; "
                           "monthly lists load in month order")
    wrong = jumin_file(tmp_path, "20261003", "diff", [], header=["H", "JUMIN", "diff", "20301231", "141305"])
    assert ingest_file(wrong, url=db_url).reason == (
        "jumin_20261003_diff.csv:1 field extract_date: header extract date differs from the file name")


def test_same_bytes_under_two_names_in_one_run_load_once(db_url, tmp_path):
    from kenshin.ingest.inbox import ingest_in_order

    p = people(1)[0]
    first = jumin_file(tmp_path, "20261001", "full", [p.jumin_row()])
    copy = tmp_path / "jumin_20261002_full.csv"
    copy.write_bytes(first.read_bytes())
    files = [str(first), str(copy)]
    assert ingest_in_order(files, files[1], url=db_url).status == "duplicate"
    assert ingest_in_order(files, files[0], url=db_url).status == "loaded"
    assert one(db_url, "select count(*) from ops.load_manifest where status = 'loaded'") == 1


def test_two_corrections_of_one_person_on_one_day_are_two_events(db_url, tmp_path):
    p = people(1)[0]
    load(db_url, jumin_file(tmp_path, "20261001", "full", [p.jumin_row()]))
    result = load(db_url, jumin_file(tmp_path, "20261002", "diff", [
        p.but(name_kana="カワサキ\u3000ハナ").jumin_row("07", "20261002"),
        p.but(name_kana="カワサキ\u3000ハナコ").jumin_row("07", "20261002")]))
    assert result.loaded == 2
    assert one(db_url, "select count(*) from core.person_event where event_code = '07'") == 2
    assert one(db_url, "select name_kana from core.person_current") == "カワサキ\u3000ハナコ"


def test_a_snapshot_sent_as_a_diff_is_stopped_by_the_gate(db_url, tmp_path):
    ps = people(1001)
    result = ingest_file(jumin_file(tmp_path, "20261002", "diff",
                                    [p.jumin_row("02", "20261002") for p in ps]), url=db_url)
    assert result.reason == "gate failed: expect_table_row_count_to_be_between"
    assert one(db_url, "select count(*) from core.person") == 0


def test_a_file_named_with_an_impossible_date_is_due_and_rejected(db_url, inbox):
    from kenshin.ingest.inbox import due_files

    bad = jumin_file(inbox, "20261399", "diff", [], header=["H", "JUMIN", "diff", "20261399", "141305"])
    assert due_files(("jumin",), None, url=db_url) == [str(bad)]
    result = ingest_file(bad, url=db_url)
    assert result.reason == "jumin_20261399_diff.csv:1 field extract_date: header date is not a valid date"
    assert due_files(("jumin",), None, url=db_url) == []  # recorded in ops, not offered again
