"""The review queue (突合確認): clinic records the matcher would not decide.

Staff list the open items, look at one (the record as the clinic sent it and
each candidate as the ledger knew them on the exam date, with the score and the
fields that disagree), and decide: link to an addressee, or reject with a
reason (the record then goes on the clinic's return list). A decision records
who and when, and a linked record is promoted exactly like an automatic link,
in the same transaction as the decision.
"""

from __future__ import annotations

import re
from typing import Any

import psycopg

from kenshin.ledger.screenings import promote_detailed_exams, promote_screenings
from kenshin.platform import db

STAFF_ID = re.compile(r"[A-Za-z0-9_.-]{1,64}")


class ReviewError(Exception):
    """A decision that cannot be made (the message names the item, never a person's data)."""


def list_open(limit: int = 100, *, url: str | None = None) -> list[dict[str, Any]]:
    with db.connect(url) as conn:
        rows = conn.execute(
            """select r.review_id, m.file_name, r.line_no, r.source, r.reason,
                      jsonb_array_length(r.candidates), r.created_at
                 from ops.review_item r join ops.load_manifest m using (load_id)
                where r.status = 'open' order by r.review_id limit %s""", (limit,)).fetchall()
    keys = ("review_id", "file", "line_no", "source", "reason", "candidates", "created_at")
    return [dict(zip(keys, r, strict=True)) for r in rows]


_RECORD_KEYS = ("name_kana", "name_kanji", "sex", "birth_date", "postal_code", "address", "exam_type",
                "exam_date", "addressee_id", "voucher_number", "withheld")
_ITEM_KEYS = ("review_id", "file", "line_no", "source", "reason", "candidates", "status", "linked_addressee_id",
              "decided_by", "decided_at", "decision_reason")
_PERSON_KEYS = ("name_kanji", "name_kana", "sex", "birth_date", "postal_code", "address", "status")
PURPOSE = "review_queue"   # audit.yaml purposes: 突合確認


def show(review_id: int, by: str | None = None, *, url: str | None = None) -> dict[str, Any]:
    """One item: the record and its candidates as of the exam date, read as
    staff (kenshin_staff, purpose: the review queue), so that the clinic's
    record and every candidate shown are in the access log. Where the record,
    a candidate or the linked person is at a protected address
    (core.protected_address), names and addresses are shown only to
    kenshin_protection (`withheld` says so)."""
    with db.connect(url, role="kenshin_staff", user=by, purpose=PURPOSE) as conn:
        row = conn.execute("select * from staff.review_record(%s)", (review_id,)).fetchone()
        if row is None:
            raise ReviewError(f"review item {review_id} does not exist")
        item = dict(zip(_ITEM_KEYS, row[:len(_ITEM_KEYS)], strict=True))
        record = dict(zip(_RECORD_KEYS, row[len(_ITEM_KEYS):], strict=True))
        people = []
        for c in item.pop("candidates"):
            v = conn.execute(
                """select name_kanji, name_kana, sex, birth_date, postal_code, address, status
                     from staff.person where addressee_id = %s
                      and valid_from <= %s order by valid_from desc limit 1""",
                (c["addressee_id"], record["exam_date"])).fetchone() or conn.execute(
                """select name_kanji, name_kana, sex, birth_date, postal_code, address, status
                     from staff.person where addressee_id = %s order by valid_from limit 1""",
                (c["addressee_id"],)).fetchone()
            people.append({**c, **(dict(zip(_PERSON_KEYS, v, strict=True)) if v else {})})
        conn.commit()   # the access log's rows
    return {**item, "record": record, "candidates": people}


# Items the intake eligibility check sent (対象外受診, 重複受診): linking one is the
# staff member's decision that the city accepts (and pays for) the screening.
ELIGIBILITY_KINDS = {"not_a_target": "対象外受診", "repeat_in_fiscal_year": "重複受診"}


