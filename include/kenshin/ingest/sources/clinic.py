"""Clinic result files: screenings (検診結果, `kenshin_*`) and detailed-exam
outcomes (精密検査結果, `seiken_*`), LAYOUTS.md §4 and §5.

Rows become landing rows here, with the row rules a clinic is told about
(exam date inside the file's month, exam type valid for the person's sex and
age under the programme). Promotion matches each accepted record to a person
(`kenshin.matching.matcher`), then writes the linked ones into core: one screening per
person, exam type and exam date (a resubmission corrects it, with an audit
row), a detailed exam attached to the 要精検 screening it follows up.
"""

from __future__ import annotations

import datetime as dt
import re

import psycopg

from kenshin.ingest import normalize as nz
from kenshin.ingest.sources.base import (
    FileMeta,
    RowError,
    Source,
    header_date,
    header_month,
    require_choice,
    require_date,
)
from kenshin.matching import matcher as matching
from kenshin.platform.envelope import FileRejected
from kenshin.programmes import rules as programmes

SEX = frozenset({"1", "2"})
RESULT_CODES = frozenset({"1", "2", "3", "9"})
OUTCOMES = frozenset({"1", "2", "3", "4"})
FLAG = frozenset({"0", "1"})
CLINIC_CODE = re.compile(r"[0-9]{10}")


def _optional_digits(value: str, n: int, field: str) -> str | None:
    s = nz.digits(value)
    if not s:
        return None
    if len(s) != n or not s.isdigit():
        raise RowError(field, f"expected {n} digits or empty")
    return s


def _clinic_line_no(value: str) -> int:
    s = nz.digits(value)
    if not s.isdigit() or int(s) < 1:
        raise RowError("line_no", "expected a positive number")
    return int(s)


def _names(kana: str, kanji: str) -> tuple[str | None, str | None, str | None, str | None]:
    """Display and matching forms of the two names; at least one must be given."""
    kana_value = nz.kana_display(kana) if kana.strip() else None
    kanji_value = nz.name_display(kanji) if kanji.strip() else None
    if kana_value is None and kanji_value is None:
        raise RowError("name_kana", "no name given (neither kana nor kanji)")
    return (kana_value, kanji_value, nz.kana_key(kana) if kana_value else None,
            nz.kanji_key(kanji) if kanji_value else None)


def _month_bounds(period: str) -> tuple[dt.date, dt.date]:
    return nz.month_bounds(dt.date(int(period[:4]), int(period[4:]), 1))


class _ClinicSource(Source):
    """Header handling shared by the two clinic layouts."""

    has_review = True

    def read_header(self, header: list[str], file_name: str) -> FileMeta:
        m = self.pattern.fullmatch(file_name)
        named_clinic = m.group("sender") if m else ""
        if not CLINIC_CODE.fullmatch(named_clinic):
            raise FileRejected(file_name, "clinic code in the file name is not 10 digits", field="clinic_code")
        clinic = nz.digits(header[2]) if len(header) > 2 else ""
        if not CLINIC_CODE.fullmatch(clinic):
            raise FileRejected(file_name, "header clinic code is not 10 digits", line=1, field="clinic_code")
        if clinic != named_clinic:
            raise FileRejected(file_name, "header clinic code differs from the file name", line=1,
                               field="clinic_code")
        period = header_month(header, 3, file_name)
        if m and m.group("stamp") != period:
            raise FileRejected(file_name, "header period differs from the file name", line=1, field="period")
        created = header_date(header, 4, file_name, "created_date")
        first, last = _month_bounds(period)
        if created < first:
            raise FileRejected(file_name, "header created date is before the period", line=1,
                               field="created_date")
        return FileMeta(file_date=created, period=period, sender=clinic,
                        extra={"month_first": first, "month_last": last})

    def available_from(self, stamp: dt.date) -> dt.date:
        # A month's results are complete once the month is over.
        return nz.month_bounds(stamp)[1] + dt.timedelta(days=1)

    def lock_name(self, file_name: str) -> str:
        # Clinics' files commute up to promotion: staging, the gate and matching
        # of two clinics' files run side by side; the writes into core take
        # PROMOTION_LOCK for their transaction's last moments.
        m = self.pattern.fullmatch(file_name)
        return f"kenshin:source:{self.name}:{m.group('sender') if m else file_name}"

    def after_load(self, conn: psycopg.Connection, load_id: int) -> None:
        from kenshin.matching.return_lists import write_return_list

        write_return_list(conn, load_id)

    def loaded_count(self, conn: psycopg.Connection, load_id: int) -> int:
        return conn.execute("select count(*) from ops.record_match where load_id = %s and outcome = 'linked'",
                            (load_id,)).fetchone()[0]

    def stage_rejects(self, conn: psycopg.Connection, load_id: int) -> None:
        # A line number the clinic used twice: neither line can be told apart
        # in the clinic's own records, so both go back to the clinic.
        conn.execute(
            f"""
            with repeated as (
                select line_no, string_agg(line_no::text, ', ') over (partition by n) as lines,
                       count(*) over (partition by n) as k
                  from (select line_no, landing.ascii_digits(clinic_line_no)::integer as n
                          from {self.table} where load_id = %(load)s and reject_reason is null) t)
            update {self.table} l
               set reject_field = 'line_no', reject_reason = 'line number repeated in this file (file lines '
                                                            || r.lines || ')'
              from repeated r
             where l.load_id = %(load)s and l.line_no = r.line_no and r.k > 1
            """, {"load": load_id})


