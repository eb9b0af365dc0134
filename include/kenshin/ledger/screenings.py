"""Screenings and detailed exams (検診結果・精密検査結果): what a clinic file's
promotion writes into core.

One screening per person, exam type and exam date (a later file with another
result corrects it, with an `audit.record_correction` row); a detailed-exam
outcome attached to the 要精検 screening it follows up. A linked record that
promotion cannot use goes back to the clinic (`return_record`) or to the
review queue (`send_to_review`). Called by the clinic parsers after matching,
and by a review decision for one line.
"""

from __future__ import annotations

import json

import psycopg

from kenshin.platform import vocabulary
from kenshin.programmes import eligibility

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
        return_record(conn, load_id, line_no, "record",
                               f"same {what} as file line {kept} of this file (the later line is kept)")
    if rows:
        conn.execute("delete from linked where line_no = any(%s)", ([r[0] for r in rows],))
    return len(rows)


def promote_screenings(conn: psycopg.Connection, load_id: int, clinic_code: str, by: str,
                       lines: list[int] | None = None, *, check_targets: bool = True) -> dict[str, int]:
    """Linked screening records of a load into core.screening (upsert with audit).
    `check_targets=False`: a staff member decided an eligibility review item."""
    _lock_promotion(conn)
    _linked(conn, "landing.kenshin_accepted", load_id, lines)
    duplicates = _return_in_file_duplicates(conn, load_id, "person, exam_type, exam_date",
                                            "person, exam type and exam date")
    held = _hold_non_targets(conn, load_id) if check_targets else {}
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
    return {"screenings_new": new, "screenings_corrected": corrected, "returned_duplicates": duplicates,
            "not_a_target_review": held.get(NOT_A_TARGET, 0), "repeat_review": held.get(REPEAT_IN_FISCAL_YEAR, 0)}


NOT_A_TARGET, REPEAT_IN_FISCAL_YEAR = "not_a_target", "repeat_in_fiscal_year"
_RULE_WORDS = {
    eligibility.RESIDENT: "not resident on the exam date",
    eligibility.SEX: "the exam type is for the other sex",
    eligibility.AGE: "age in the fiscal year outside the programme's ages",
    eligibility.POPULATION: "not in the population the programme serves on the exam date",
    eligibility.EXCLUDED: "covered by an insurer's health check instead",
    eligibility.ONCE: "screened before (once per life)",
    eligibility.INACTIVE: "the programme is not run by the city",
}


def _hold_non_targets(conn: psycopg.Connection, load_id: int) -> dict[str, int]:
    """使用方法1: each linked record's person must have been a target of its exam
    type on the exam date. One who was not (対象外受診), or a second screening of
    the same method in the fiscal year (重複受診), waits in review with the rule
    that decided; the full decision (the Verdict) is kept with the item's
    candidates, for the staff member who decides, never in a log."""
    records = [eligibility.Submitted(line, person, code, day, result) for line, person, code, day, result in
               conn.execute("select line_no, person, exam_type, exam_date, result_code from linked order by line_no")]
    held: dict[str, int] = {}
    for line_no, verdict in eligibility.on_exam_dates(conn, records).items():
        if verdict.target:
            continue
        person = next(r.addressee_id for r in records if r.key == line_no)
        if verdict.repeat_in_fiscal_year:
            kind = REPEAT_IN_FISCAL_YEAR
            reason = (f"重複受診: a second screening by exam type {verdict.exam_type} in "
                      f"FY{verdict.blocking.fiscal_year}")
        else:
            kind = NOT_A_TARGET
            if verdict.rule == eligibility.BLOCKED:
                why = (f"screened by exam type {verdict.blocking.exam_type} in FY{verdict.blocking.fiscal_year}, "
                       f"which blocks exam type {verdict.exam_type} in FY{verdict.fiscal_year}")
            else:
                why = _RULE_WORDS.get(verdict.rule, verdict.rule)
            reason = f"対象外受診: not a target of exam type {verdict.exam_type} on the exam date ({why})"
        send_to_review(conn, load_id, line_no, "kenshin", reason,
                       [{"addressee_id": person, "score": None, "disagree": ["eligibility"],
                         "eligibility": verdict.as_dict()}], kind=kind)
        held[kind] = held.get(kind, 0) + 1
    if held:
        conn.execute("delete from linked l where exists (select 1 from ops.review_item r where r.load_id = %s "
                     "and r.line_no = l.line_no and r.status = 'open')", (load_id,))
    return held


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
                              and s.exam_date = l.screening_exam_date and {needing})
        """.format(needing=vocabulary.needing_detailed_exam("s")), vocabulary.needing_detailed_exam_params()).fetchall()
    for line_no, person in orphans:
        send_to_review(
            conn, load_id, line_no, "seiken",
            "no 要精検 screening of this person, exam type and screening date to follow up",
            [{"addressee_id": person, "score": None, "disagree": ["screening"]}], kind="orphan")
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
                               and s.exam_date = l.screening_exam_date and {needing}
        """.format(needing=vocabulary.needing_detailed_exam("s")), vocabulary.needing_detailed_exam_params())
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


def return_record(conn: psycopg.Connection, load_id: int, line_no: int, field: str, reason: str) -> None:
    """A linked record that promotion cannot use goes back to the clinic."""
    conn.execute("update ops.record_match set outcome = 'returned', addressee_id = null where load_id = %s "
                 "and line_no = %s", (load_id, line_no))
    conn.execute("insert into ops.quarantine (load_id, line_no, field, reason) values (%s, %s, %s, %s)",
                 (load_id, line_no, field, reason))


def send_to_review(conn: psycopg.Connection, load_id: int, line_no: int, source: str, reason: str,
                   candidates: list[dict], *, kind: str = "identity") -> None:
    """A linked record that promotion cannot place goes to the review queue
    (`kind`: which check sent it, ops.review_item.kind)."""
    conn.execute("update ops.record_match set outcome = 'review', addressee_id = null where load_id = %s "
                 "and line_no = %s", (load_id, line_no))
    conn.execute(
        """insert into ops.review_item (load_id, line_no, source, reason, candidates, kind)
           values (%s, %s, %s, %s, %s, %s)
           on conflict (load_id, line_no) do update
              set reason = excluded.reason, candidates = excluded.candidates, kind = excluded.kind, status = 'open',
                  linked_addressee_id = null, decided_by = null, decided_at = null, decision_reason = null""",
        (load_id, line_no, source, reason, json.dumps(candidates), kind))
