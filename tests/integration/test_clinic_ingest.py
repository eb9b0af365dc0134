"""Clinic result ingestion on a real PostgreSQL: row rules, matching against the
person ledger with history, the review queue, corrections and reconciliation."""

from __future__ import annotations

import datetime as dt

import psycopg
import pytest

from builders import CLINIC, Person, clinic_file, jumin_file, kenshin_row, people, seiken_row
from kenshin.ingest.loading import ingest_file, record_outcomes

pytestmark = pytest.mark.integration

EXAM = "20261015"


def q(url: str, sql: str, *args):
    with psycopg.connect(url) as conn:
        return conn.execute(sql, args).fetchall()


def one(url: str, sql: str, *args):
    return q(url, sql, *args)[0][0]


def assert_reconciled(url: str, result, table: str) -> None:
    """rows in file = loaded + quarantined + review, on the result, the manifest and the outcome tables
    (a rejected file loads nothing: no core row refers to its load)."""
    if result.status != "loaded":
        assert result.loaded == result.quarantined == result.review == 0
        if result.load_id is not None:
            assert one(url, "select count(*) from core.screening where load_id = %s", result.load_id) == 0
        return
    assert result.rows == result.loaded + result.quarantined + result.review
    m = q(url, "select rows_in_file, rows_loaded, rows_quarantined, rows_review from ops.load_manifest "
               "where load_id = %s", result.load_id)[0]
    assert m == (result.rows, result.loaded, result.quarantined, result.review)
    assert one(url, f"select count(*) from {table} where load_id = %s", result.load_id) == result.rows
    assert one(url, "select count(*) from ops.quarantine where load_id = %s", result.load_id) == result.quarantined
    assert one(url, "select count(*) from ops.review_item where load_id = %s and status = 'open'",
               result.load_id) == result.review
    assert one(url, "select count(*) from ops.record_match where load_id = %s and outcome = 'linked'",
               result.load_id) == result.loaded


def load(url, path):
    result = ingest_file(path, url=url)
    assert_reconciled(url, result, "landing.kenshin" if path.name.startswith("kenshin") else "landing.seiken")
    return result


def outcomes(url, result) -> dict[int, tuple[str, str | None]]:
    """Per clinic line (file line - 1): (outcome, addressee_id)."""
    return {r["line_no"] - 1: (r["outcome"], r["addressee_id"]) for r in record_outcomes(result, url=url)}


def reasons(url, load_id) -> dict[int, str]:
    return {line - 1: f"{field}: {reason}" for line, field, reason in
            q(url, "select line_no, field, reason from ops.quarantine where load_id = %s", load_id)}


ADULTS = [p for p in people(120) if p.birth.year <= 1980 and p.birth.year >= 1945]


@pytest.fixture
def ledger(db_url, tmp_path):
    """A ledger of 120 synthetic people (common names, distinct birth dates) from a full snapshot."""
    result = ingest_file(jumin_file(tmp_path, "20261001", "full", [p.jumin_row() for p in people(120)]),
                         url=db_url)
    assert result.status == "loaded"
    return db_url


def test_clean_records_link_to_their_person(ledger, tmp_path):
    ps = ADULTS[:10]
    path = clinic_file(tmp_path, "kenshin", "202610", [kenshin_row(p, EXAM, line_no=i + 1) for i, p in enumerate(ps)])
    result = load(ledger, path)
    assert (result.status, result.loaded, result.review, result.quarantined) == ("loaded", 10, 0, 0)
    got = outcomes(ledger, result)
    assert got == {i + 1: ("loaded", p.addressee_id) for i, p in enumerate(ps)}
    assert one(ledger, "select count(*) from core.screening where clinic_code = %s", CLINIC) == 10


# --- noise the clinics put in: each still links to the right person -----------

TAKAHASHI = Person("0000009001", name_kanji="高橋\u3000美咲", name_kana="タカハシ\u3000ミサキ", sex="2",
                   birth=dt.date(1968, 5, 9), household_id="2000009001", postal_code="210-0001",
                   address="神奈川県川崎市川崎区本町1丁目8番3号", my_number="")