class KenshinSource(_ClinicSource):
    """検診結果: `kenshin_{clinic_code}_YYYYMM.csv` (LAYOUTS.md §4)."""

    name = "kenshin"
    kind = "KENSHIN"
    pattern = re.compile(r"kenshin_(?P<sender>[^_]+)_(?P<stamp>\d{6})\.csv")
    table = "landing.kenshin"
    accepted_view = "landing.kenshin_accepted"
    suite = "landing_kenshin"
    n_fields = 15
    raw_columns = (
        "clinic_line_no", "voucher_number", "addressee_id", "name_kana", "name_kanji", "sex", "birth_date",
        "postal_code", "address", "exam_type", "exam_date", "result_code", "result_detail", "fee_exempt",
    )
    value_columns = (
        "name_kana_value", "name_kanji_value", "name_kana_key", "name_kanji_key", "birth_date_value",
        "postal_code_value", "address_key", "exam_date_value",
    )

    def __init__(self) -> None:
        self._types = programmes.exam_types()

    def values(self, f: list[str], meta: FileMeta) -> tuple:
        self.require_field_count(f)
        (_, line_no, voucher, addressee_id, kana, kanji, sex, birth_date, postal, address, exam_type,
         exam_date, result_code, _detail, fee_exempt) = f
        _clinic_line_no(line_no)
        _optional_digits(voucher, 12, "voucher_number")
        _optional_digits(addressee_id, 10, "addressee_id")
        kana_value, kanji_value, kana_key, kanji_key = _names(kana, kanji)
        sex_code = int(require_choice(sex, SEX, "sex"))
        birth = require_date(birth_date, "birth_date")
        try:
            postal_value = nz.postal_code(postal) if postal.strip() else None
        except nz.BadValue:
            postal_value = None  # evidence for matching only: a bad one is simply absent
        rule = self._types.get(nz.digits(exam_type))
        if rule is None:
            raise RowError("exam_type", "unknown exam type code")
        exam = require_date(exam_date, "exam_date")
        if not meta.extra["month_first"] <= exam <= meta.extra["month_last"]:
            raise RowError("exam_date", f"not in the file's month {meta.period}")
        if birth > exam:
            raise RowError("birth_date", "after the exam date")
        require_choice(result_code, RESULT_CODES, "result_code")
        require_choice(fee_exempt, FLAG, "fee_exempt")
        refusal = rule.refusal(sex_code, rule.age(birth, exam))
        if refusal:
            raise RowError(*refusal)
        addr = address.strip()
        return (kana_value, kanji_value, kana_key, kanji_key, birth, postal_value,
                nz.address_key(addr) if addr else None, exam)

    def promote(self, conn: psycopg.Connection, load_id: int, meta: FileMeta) -> dict[str, int]:
        counts = matching.match_load(conn, load_id, matching.KENSHIN)
        counts.update(promote_screenings(conn, load_id, meta.sender, "loader"))
        return counts