def decide(review_id: int, *, by: str, link: str | None = None, reject_reason: str | None = None,
           reason: str | None = None, url: str | None = None) -> dict[str, Any]:
    """Link the item's record to `link` (with an optional `reason`, recorded), or
    reject it with `reject_reason`."""
    if not STAFF_ID.fullmatch(by or ""):
        raise ReviewError("--by must be a staff id (letters, digits, . _ -)")
    if (link is None) == (reject_reason is None):
        raise ReviewError("give either a link (addressee id) or a reject reason")
    if link is not None and not re.fullmatch(r"[0-9]{10}", link):
        raise ReviewError("the addressee id to link must be 10 digits")
    if reject_reason is not None and not reject_reason.strip():
        raise ReviewError("a rejection needs a reason")
    with db.connect(url) as conn:
        with conn.transaction():
            item = conn.execute(
                """select r.load_id, r.line_no, r.source, r.status, m.sender, r.kind
                     from ops.review_item r join ops.load_manifest m using (load_id)
                    where r.review_id = %s for update of r""", (review_id,)).fetchone()
            if item is None:
                raise ReviewError(f"review item {review_id} does not exist")
            load_id, line_no, source, status, clinic, kind = item
            if status != "open":
                raise ReviewError(f"review item {review_id} is already decided ({status})")
            if link is not None:
                outcome = _link(conn, review_id, load_id, line_no, source, clinic, link, by,
                                checked=kind in ELIGIBILITY_KINDS, reason=reason)
            else:
                _reject(conn, review_id, load_id, line_no, reject_reason.strip(), by,
                        field="eligibility" if kind in ELIGIBILITY_KINDS else "identity",
                        check=ELIGIBILITY_KINDS.get(kind))
                outcome = "rejected"
        from kenshin.matching.return_lists import write_return_list

        write_return_list(conn, load_id)
    return {"review_id": review_id, "decision": outcome, "by": by}


def _link(conn: psycopg.Connection, review_id: int, load_id: int, line_no: int, source: str, clinic: str,
          addressee_id: str, by: str, *, checked: bool = False, reason: str | None = None) -> str:
    if conn.execute("select 1 from core.person where addressee_id = %s", (addressee_id,)).fetchone() is None:
        raise ReviewError(f"review item {review_id}: the addressee id given is not in the person ledger")
    conn.execute(
        """update ops.review_item set status = 'linked', linked_addressee_id = %s, decided_by = %s,
                  decided_at = now(), decision_reason = %s where review_id = %s""",
        (addressee_id, by, (reason or "").strip() or None, review_id))
    conn.execute(
        """update ops.record_match set outcome = 'linked', addressee_id = %s, method = 'review',
                  score = null, margin = null, decided_at = now() where load_id = %s and line_no = %s""",
        (addressee_id, load_id, line_no))
    if source == "kenshin":
        # an eligibility item was checked already: the staff member's link is the decision
        counts = promote_screenings(conn, load_id, clinic, by, lines=[line_no], check_targets=not checked)
    else:
        counts = promote_detailed_exams(conn, load_id, clinic, by, lines=[line_no])
    if counts.get("not_a_target_review") or counts.get("repeat_review"):
        # the identity is decided; the person was not a target on the exam date:
        # the same item waits again, now for the eligibility decision
        return "review"
    if counts.get("orphans_review") or counts.get("returned_duplicates"):
        raise ReviewError(f"review item {review_id}: that person has no 要精検 screening of this exam type "
                          "and date to attach the outcome to" if counts.get("orphans_review") else
                          f"review item {review_id}: the person already has this record from this file")
    conn.execute("update ops.load_manifest set rows_loaded = rows_loaded + 1, rows_review = rows_review - 1 "
                 "where load_id = %s", (load_id,))
    return "linked"


def _reject(conn: psycopg.Connection, review_id: int, load_id: int, line_no: int, reason: str, by: str, *,
            field: str = "identity", check: str | None = None) -> None:
    conn.execute(
        """update ops.review_item set status = 'rejected', decided_by = %s, decided_at = now(),
                  decision_reason = %s where review_id = %s""", (by, reason, review_id))
    conn.execute("update ops.record_match set outcome = 'returned', decided_at = now() "
                 "where load_id = %s and line_no = %s", (load_id, line_no))
    conn.execute("insert into ops.quarantine (load_id, line_no, field, reason) values (%s, %s, %s, %s)",
                 (load_id, line_no, field, f"rejected at review{f' ({check})' if check else ''}: {reason}"))
    conn.execute("update ops.load_manifest set rows_quarantined = rows_quarantined + 1, "
                 "rows_review = rows_review - 1 where load_id = %s", (load_id,))