# Same household, same birth date, same family name: twins with different given names.
TWIN_A = Person("0000009002", name_kanji="山本\u3000翔太", name_kana="ヤマモト\u3000ショウタ", sex="1",
                birth=dt.date(1975, 11, 3), household_id="2000009002", postal_code="213-0001",
                address="神奈川県川崎市高津区溝口2丁目4番1号")
TWIN_B = TWIN_A.but(addressee_id="0000009003", name_kanji="山本\u3000翔平", name_kana="ヤマモト\u3000ショウヘイ",
                    relationship="子")
YOUNG = Person("0000009004", name_kanji="中村　葵", name_kana="ナカムラ　アオイ", sex="2",
              birth=dt.date(1995, 7, 20), household_id="2000009004")
SPECIAL = [TAKAHASHI, TWIN_A, TWIN_B, YOUNG]


@pytest.fixture
def city(db_url, tmp_path):
    """The ledger of `ledger` plus the special people above."""
    rows = [p.jumin_row() for p in people(120) + SPECIAL]
    result = ingest_file(jumin_file(tmp_path, "20261001", "full", rows), url=db_url)
    assert result.status == "loaded"
    return db_url


def hiragana(text: str) -> str:
    return "".join(chr(ord(c) - 0x60) if "ァ" <= c <= "ヶ" else c for c in text)


def half_width(text: str) -> str:
    from kenshin.lab.synth.names import half_width as hw

    return hw(text)


NOISE = {
    "half-width kana": lambda p: {"name_kana": half_width(p.name_kana.replace("\u3000", " "))},
    "hiragana": lambda p: {"name_kana": hiragana(p.name_kana)},
    "no space between names": lambda p: {"name_kana": p.name_kana.replace("\u3000", ""),
                                         "name_kanji": p.name_kanji.replace("\u3000", "")},
    "extra spaces": lambda p: {"name_kana": " " + p.name_kana.replace("\u3000", "\u3000 ") + " ",
                               "name_kanji": p.name_kanji.replace("\u3000", "  ")},
    "variant kanji": lambda p: {"name_kanji": p.name_kanji.replace("高", "髙"),
                                "address": p.address.replace("崎", "﨑")},
    "era birth date": lambda p: {"birth_date": "3430509"},  # 昭和43年5月9日
    "typo in one kana": lambda p: {"name_kana": p.name_kana.replace("ミサキ", "ミサコ")},
    "typo in one birth digit": lambda p: {"birth_date": "19680507"},
    "month and day swapped": lambda p: {"birth_date": "19680905"},
    "address with hyphens": lambda p: {"address": "川崎市川崎区本町1-8-3"},
    "no postal code or address": lambda p: {"postal_code": "", "address": ""},
    "full-width digits": lambda p: {"birth_date": "１９６８０５０９", "postal_code": "２１０－０００１"},
}


@pytest.mark.parametrize("noise", list(NOISE))
def test_each_noise_type_links_the_right_person(city, tmp_path, noise):
    row = kenshin_row(TAKAHASHI, EXAM, exam_type="07", **NOISE[noise](TAKAHASHI))
    result = load(city, clinic_file(tmp_path, "kenshin", "202610", [row]))
    assert outcomes(city, result) == {1: ("loaded", TAKAHASHI.addressee_id)}, noise


def test_addressee_id_is_confirmed_never_trusted(city, tmp_path):
    p = ADULTS[0]
    rows = [
        kenshin_row(p, EXAM, line_no=1, addressee_id=p.addressee_id),
        # the id of someone else: birth date and name disagree -> review, not linked
        kenshin_row(p, EXAM, line_no=2, exam_type="03", addressee_id=ADULTS[1].addressee_id),
    ]
    result = load(city, clinic_file(tmp_path, "kenshin", "202610", rows))
    got = outcomes(city, result)
    assert got[1] == ("loaded", p.addressee_id)
    assert got[2] == ("review", None)
    assert "not confirmed" in one(city, "select reason from ops.review_item where line_no = 3")


