"""Clinic result files: screenings (検診結果, `kenshin_*`) and detailed-exam
outcomes (精密検査結果, `seiken_*`), LAYOUTS.md §4 and §5.

Rows become landing rows here, with the row rules a clinic is told about
(exam date inside the file's month, an exam type the city runs). Promotion
matches each accepted record to a person (`kenshin.matching.matcher`), checks
that the person was a target on the exam date (sex, age, interval, 重複受診:
review otherwise), then `kenshin.ledger.screenings` writes the linked ones into core: one screening per person, exam type and exam date (a
resubmission corrects it, with an audit row), a detailed exam attached to the
要精検 screening it follows up.
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
from kenshin.ledger import screenings
from kenshin.matching import matcher as matching
from kenshin.platform import vocabulary
from kenshin.platform.envelope import FileRejected
from kenshin.programmes import rules as programmes
from kenshin.programmes import voucher_numbers

CLINIC_CODE = re.compile(r"[0-9]{10}")


# The landing rules read a clinic's line number as a PostgreSQL integer.
_SQL_INTEGER_MAX = 2**31 - 1


def _optional_digits(value: str, n: int, field: str) -> str | None:
    s = nz.digits(value)
    if not s:
        return None
    if len(s) != n or not nz.is_digits(s):
        raise RowError(field, f"expected {n} digits or empty")
    return s


def _clinic_line_no(value: str) -> int:
    s = nz.digits(value)
    if not nz.is_digits(s) or not 1 <= int(s) <= _SQL_INTEGER_MAX:
        raise RowError("line_no", f"expected a number from 1 to {_SQL_INTEGER_MAX}")
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
        # screenings.PROMOTION_LOCK for their transaction's last moments.
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
    fields = ("record_type", "line_no", "voucher_number", "addressee_id", "name_kana", "name_kanji", "sex",
              "birth_date", "postal_code", "address", "exam_type", "exam_date", "result_code", "result_detail",
              "fee_exempt")
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
        voucher_number = _optional_digits(voucher, 12, "voucher_number")
        _optional_digits(addressee_id, 10, "addressee_id")
        kana_value, kanji_value, kana_key, kanji_key = _names(kana, kanji)
        require_choice(sex, vocabulary.SEX_CODES, "sex")
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
        require_choice(result_code, vocabulary.result_codes(), "result_code")
        require_choice(fee_exempt, vocabulary.FLAG_CODES, "fee_exempt")
        if not rule.active:
            raise RowError("exam_type", f"exam type {rule.code} ({rule.name}) is not run by the city: "
                                        "not a screening of the programme (programmes.yaml active: false)")
        if voucher_number:
            wrong = voucher_numbers.refusal(voucher_number, rule.code, exam)
            if wrong:
                raise RowError("voucher_number", wrong)
        addr = address.strip()
        return (kana_value, kanji_value, kana_key, kanji_key, birth, postal_value,
                nz.address_key(addr) if addr else None, exam)

    def late_rejects(self, conn: psycopg.Connection, load_id: int) -> None:
        # A voucher number of the right digits that the city never issued, or
        # one voided by a reissue (lost, damaged), goes back to the clinic.
        conn.execute(
            """
            update landing.kenshin l
               set reject_field = 'voucher_number',
                   reject_reason = case when x.voucher_number is null then 'voucher number was never issued'
                                        else 'voucher number is void (reissued)' end
              from landing.kenshin_accepted a
              left join core.voucher x on x.voucher_number = a.voucher_number
             where a.load_id = %(load)s and l.load_id = a.load_id and l.line_no = a.line_no
               and a.voucher_number is not null and (x.voucher_number is null or x.voided_on is not null)
            """, {"load": load_id})

    def promote(self, conn: psycopg.Connection, load_id: int, meta: FileMeta) -> dict[str, int]:
        counts = matching.match_load(conn, load_id, matching.KENSHIN)
        counts.update(screenings.promote_screenings(conn, load_id, meta.sender, "loader"))
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
    fields = ("record_type", "line_no", "addressee_id", "name_kana", "name_kanji", "sex", "birth_date",
              "exam_type", "screening_exam_date", "followup_date", "outcome")
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
        require_choice(sex, vocabulary.SEX_CODES, "sex")
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
        require_choice(outcome, vocabulary.outcome_codes(), "outcome")
        return (kana_value, kanji_value, kana_key, kanji_key, birth, screened, followup)

    def promote(self, conn: psycopg.Connection, load_id: int, meta: FileMeta) -> dict[str, int]:
        counts = matching.match_load(conn, load_id, matching.SEIKEN)
        counts.update(screenings.promote_detailed_exams(conn, load_id, meta.sender, "loader"))
        return counts
