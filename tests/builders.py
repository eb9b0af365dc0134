"""Synthetic people and LAYOUTS.md files for focused tests (no real person)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace
from pathlib import Path

from kenshin.ingest.normalize import my_number_check_digit, to_era
from kenshin.platform.envelope import write_records


def my_number(seed: int) -> str:
    first = f"{seed:011d}"
    return first + my_number_check_digit(first)


@dataclass
class Person:
    addressee_id: str
    name_kanji: str = "川崎\u3000花子"
    name_kana: str = "カワサキ\u3000ハナコ"
    sex: str = "2"
    birth: dt.date = dt.date(1970, 3, 12)
    household_id: str = "1000000001"
    relationship: str = "世帯主"
    postal_code: str = "211-0063"
    ward_code: str = "141330"
    address: str = "神奈川県川崎市中原区小杉町3丁目1番2号"
    resident_since: str = "20000401"
    previous_address: str = ""
    previous_municipality_code: str = ""
    status: str = "1"
    protection_flag: str = "0"
    my_number: str = field(default="")

    def jumin_row(self, event_code: str = "00", event_date: str = "", **overrides: str) -> list[str]:
        row = {
            "record_type": "D", "addressee_id": self.addressee_id, "my_number": self.my_number,
            "household_id": self.household_id, "name_kanji": self.name_kanji, "name_kana": self.name_kana,
            "sex": self.sex, "birth_date": to_era(self.birth), "relationship": self.relationship,
            "household_head_name": self.name_kanji, "postal_code": self.postal_code,
            "ward_code": self.ward_code, "address": self.address, "resident_since": self.resident_since,
            "previous_address": self.previous_address,
            "previous_municipality_code": self.previous_municipality_code, "status": self.status,
            "event_code": event_code, "event_date": event_date, "protection_flag": self.protection_flag,
        }
        row.update(overrides)
        return list(row.values())

    def but(self, **changes) -> Person:
        return replace(self, **changes)


def people(n: int, start: int = 1) -> list[Person]:
    family = ["佐藤", "鈴木", "高橋", "田中", "伊藤"]
    family_kana = ["サトウ", "スズキ", "タカハシ", "タナカ", "イトウ"]
    given = ["花子", "太郎", "陽菜", "蓮", "結衣"]
    given_kana = ["ハナコ", "タロウ", "ヒナ", "レン", "ユイ"]
    out = []
    for i in range(start, start + n):
        f, g = (i * 7) % 5, (i * 3) % 5
        out.append(Person(
            addressee_id=f"{i:010d}", name_kanji=f"{family[f]}\u3000{given[g]}",
            name_kana=f"{family_kana[f]}\u3000{given_kana[g]}", sex="1" if g in (1, 3) else "2",
            birth=dt.date(1935, 1, 1) + dt.timedelta(days=(97 * i) % 30000), household_id=f"{1000000000 + i:010d}",
            # a household of their own at an address of their own
            address=f"神奈川県川崎市中原区小杉町3丁目{i}番2号", my_number=my_number(500000 + i),
        ))
    return out


def jumin_file(folder: Path, day: str, variant: str, rows: list[list[str]], *, name: str | None = None,
               encoding: str = "cp932", bom: bool = False, trailer: bool = True,
               header: list[str] | None = None) -> Path:
    path = folder / (name or f"jumin_{day}_{variant}.csv")
    write_records(path, header or ["H", "JUMIN", variant, day, "141305"], rows,
                  encoding=encoding, bom=bom, trailer=trailer)
    return path


CLINIC = "1413050001"


def kenshin_row(p: Person, exam_date: str, *, line_no: int = 1, exam_type: str = "04", result_code: str = "1",
                **overrides: str) -> list[str]:
    """A clinic's screening record (LAYOUTS.md §4) for person `p`, keyed the way
    most clinics key them: no addressee id, no voucher, Gregorian birth date."""
    row = {
        "record_type": "D", "line_no": str(line_no), "voucher_number": "", "addressee_id": "",
        "name_kana": p.name_kana, "name_kanji": p.name_kanji, "sex": p.sex,
        "birth_date": p.birth.strftime("%Y%m%d"), "postal_code": p.postal_code, "address": p.address,
        "exam_type": exam_type, "exam_date": exam_date, "result_code": result_code, "result_detail": "",
        "fee_exempt": "0",
    }
    row.update(overrides)
    return list(row.values())


def seiken_row(p: Person, screening_date: str, followup_date: str, *, line_no: int = 1, exam_type: str = "04",
               outcome: str = "4", **overrides: str) -> list[str]:
    """A hospital's detailed-exam outcome (LAYOUTS.md §5) for person `p`."""
    row = {
        "record_type": "D", "line_no": str(line_no), "addressee_id": "", "name_kana": p.name_kana,
        "name_kanji": p.name_kanji, "sex": p.sex, "birth_date": p.birth.strftime("%Y%m%d"),
        "exam_type": exam_type, "screening_exam_date": screening_date, "followup_date": followup_date,
        "outcome": outcome,
    }
    row.update(overrides)
    return list(row.values())