class SeikenSource(_ClinicSource):
    """精密検査結果: `seiken_{clinic_code}_YYYYMM.csv` (LAYOUTS.md §5)."""

    name = "seiken"
    kind = "SEIKEN"
    pattern = re.compile(r"seiken_(?P<sender>[^_]+)_(?P<stamp>\d{6})\.csv")
    table = "landing.seiken"
    accepted_view = "landing.seiken_accepted"
    suite = "landing_seiken"
    n_fields = 11
    raw_columns = (
        "clinic_line_no", "addressee_id", "name_kana", "name_kanji", "sex", "birth_date", "exam_type",
        "screening_exam_date", "followup_date", "outcome",
    )
    value_columns = (
        "name_kana_value", "name_kanji_value", "name_kana_key", "name_kanji_key", "birth_date_value",
        "screening_exam_date_value", "followup_date_value",
    )

    def __init__(self) -> None:
        self._types = programmes.exam_types()

    def values(self, f: list[str], meta: FileMeta) -> tuple:
        self.require_field_count(f)
        (_, line_no, addressee_id, kana, kanji, sex, birth_date, exam_type, screening_date,
         followup_date, outcome) = f
        _clinic_line_no(line_no)
        _optional_digits(addressee_id, 10, "addressee_id")
        kana_value, kanji_value, kana_key, kanji_key = _names(kana, kanji)
        require_choice(sex, SEX, "sex")
        birth = require_date(birth_date, "birth_date")
        if nz.digits(exam_type) not in self._types:
            raise RowError("exam_type", "unknown exam type code")
        screened = require_date(screening_date, "screening_exam_date")
        followup = require_date(followup_date, "followup_date")
        if followup > meta.extra["month_last"]:
            raise RowError("followup_date", f"after the file's month {meta.period}")
        if followup < screened:
            raise RowError("followup_date", "before the screening exam date")
        if birth > screened:
            raise RowError("birth_date", "after the screening exam date")
        require_choice(outcome, OUTCOMES, "outcome")
        return (kana_value, kanji_value, kana_key, kanji_key, birth, screened, followup)

    def promote(self, conn: psycopg.Connection, load_id: int, meta: FileMeta) -> dict[str, int]:
        counts = matching.match_load(conn, load_id, matching.SEIKEN)
        counts.update(promote_detailed_exams(conn, load_id, meta.sender, "loader"))
        return counts


# --- promotion of linked records -----------------------------------------------

# Screenings and detailed exams of all clinic files are written under one
# transaction-level lock: a correction, an orphan check and an attach read what
# another file may be writing.
PROMOTION_LOCK = "kenshin:promote:clinic_results"


def _lock_promotion(conn: psycopg.Connection) -> None:
    conn.execute("select pg_advisory_xact_lock(hashtext(%s))", (PROMOTION_LOCK,))


def _linked(conn: psycopg.Connection, view: str, load_id: int, lines: list[int] | None) -> None:
    """Temp table `linked` of this load's linked records (or of `lines` only)."""
    conn.execute("drop table if exists linked")
    conn.execute(
        f"""
        create temp table linked on commit drop as
        select a.*, m.addressee_id as person, m.method, m.score
          from {view} a join ops.record_match m using (load_id, line_no)
         where a.load_id = %(load)s and m.outcome = 'linked'
           and (%(lines)s::int[] is null or a.line_no = any(%(lines)s::int[]))
        """, {"load": load_id, "lines": lines})


def _return_in_file_duplicates(conn: psycopg.Connection, load_id: int, key: str, what: str) -> int:
    """Two lines of one file for the same record: the last one stands, the
    earlier ones go back to the clinic (they cannot both be the result)."""
    rows = conn.execute(
        f"""
        with ranked as (
            select line_no, first_value(line_no) over w as kept, row_number() over w as rk
              from linked window w as (partition by {key} order by line_no desc))
        select line_no, kept from ranked where rk > 1
        """).fetchall()
    for line_no, kept in rows:
        matching.return_record(conn, load_id, line_no, "record",
                               f"same {what} as file line {kept} of this file (the later line is kept)")
    if rows:
        conn.execute("delete from linked where line_no = any(%s)", ([r[0] for r in rows],))
    return len(rows)


def promote_screenings(conn: psycopg.Connection, load_id: int, clinic_code: str, by: str,
                       lines: list[int] | None = None) -> dict[str, int]:
    """Linked screening records of a load into core.screening (upsert with audit)."""
    _lock_promotion(conn)
    _linked(conn, "landing.kenshin_accepted", load_id, lines)
    duplicates = _return_in_file_duplicates(conn, load_id, "person, exam_type, exam_date",
                                            "person, exam type and exam date")
    p = {"clinic": clinic_code, "by": by, "load": load_id}
    corrected = conn.execute(
        """
        insert into audit.record_correction (table_name, record_id, old_values, new_values, old_load_id,
                                             old_line_no, new_load_id, new_line_no, changed_by)
        select 'core.screening', s.screening_id,
               jsonb_build_object('result_code', s.result_code, 'result_detail', s.result_detail,
                                  'fee_exempt', s.fee_exempt, 'clinic_code', s.clinic_code),
               jsonb_build_object('result_code', l.result_code, 'result_detail', l.result_detail,
                                  'fee_exempt', l.fee_exempt, 'clinic_code', %(clinic)s::text),
               s.load_id, s.line_no, l.load_id, l.line_no, %(by)s
          from core.screening s
          join linked l on s.addressee_id = l.person and s.exam_type = l.exam_type and s.exam_date = l.exam_date
         where (s.result_code, s.result_detail, s.fee_exempt, s.clinic_code)
               is distinct from (l.result_code, l.result_detail, l.fee_exempt, %(clinic)s::char(10))
        """, p).rowcount
    if corrected:
        conn.execute(
            """
            update core.screening s
               set result_code = l.result_code, result_detail = l.result_detail, fee_exempt = l.fee_exempt,
                   clinic_code = %(clinic)s, load_id = l.load_id, line_no = l.line_no, updated_at = now()
              from linked l
             where s.addressee_id = l.person and s.exam_type = l.exam_type and s.exam_date = l.exam_date
               and (s.result_code, s.result_detail, s.fee_exempt, s.clinic_code)
                   is distinct from (l.result_code, l.result_detail, l.fee_exempt, %(clinic)s::char(10))
            """, p)
    new = conn.execute(
        """
        insert into core.screening (addressee_id, exam_type, exam_date, clinic_code, result_code, result_detail,
                                    fee_exempt, link_method, link_score, load_id, line_no)
        select person, exam_type, exam_date, %(clinic)s, result_code, result_detail, fee_exempt, method, score,
               load_id, line_no
          from linked
        on conflict (addressee_id, exam_type, exam_date) do nothing
        """, p).rowcount
    return {"screenings_new": new, "screenings_corrected": corrected, "returned_duplicates": duplicates}