def test_voucher_number_links_when_confirmed(city, tmp_path):
    p = ADULTS[2]
    number = "260400000428"     # FY 26, exam type 04, serial 42, Luhn check digit 8
    with psycopg.connect(city) as conn:
        conn.execute("insert into core.voucher (voucher_number, addressee_id, fiscal_year, exam_types, issued_on, "
                     "exam_type) values (%s, %s, 2026, '{04}', '2026-04-01', '04')", (number, p.addressee_id))
    result = load(city, clinic_file(tmp_path, "kenshin", "202610",
                                    [kenshin_row(p, EXAM, voucher_number=number, name_kanji="")]))
    assert outcomes(city, result) == {1: ("loaded", p.addressee_id)}
    assert one(city, "select link_method from core.screening") == "voucher"


def test_twins_never_cross_link(city, tmp_path):
    rows = [
        kenshin_row(TWIN_A, EXAM, line_no=1),
        kenshin_row(TWIN_B, EXAM, line_no=2),
        # twin A's record with a one-kana typo in the given name
        kenshin_row(TWIN_A, EXAM, line_no=3, exam_type="03", name_kana="ヤマモト\u3000ショウダ"),
        # twin B's record with no kanji and no address: the evidence is thin
        kenshin_row(TWIN_B, EXAM, line_no=4, exam_type="03", name_kanji="", address="", postal_code=""),
    ]
    result = load(city, clinic_file(tmp_path, "kenshin", "202610", rows))
    got = outcomes(city, result)
    assert got[1] == ("loaded", TWIN_A.addressee_id)
    assert got[2] == ("loaded", TWIN_B.addressee_id)
    assert got[3][1] in (TWIN_A.addressee_id, None)
    assert got[4][1] in (TWIN_B.addressee_id, None)


def test_non_residents_are_never_linked(city, tmp_path):
    # Names the city has, birth dates it has not; and one with a resident's
    # birth date and name but another sex and address.
    strangers = [Person("9999999901", birth=dt.date(1960, 2, 29)),
                 ADULTS[3].but(addressee_id="9999999902", birth=dt.date(1950, 12, 31)),
                 ADULTS[4].but(addressee_id="9999999903", sex="1" if ADULTS[4].sex == "2" else "2",
                               postal_code="100-0001", address="東京都千代田区千代田1番1号")]
    rows = [kenshin_row(p, EXAM, line_no=i + 1, exam_type="03") for i, p in enumerate(strangers)]
    result = load(city, clinic_file(tmp_path, "kenshin", "202610", rows))
    got = outcomes(city, result)
    assert all(outcome in ("quarantined", "review") and aid is None for outcome, aid in got.values()), got
    assert one(city, "select count(*) from core.screening") == 0


def test_a_person_who_moved_within_the_month_links_against_the_address_of_the_exam_date(city, tmp_path):
    p = TAKAHASHI
    moved = p.but(postal_code="215-0004", ward_code="141372", address="神奈川県川崎市麻生区万福寺4丁目2番1号")
    diff = jumin_file(tmp_path, "20261012", "diff", [moved.jumin_row("05", "20261012")])
    assert ingest_file(diff, url=city).status == "loaded"
    rows = [
        kenshin_row(p, "20261005", line_no=1, exam_type="03"),        # before the move, old address
        kenshin_row(moved, "20261020", line_no=2, exam_type="04"),    # after it, new address
        kenshin_row(p, "20261025", line_no=3, exam_type="07"),        # after it, the clinic kept the old one
    ]
    result = load(city, clinic_file(tmp_path, "kenshin", "202610", rows))
    assert outcomes(city, result) == {i: ("loaded", p.addressee_id) for i in (1, 2, 3)}
    scores = dict(q(city, "select line_no - 1, score from ops.record_match where load_id = %s", result.load_id))
    # the exam-date version agrees on the address; the old address still counts as evidence
    assert scores[1] > scores[3] > 38


# --- row rules: each refused record names its field, and goes back to the clinic --