def clinic_file(folder: Path, kind: str, period: str, rows: list[list[str]], *, clinic: str = CLINIC,
                name: str | None = None, trailer: bool = True, header: list[str] | None = None,
                created: str | None = None) -> Path:
    """A `kenshin_*` or `seiken_*` file; line numbers renumbered 1.. unless given."""
    path = folder / (name or f"{kind}_{clinic}_{period}.csv")
    nxt = dt.date(int(period[:4]) + int(period[4:]) // 12, int(period[4:]) % 12 + 1, 5)
    created = created or nxt.strftime("%Y%m%d")
    if header is None:
        header = (["H", "KENSHIN", clinic, period, created, "代表\u3000太郎", "川崎市中原区", "044-000-0000"]
                  if kind == "kenshin" else ["H", "SEIKEN", clinic, period, created])
    write_records(path, header, rows, encoding="cp932", trailer=trailer)
    return path


def operations_month(url: str, folder: Path) -> dict[str, str]:
    """A month of real CP932 files through the real loader, one of each outcome
    the operations page shows; returns {file name: status}. The caller switches
    off the clinic repeated-line row rule (KenshinSource.stage_rejects) so that
    the third clinic file's repeated line numbers reach the GX gate and fail it."""
    from kenshin.ingest.loading import ingest_file

    ps = people(60)
    adults = [p for p in ps if 1945 <= p.birth.year <= 1980]
    a, b, c = adults[:3]
    exam = "20261015"
    files = [
        jumin_file(folder, "20261001", "full", [p.jumin_row() for p in ps]),
        # two records in review, one returned (quarantined), one loaded
        clinic_file(folder, "kenshin", "202610", [
            kenshin_row(a, exam, line_no=1),
            kenshin_row(b, exam, line_no=2, addressee_id=a.addressee_id),
            kenshin_row(c, exam, line_no=3, name_kanji="", address="", postal_code="",
                        name_kana=c.name_kana[:-2] + "ヲヲ"),
            kenshin_row(a.but(birth=a.birth.replace(year=1960)), exam, line_no=4, name_kana="ムラカミ　ジロウ",
                        name_kanji="村上　次郎", address="", postal_code="")]),
        clinic_file(folder, "kenshin", "202610", [kenshin_row(adults[3], exam)], clinic="1413050002",
                    trailer=False),
        clinic_file(folder, "kenshin", "202610", [kenshin_row(adults[4], exam, line_no=1),
                                                  kenshin_row(adults[5], exam, line_no=1)],
                    clinic="1413050003"),
    ]
    copy = folder / "jumin_20261001_full_resent.csv"
    copy.write_bytes(files[0].read_bytes())
    files.insert(1, copy)
    return {p.name: ingest_file(p, url=url).status for p in files}


# (sex, birth date, result, detailed-exam outcome or None): colorectal (04), exam 2025-10-01, FY2025.
COHORT = tuple(
    [("1", dt.date(1983, 5, 1), "1", None)] * 3          # men 42: no abnormality
    + [("1", dt.date(1983, 5, 1), "3", "1")]              # a man 42: 要精検, cancer found
    + [("1", dt.date(1983, 5, 1), "3", None)]             # a man 42: 要精検, no outcome reported (未把握)
    + [("2", dt.date(1984, 7, 7), "2", None)] * 3         # women 41: 要指導
    + [("2", dt.date(1984, 7, 7), "3", "4")]              # a woman 41: 要精検, no abnormality
    + [("1", dt.date(1978, 9, 9), "1", None)] * 3         # men 47
)


def insert_person(conn, aid: str, sex: int, birth: dt.date, *, valid_from: dt.date = dt.date(2020, 4, 1),
                  valid_to: dt.date | None = None, status: int = 1, protection_flag: bool = False,
                  line_no: int = 1, new: bool = True, name_kanji: str = "試験　太郎",
                  household_id: str | None = None, address: str | None = None) -> None:
    """A ledger entry written straight into core (a fixture load id 1 must exist):
    the person (when `new`) and one version of them. Each person is a household
    of their own at an address of their own unless `household_id` / `address`
    say otherwise (a protected person's household and address are protected too)."""
    address = address or f"川崎市川崎区本町{int(aid) % 10000}番"
    if new:
        conn.execute("insert into core.person (addressee_id, person_key, first_load_id, last_load_id) "
                     "values (%s, md5(%s), 1, 1)", (aid, aid))
    conn.execute(
        """insert into core.person_version (addressee_id, valid_from, valid_to, household_id, name_kanji, name_kana,
               name_kanji_key, name_kana_key, sex, birth_date, relationship, postal_code, ward_code,
               address, address_key, status, protection_flag, attrs_hash, change_event, load_id, line_no)
           values (%s, %s, %s, %s, %s, 'シケン　タロウ', '試験太郎', 'シケンタロウ', %s, %s,
                   '世帯主', '210-0001', '141313', %s, %s, %s, %s, 'x', '00', 1, %s)""",
        (aid, valid_from, valid_to, household_id or aid, name_kanji, sex, birth, address, address, status,
         protection_flag, line_no))


def insert_screening(conn, aid: str, exam_type: str, day: dt.date, line_no: int, result: str = "1") -> int:
    """A screening of a ledger person written straight into core (fixture load 1); returns its id."""
    return conn.execute("""insert into core.screening (addressee_id, exam_type, exam_date, clinic_code, result_code,
                                  fee_exempt, link_method, load_id, line_no)
                           values (%s, %s, %s, '1413050001', %s, false, 'fixture', 1, %s)
                           returning screening_id""", (aid, exam_type, day, result, line_no)).fetchone()[0]


def fixture_load(conn) -> None:
    """The load id 1 fixture rows in core refer to."""
    conn.execute("insert into ops.load_manifest (file_name, source, sha256, size_bytes, status) "
                 "values ('fixture', 'fixture', repeat('0', 64), 0, 'rejected')")


def build_cohort(url: str, extra: tuple = ()) -> None:
    """The hand-built cohort written straight into core (marts tests: counts known by hand)."""
    import psycopg

    with psycopg.connect(url) as conn:
        fixture_load(conn)
        for i, (sex, birth, result, outcome) in enumerate(COHORT + tuple(extra), start=1):
            aid = f"{i:010d}"
            insert_person(conn, aid, int(sex), birth, line_no=i)
            sid = conn.execute(
                """insert into core.screening (addressee_id, exam_type, exam_date, clinic_code, result_code,
                       fee_exempt, link_method, load_id, line_no)
                   values (%s, '04', '2025-10-01', '1413050001', %s, false, 'fixture', 1, %s)
                   returning screening_id""", (aid, result, i)).fetchone()[0]
            if outcome:
                conn.execute(
                    """insert into core.detailed_exam (screening_id, addressee_id, followup_date, outcome, clinic_code,
                           link_method, load_id, line_no) values (%s, %s, '2025-12-01', %s, '1413050001',
                           'fixture', 1, %s)""", (sid, aid, outcome, i))




def insert_event(conn, aid: str, code: str, day: dt.date, line_no: int, previous: str | None = "131016") -> None:
    """A registry event (異動) of a ledger person: 02 move-in (from `previous`), 03 move-out, 04 death."""
    conn.execute("""insert into core.person_event (addressee_id, event_code, event_date, previous_municipality_code,
                           load_id, line_no) values (%s, %s, %s, %s, 1, %s)""",
                 (aid, code, day, previous if code == "02" else None, line_no))


def shokai_res_file(folder: Path, day: str, number: int, rows: list[list[str]], *, trailer: bool = True) -> Path:
    """A response file of the information network (LAYOUTS.md §6, UTF-8)."""
    path = folder / f"shokai_res_{day}_{number:03d}.csv"
    write_records(path, ["H", "SHOKAI_RES", f"{day[:4]}-{day[4:6]}-{day[6:]}T09:00:00+09:00"],
                  [["D", *r] for r in rows], encoding="utf-8", trailer=trailer)
    return path


# Every incremental model and published statistics table, with the columns to order by.
INCREMENTAL = {
    "marts_staging.int_screening_enriched": "screening_id",
    "marts_staging.int_screening_counts": "fiscal_year, exam_type, ward_code, sex, age_band, is_first_time",
    "marts_staging.int_people_screened": "fiscal_year, exam_type, ward_code, sex, age_band",
    "marts_staging.int_target_population": "fiscal_year, exam_type, ward_code, sex, age_band",
    "stats.process_indicators": "fiscal_year, exam_type, sex, age_band",
    "stats.participation": "fiscal_year, exam_type, ward_code, sex, age_band",
    "stats.ministry_report": "fiscal_year, exam_type, sex, age_band, first_time",
}


def mart_contents(url: str) -> dict[str, list[tuple]]:
    """Every incremental model and published table, without the build times."""
    import psycopg

    out = {}
    with psycopg.connect(url) as conn:
        for table, order in INCREMENTAL.items():
            cur = conn.execute(f"select * from {table} order by {order}")
            keep = [i for i, c in enumerate(cur.description) if c.name not in ("built_at", "change_watermark")]
            out[table] = [tuple(r[i] for i in keep) for r in cur.fetchall()]
    return out


# --- hostile input (issue 21): what core holds, and what may never be said ---

# Core as two loads of the same records leave it: no load ids, file lines,
# surrogate keys or clocks.
CORE_STATE = {
    "person": "select addressee_id, my_number_hmac, missing_since, person_key from core.person",
    "person_version": """select addressee_id, valid_from, valid_to, household_id, name_kanji, name_kana,
                                name_kanji_key, name_kana_key, sex, birth_date, relationship, household_head_name,
                                postal_code, ward_code, address, address_key, resident_since, previous_address,
                                previous_municipality_code, status, protection_flag, change_event
                           from core.person_version""",
    "person_event": """select addressee_id, event_code, event_date, previous_municipality_code, previous_address
                         from core.person_event""",
    "screening": """select addressee_id, exam_type, exam_date, clinic_code, result_code, result_detail, fee_exempt,
                           link_method from core.screening""",
}


def core_state(url: str) -> dict[str, list[tuple]]:
    """Every core table a load writes, as sorted rows without load ids or clocks."""
    import psycopg

    with psycopg.connect(url) as conn:
        return {table: sorted(conn.execute(sql).fetchall(), key=repr) for table, sql in CORE_STATE.items()}


def personal_values(persons: list[Person]) -> set[str]:
    """What identifies each synthetic person, in the forms a file carries them:
    none of it may appear in a reason, a quarantine row or a log line."""
    values: set[str] = set()
    for p in persons:
        family, given = p.name_kanji.split("\u3000")
        kana_family, kana_given = p.name_kana.split("\u3000")
        values |= {p.addressee_id, family, given, kana_family, kana_given, p.birth.strftime("%Y%m%d"),
                   to_era(p.birth), p.address, p.household_id}
        if p.my_number:
            values.add(p.my_number)
    return values


def ops_messages(url: str) -> list[str]:
    """Every reason the loader wrote into ops (manifest, quarantine, review)."""
    import psycopg

    with psycopg.connect(url) as conn:
        return [r[0] for r in conn.execute(
            """select reason from ops.load_manifest where reason is not null
               union all select field || ': ' || reason from ops.quarantine
               union all select reason from ops.review_item where reason is not null""")]


def assert_nothing_said(url: str, log_records: list, persons: list[Person], *extra: str) -> None:
    """No personal value of `persons` (nor any of `extra`, e.g. the bad values a
    test planted) in a reason the loader wrote into ops or in a log record."""
    texts = ops_messages(url) + [r.getMessage() for r in log_records]
    values = personal_values(persons) | set(extra)
    leaks = sorted({v for v in values for t in texts if v and v in t})
    assert leaks == [], f"personal values in messages: {len(leaks)}"