def promote_detailed_exams(conn: psycopg.Connection, load_id: int, clinic_code: str, by: str,
                           lines: list[int] | None = None) -> dict[str, int]:
    """Linked outcomes onto their 要精検 screenings; an outcome with none goes to review."""
    _lock_promotion(conn)
    _linked(conn, "landing.seiken_accepted", load_id, lines)
    orphans = conn.execute(
        """
        select l.line_no, l.person from linked l
         where not exists (select 1 from core.screening s
                            where s.addressee_id = l.person and s.exam_type = l.exam_type
                              and s.exam_date = l.screening_exam_date and s.result_code = '3')
        """).fetchall()
    for line_no, person in orphans:
        matching.send_to_review(
            conn, load_id, line_no, "seiken",
            "no 要精検 screening of this person, exam type and screening date to follow up",
            [{"addressee_id": person, "score": None, "disagree": ["screening"]}])
    if orphans:
        conn.execute("delete from linked where line_no = any(%s)", ([o[0] for o in orphans],))
    duplicates = _return_in_file_duplicates(conn, load_id, "person, exam_type, screening_exam_date",
                                            "person, exam type and screening date")
    p = {"clinic": clinic_code, "by": by}
    conn.execute(
        """
        create temp table linked_exam on commit drop as
        select l.*, s.screening_id from linked l
          join core.screening s on s.addressee_id = l.person and s.exam_type = l.exam_type
                               and s.exam_date = l.screening_exam_date and s.result_code = '3'
        """)
    corrected = conn.execute(
        """
        insert into audit.record_correction (table_name, record_id, old_values, new_values, old_load_id,
                                             old_line_no, new_load_id, new_line_no, changed_by)
        select 'core.detailed_exam', d.detailed_exam_id,
               jsonb_build_object('outcome', d.outcome, 'followup_date', d.followup_date,
                                  'clinic_code', d.clinic_code),
               jsonb_build_object('outcome', l.outcome, 'followup_date', l.followup_date,
                                  'clinic_code', %(clinic)s::text),
               d.load_id, d.line_no, l.load_id, l.line_no, %(by)s
          from core.detailed_exam d join linked_exam l using (screening_id)
         where (d.outcome, d.followup_date, d.clinic_code)
               is distinct from (l.outcome, l.followup_date, %(clinic)s::char(10))
        """, p).rowcount
    if corrected:
        conn.execute(
            """
            update core.detailed_exam d
               set outcome = l.outcome, followup_date = l.followup_date, clinic_code = %(clinic)s,
                   load_id = l.load_id, line_no = l.line_no, updated_at = now()
              from linked_exam l
             where d.screening_id = l.screening_id
               and (d.outcome, d.followup_date, d.clinic_code)
                   is distinct from (l.outcome, l.followup_date, %(clinic)s::char(10))
            """, p)
    new = conn.execute(
        """
        insert into core.detailed_exam (screening_id, addressee_id, followup_date, outcome, clinic_code,
                                        link_method, load_id, line_no)
        select screening_id, person, followup_date, outcome, %(clinic)s, method, load_id, line_no
          from linked_exam
        on conflict (screening_id) do nothing
        """, p).rowcount
    conn.execute("drop table linked_exam")
    return {"detailed_exams_new": new, "detailed_exams_corrected": corrected, "orphans_review": len(orphans),
            "returned_duplicates": duplicates}