def test_bad_records_are_quarantined_with_field_and_reason(city, tmp_path):
    man = next(p for p in ADULTS if p.sex == "1")
    rows = [
        kenshin_row(TAKAHASHI, "20261101", line_no=1),                    # outside the month
        kenshin_row(man, EXAM, line_no=2, exam_type="07"),                # breast exam for a man
        kenshin_row(YOUNG, EXAM, line_no=3, exam_type="04"),              # under 40 for colorectal
        kenshin_row(TAKAHASHI, EXAM, line_no=4, exam_type="13"),          # unknown exam type
        kenshin_row(TAKAHASHI, EXAM, line_no=5, exam_type="10"),          # osteoporosis at 58: not a milestone
        kenshin_row(TAKAHASHI, EXAM, line_no=6, birth_date="4310501"),    # 平成31年5月1日 does not exist
        kenshin_row(TAKAHASHI, EXAM, line_no=7, result_code="5"),
        kenshin_row(TAKAHASHI, EXAM, line_no=8, name_kana="", name_kanji=""),
        kenshin_row(TAKAHASHI, EXAM, line_no=9, exam_type="03"),          # fine
        kenshin_row(TAKAHASHI, EXAM, line_no=10, exam_type="12"),         # hepatitis: not run by the city
    ]
    result = load(city, clinic_file(tmp_path, "kenshin", "202610", rows))
    why = reasons(city, result.load_id)
    assert why[1].startswith("exam_date: not in the file's month 202610")
    assert why[4] == "exam_type: unknown exam type code"
    assert why[6].startswith("birth_date:")
    assert why[7].startswith("result_code:")
    assert why[8].startswith("name_kana: no name given")
    assert why[10].startswith("exam_type: exam type 12 (肝炎ウイルス検診) is not run by the city")
    # who was not a target on the exam date is a person's question, not a row rule:
    # linked, the record waits in review as 対象外受診 with the rule that decided
    review = dict(q(city, "select line_no - 1, kind || ': ' || reason from ops.review_item where load_id = %s",
                    result.load_id))
    assert review == {
        2: "not_a_target: 対象外受診: not a target of exam type 07 on the exam date "
           "(the exam type is for the other sex)",
        3: "not_a_target: 対象外受診: not a target of exam type 04 on the exam date "
           "(age in the fiscal year outside the programme's ages)",
        5: "not_a_target: 対象外受診: not a target of exam type 10 on the exam date "
           "(age in the fiscal year outside the programme's ages)"}
    assert (result.loaded, result.quarantined, result.review) == (1, 6, 3)


def test_duplicate_line_numbers_are_returned_with_both_lines_named(city, tmp_path):
    rows = [kenshin_row(ADULTS[0], EXAM, line_no=1), kenshin_row(ADULTS[1], EXAM, line_no=2),
            kenshin_row(ADULTS[2], EXAM, line_no=2)]
    result = load(city, clinic_file(tmp_path, "kenshin", "202610", rows))
    why = reasons(city, result.load_id)
    assert why == {2: "line_no: line number repeated in this file (file lines 3, 4)",
                   3: "line_no: line number repeated in this file (file lines 3, 4)"}
    assert result.loaded == 1


@pytest.mark.parametrize(("name", "header", "expected"), [
    ("kenshin_12AB345678_202610.csv", None, "clinic code in the file name is not 10 digits"),
    (None, ["H", "KENSHIN", "1413050002", "202610", "20261105", "", "", ""],
     "header clinic code differs from the file name"),
    (None, ["H", "SEIKEN", CLINIC, "202610", "20261105"], "header"),
    (None, ["H", "KENSHIN", CLINIC, "202609", "20261105", "", "", ""], "header period differs"),
])
def test_bad_file_headers_reject_the_file(city, tmp_path, name, header, expected):
    path = clinic_file(tmp_path, "kenshin", "202610", [kenshin_row(ADULTS[0], EXAM)], name=name, header=header)
    result = load(city, path)
    assert result.status == "rejected"
    assert expected in result.reason
    assert one(city, "select count(*) from core.screening") == 0


def test_trailer_count_mismatch_rejects_the_whole_file(city, tmp_path):
    path = clinic_file(tmp_path, "kenshin", "202610", [kenshin_row(p, EXAM, line_no=i + 1)
                                                       for i, p in enumerate(ADULTS[:3])])
    text = path.read_bytes().replace(b"T,3", b"T,4")
    path.write_bytes(text)
    result = load(city, path)
    assert result.status == "rejected" and "trailer" in result.reason
    assert one(city, "select count(*) from landing.kenshin") == 0
    assert one(city, "select count(*) from core.screening") == 0


# --- resubmissions, corrections, detailed exams --------------------------------

def test_resubmitted_file_is_a_duplicate_and_a_correction_replaces_the_result_with_audit(city, tmp_path):
    p = ADULTS[5]
    first = clinic_file(tmp_path, "kenshin", "202610", [kenshin_row(p, EXAM, result_code="1")])
    assert load(city, first).status == "loaded"
    again = tmp_path / "again"
    again.mkdir()
    copy = again / first.name
    copy.write_bytes(first.read_bytes())
    assert ingest_file(copy, url=city).status == "duplicate"
    corrected = clinic_file(again, "kenshin", "202610", [kenshin_row(p, EXAM, result_code="3")],
                            created="20261110")
    result = load(city, corrected)
    assert (result.status, result.loaded) == ("loaded", 1)
    assert q(city, "select result_code, count(*) over () from core.screening") == [("3", 1)]
    audit = q(city, "select table_name, old_values->>'result_code', new_values->>'result_code', changed_by "
                    "from audit.record_correction")
    assert audit == [("core.screening", "1", "3", "loader")]


def test_detailed_exam_attaches_to_its_screening_and_an_orphan_goes_to_review(city, tmp_path):
    p, other = ADULTS[6], ADULTS[7]
    screening = clinic_file(tmp_path, "kenshin", "202610",
                            [kenshin_row(p, "20261003", line_no=1, result_code="3"),
                             kenshin_row(other, "20261003", line_no=2, result_code="1")])
    assert load(city, screening).loaded == 2
    followups = clinic_file(tmp_path, "seiken", "202611",
                            [seiken_row(p, "20261003", "20261120", line_no=1, outcome="1"),
                             seiken_row(other, "20261003", "20261121", line_no=2, outcome="4")])
    result = load(city, followups)
    got = outcomes(city, result)
    assert got[1] == ("loaded", p.addressee_id)
    assert got[2][0] == "review"
    assert q(city, "select d.outcome, s.result_code from core.detailed_exam d join core.screening s "
                   "using (screening_id)") == [("1", "3")]
    assert "no 要精検 screening" in one(city, "select reason from ops.review_item")


def test_the_gate_stops_a_file_whose_rows_slipped_past_the_row_rules(city, tmp_path, monkeypatch):
    """The GX suite (expectations/landing_kenshin.json) is a real gate: with the
    repeated-line rule switched off, the file's repeated line numbers reach it,
    and the whole file is rejected with nothing promoted."""
    from kenshin.ingest.sources.clinic import KenshinSource

    monkeypatch.setattr(KenshinSource, "stage_rejects", lambda self, conn, load_id: None)
    rows = [kenshin_row(ADULTS[0], EXAM, line_no=1), kenshin_row(ADULTS[1], EXAM, line_no=1)]
    result = load(city, clinic_file(tmp_path, "kenshin", "202610", rows))
    assert result.status == "rejected"
    assert result.reason == "gate failed: expect_column_values_to_be_unique on clinic_line_no (2 rows)"
    assert one(city, "select count(*) from core.screening") == 0
    assert one(city, "select count(*) from ops.record_match") == 0
    assert q(city, "select expectation, success from ops.gate_result where column_name = 'clinic_line_no'") == [
        ("expect_column_values_to_be_unique", False)]


def test_a_namesake_at_the_same_address_born_on_another_day_is_not_linked(city, tmp_path):
    """Name, postal code and address agree, the birth date does not: another
    person (matching.yaml link_requires), whatever the score."""
    p = TAKAHASHI
    row = kenshin_row(p, EXAM, exam_type="03", birth_date="19550227")
    result = load(city, clinic_file(tmp_path, "kenshin", "202610", [row]))
    assert outcomes(city, result)[1] == ("review", None)
    assert one(city, "select reason from ops.review_item") == "the best candidate's birth_date disagrees"
