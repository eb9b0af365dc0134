"""Letters to residents (通知): vouchers, invitations and detailed-exam follow-ups.

Kinds (LAYOUTS.md §8), all dates and counts in `include/config/notices.yaml`:

- `VOUCHER` (受診券 / 無料クーポン) on the fiscal year's send day, to the targets
  of the voucher exam types (coupons only at their ages);
- `INVITE` (受診勧奨) mid-year, to targets not yet screened within the interval
  (HPV単独法: the follow-up HPV test a fiscal year after an HPV-positive,
  triage-negative result is one of them, programmes.yaml `followup_test`);
- `FOLLOWUP` (精検受診勧奨), N days after a 要精検 screening (per exam type, the
  seed detailed_exam_criteria.csv) with no attended detailed-exam outcome;
  `FOLLOWUP2` (精検再勧奨) M days after that letter if still none (a reported
  未受診, outcome 5, is exactly who the second letter is for).

Who gets a yearly letter is exactly who `kenshin eligible` says is a target
(kenshin.programmes.eligibility, the whole history), then the letter's own
filters (`ages` read on its `age_basis`); the notice history (core.notice_cause)
excludes who already had the letter for the same cause. Protection-flagged
persons (DV etc.) never go on the print vendor's list: their letters are
recorded with delivery 'manual' and listed for staff to handle by hand.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

import psycopg

from kenshin.letters import vouchers
from kenshin.platform import config, memory, vocabulary
from kenshin.programmes import eligibility
from kenshin.programmes import rules as programmes
from kenshin.programmes.voucher_numbers import VoucherError

log = logging.getLogger(__name__)



@dataclass
class Letter:
    """One letter to one person: the causes it answers (one per exam type of a
    fiscal year, or one per 要精検 screening)."""

    addressee_id: str
    exam_types: list[str]
    causes: list[tuple[str, int | None]]          # (cause, screening id)
    deadline: dt.date


@dataclass
class Batch:
    """The letters of one kind for one day."""

    kind: str
    as_of: dt.date
    letters: list[Letter] = field(default_factory=list)
    suffix: str | None = None          # a batch of its own on the day (a voucher reissue)

    @property
    def name(self) -> str:
        return f"{self.as_of:%Y%m%d}_{self.kind}" + (f"_{self.suffix}" if self.suffix else "")


def policy() -> dict:
    return config.load("notices")


def _month_day(fy: int, month_day: str) -> dt.date:
    """The day `MM-DD` of fiscal year `fy`."""
    month, day = (int(x) for x in month_day.split("-"))
    start = programmes.fiscal_year_start(fy)
    return dt.date(fy if month >= start.month else fy + 1, month, day)


def send_day(kind: str, as_of: dt.date) -> dt.date | None:
    """The configured send day of a yearly kind in `as_of`'s fiscal year (None for follow-ups)."""
    rule = policy()["kinds"][kind]
    return _month_day(programmes.fiscal_year(as_of), rule["send_on"]) if "send_on" in rule else None


def due(kind: str, day: dt.date) -> str | None:
    """None when `kind` runs on `day`, else why not. Follow-ups run every day; a
    yearly kind on its send day, and VOUCHER also every `mid_year_every_days`
    after it, for whoever became a target since (a move-in, a new
    public-assistance recipient: 年度途中の発行)."""
    start = send_day(kind, day)
    if start is None or start == day:
        return None
    every = policy()["kinds"][kind].get("mid_year_every_days")
    if every and day > start and (day - start).days % int(every) == 0:
        return None
    return f"{kind} is sent on {start.isoformat()}" + (f" and every {every} days after" if every else "")


def select(conn: psycopg.Connection, kind: str, as_of: dt.date) -> Batch:
    """The letters of `kind` due on `as_of` that nobody has had yet for the same cause."""
    if kind not in vocabulary.notice_kinds():
        raise ValueError(f"unknown notice kind {kind!r}; one of {', '.join(vocabulary.notice_kinds())}")
    rule = policy()["kinds"][kind]
    batch = Batch(kind, as_of)
    if kind in ("VOUCHER", "INVITE"):
        with memory.acyclic_bulk():
            batch.letters = list(_yearly(conn, kind, rule, as_of))
    elif kind == "FOLLOWUP" or policy()["max_followups"] >= 2:
        batch.letters = list(_followups(conn, kind, rule, as_of))
    return batch


def _sent_causes(conn: psycopg.Connection, kind: str, prefix: str) -> set[tuple[str, str]]:
    return set(conn.execute("select addressee_id, cause from core.notice_cause where kind = %s and cause like %s",
                            (kind, prefix + "%")).fetchall())


AGE_BASES = ("fiscal_year_age", "fiscal_year_start")


def letter_rules(kind: str) -> dict[str, dict]:
    """Exam type → the letter's own filters (ages, age_basis, only) for a yearly
    kind, checked: a wrong key stops the run naming it (notices.yaml)."""
    rules = programmes.exam_types()
    out = {}
    for code, opts in (policy()["kinds"][kind].get("exam_types") or {}).items():
        opts = dict(opts or {})
        where = f"notices.yaml: kinds.{kind}.exam_types.{code}"
        if code not in rules:
            raise programmes.PolicyError(f"{where}: not an exam type of programmes.yaml")
        unknown = set(opts) - {"ages", "age_basis", "only"}
        if unknown:
            raise programmes.PolicyError(f"{where}: unknown key {', '.join(sorted(unknown))}")
        if opts.setdefault("age_basis", AGE_BASES[0]) not in AGE_BASES:
            raise programmes.PolicyError(f"{where}.age_basis: one of {', '.join(AGE_BASES)}")
        if opts.get("only") not in (None, eligibility.FOLLOWUP_TEST):
            raise programmes.PolicyError(f"{where}.only: {eligibility.FOLLOWUP_TEST} or absent")
        if not all(isinstance(a, int) for a in opts.get("ages") or ()):
            raise programmes.PolicyError(f"{where}.ages: a list of ages")
        out[code] = opts
    return out


def letter_age(opts: dict, rule: programmes.ExamType, birth: dt.date, as_of: dt.date) -> int:
    """The age a letter's `ages` are read in: 年度年齢 of the programme, or the
    age on the first day of the fiscal year (the national coupon rule)."""
    if opts["age_basis"] == "fiscal_year_start":
        return programmes.age_at_fiscal_year_start(birth, as_of)
    return rule.age(birth, as_of)


def letter_filter(opts: dict, rule: programmes.ExamType, person: eligibility.Person, verdict: eligibility.Verdict,
                  as_of: dt.date) -> str | None:
    """Why a target of the exam type gets no letter of this kind for it (None: they do)."""
    if opts.get("ages") and letter_age(opts, rule, person.birth_date, as_of) not in opts["ages"]:
        return "age"
    if opts.get("only") and verdict.rule != opts["only"]:
        return opts["only"]
    return None


def _yearly(conn: psycopg.Connection, kind: str, rule: dict, as_of: dt.date) -> Iterator[Letter]:
    """The same decision as `kenshin eligible` (the whole history, every rule),
    then the letter's own filters."""
    rules = programmes.exam_types()
    wanted = letter_rules(kind)
    judged = {code: rules[code] for code in wanted}
    fy = programmes.fiscal_year(as_of)
    deadline = _month_day(fy, rule["deadline"])
    sent = _sent_causes(conn, kind, f"FY{fy}:")
    for person, verdicts in eligibility.decisions(eligibility.people(conn, as_of), as_of, judged):
        if person.status != vocabulary.RESIDENT:
            continue
        codes = [c for c, v in verdicts.items()
                 if v.target and letter_filter(wanted[c], rules[c], person, v, as_of) is None
                 and (person.addressee_id, f"FY{fy}:{c}") not in sent]
        if codes:
            yield Letter(person.addressee_id, codes, [(f"FY{fy}:{c}", None) for c in codes], deadline)


_FOLLOWUP = """
select s.addressee_id, s.exam_type, s.screening_id
  from core.screening s
  join core.person_version v on v.addressee_id = s.addressee_id
   and v.valid_from <= %(day)s and (v.valid_to is null or v.valid_to > %(day)s) and v.status = %(resident)s
 where {needing}
   and s.exam_date between %(oldest)s and %(latest)s
   -- an attended outcome ends the reminders; a reported 未受診 (5) does not
   and not exists (select 1 from core.detailed_exam d where d.screening_id = s.screening_id
                      and d.outcome = any(%(attended)s::char(1)[]))
   and not exists (select 1 from core.notice_cause c
                    where c.kind = %(kind)s and c.addressee_id = s.addressee_id
                      and c.cause = 'screening:' || s.screening_id)
   {previous}
 order by s.addressee_id, s.screening_id
"""

_AFTER_FIRST = """
   and exists (select 1 from core.notice_cause c join core.notice n using (notice_id)
                where c.kind = 'FOLLOWUP' and c.screening_id = s.screening_id and n.as_of <= %(first_by)s)
"""


def _followups(conn: psycopg.Connection, kind: str, rule: dict, as_of: dt.date) -> Iterator[Letter]:
    first = policy()["kinds"]["FOLLOWUP"]
    params = {"day": as_of, "kind": kind, "resident": vocabulary.RESIDENT,
              **vocabulary.needing_detailed_exam_params(), "attended": sorted(vocabulary.attended_outcomes()),
              "latest": as_of - dt.timedelta(days=first["days_after_exam"]),
              "oldest": as_of - dt.timedelta(days=first["max_days_after_exam"])}
    previous = ""
    if kind == "FOLLOWUP2":
        params["first_by"] = as_of - dt.timedelta(days=rule["days_after_previous"])
        previous = _AFTER_FIRST
    deadline = as_of + dt.timedelta(days=rule["deadline_days"])
    letter: Letter | None = None
    for aid, exam_type, sid in conn.execute(_FOLLOWUP.format(previous=previous, needing=vocabulary.needing_detailed_exam("s")), params):
        if letter is None or letter.addressee_id != aid:
            if letter:
                yield letter
            letter = Letter(aid, [], [], deadline)
        letter.exam_types.append(exam_type)
        letter.causes.append((f"screening:{sid}", sid))
    if letter:
        yield letter


def record(conn: psycopg.Connection, batch: Batch) -> dict[str, int]:
    """Write the batch into the notice history in one transaction; returns counts
    (bulk letters; manual letters for anyone at a protected address)."""
    fy = programmes.fiscal_year(batch.as_of)
    with conn.transaction():
        conn.execute("create temp table new_letter (seq int, addressee_id char(10), exam_types text[], "
                     "deadline date) on commit drop")
        conn.execute("create temp table new_cause (seq int, cause text, screening_id bigint) on commit drop")
        with conn.cursor().copy("copy new_letter from stdin") as copy:
            for i, letter in enumerate(batch.letters):
                copy.write_row((i, letter.addressee_id, letter.exam_types, letter.deadline))
        with conn.cursor().copy("copy new_cause from stdin") as copy:
            for i, letter in enumerate(batch.letters):
                for cause, sid in letter.causes:
                    copy.write_row((i, cause, sid))
        conn.execute(
            """
            create temp table new_notice on commit drop as
            with inserted as (
                insert into core.notice (kind, addressee_id, fiscal_year, exam_types, as_of, deadline, delivery, batch)
                select %(kind)s, l.addressee_id, %(fy)s, l.exam_types, %(day)s, l.deadline,
                       case when v.addressee_id in (select addressee_id from core.protected_address)
                            then 'manual' else 'bulk' end, %(batch)s
                  from new_letter l
                  join core.person_version v on v.addressee_id = l.addressee_id
                   and v.valid_from <= %(day)s and (v.valid_to is null or v.valid_to > %(day)s)
                 order by l.seq
                returning notice_id, addressee_id
            )
            select notice_id, addressee_id from inserted
            """, {"kind": batch.kind, "fy": fy, "day": batch.as_of, "batch": batch.name})
        conn.execute(
            """
            insert into core.notice_cause (notice_id, kind, addressee_id, cause, screening_id)
            select n.notice_id, %(kind)s, l.addressee_id, c.cause, c.screening_id
              from new_letter l
              join new_cause c using (seq)
              join new_notice n using (addressee_id)
            """, {"kind": batch.kind})
        counts = dict(conn.execute("select n.delivery, count(*) from core.notice n join new_notice using (notice_id) "
                                   "group by n.delivery").fetchall())
        issued = 0
        if batch.kind == "VOUCHER":
            issued = vouchers.issue(conn, conn.execute(
                "select n.notice_id, n.addressee_id, n.fiscal_year, n.exam_types from core.notice n "
                "join new_notice using (notice_id) order by n.notice_id").fetchall(), batch.as_of)
    return {"bulk": counts.get("bulk", 0), "manual": counts.get("manual", 0), "vouchers": issued}


def run(kind: str, as_of: dt.date, *, dry_run: bool = False, encoding: str | None = None,
        url: str | None = None) -> dict:
    """Select, record and write one kind's letters for `as_of`. A dry run records
    nothing and writes no file: it reports the counts a real run would."""
    from kenshin.letters import print_files as letters
    from kenshin.platform import db

    with db.connect(url) as conn:
        batch = select(conn, kind, as_of)
        counts = record(conn, batch)
        # selection and record are one transaction: kept, or for a dry run undone
        conn.rollback() if dry_run else conn.commit()
        result = {"kind": kind, "as_of": as_of.isoformat(), "batch": batch.name, "dry_run": dry_run,
                  "letters": len(batch.letters), **counts,
                  "causes": sum(len(letter.causes) for letter in batch.letters)}
        if not dry_run:
            paths = letters.write_batch(conn, batch.name, encoding=encoding)
            result["files"] = {k: str(p) for k, p in paths.items()}
    log.info("notices %s for %s: %d letters (%d bulk, %d manual)%s", kind, as_of, result["letters"],
             counts["bulk"], counts["manual"], " (dry run)" if dry_run else "")
    return result


STAFF_ID = re.compile(r"[A-Za-z0-9_.-]{1,64}")


def reissue_vouchers(addressee_id: str, *, reason: str, by: str, as_of: dt.date, url: str | None = None) -> dict:
    """Void the person's vouchers of `as_of`'s fiscal year and issue new numbers
    for the same exam types, on a VOUCHER letter of their own (the batch
    `YYYYMMDD_VOUCHER_reissue`), in one transaction."""
    from kenshin.letters import print_files as letters
    from kenshin.platform import db

    if not re.fullmatch(r"[0-9]{10}", addressee_id or ""):
        raise VoucherError("the addressee id must be 10 digits")
    if not STAFF_ID.fullmatch(by or ""):
        raise VoucherError("--by must be a staff id (letters, digits, . _ -)")
    if not (reason or "").strip():
        raise VoucherError("a reissue needs a reason")
    fy = programmes.fiscal_year(as_of)
    with db.connect(url) as conn:
        with conn.transaction():
            old = conn.execute(
                """select voucher_number, exam_type from core.voucher
                    where addressee_id = %s and fiscal_year = %s and voided_on is null
                    order by exam_type for update""", (addressee_id, fy)).fetchall()
            if not old:
                raise VoucherError(f"addressee {addressee_id} holds no valid voucher of FY{fy}")
            batch = Batch("VOUCHER", as_of, suffix="reissue")
            deadline = programmes.fiscal_year_start(fy + 1) - dt.timedelta(days=1)
            codes = [code for _, code in old]
            seq = conn.execute("select count(*) + 1 from core.notice_cause where addressee_id = %s "
                               "and cause like %s", (addressee_id, f"FY{fy}:reissue:%")).fetchone()[0]
            batch.letters = [Letter(addressee_id, codes, [(f"FY{fy}:reissue:{seq}:{c}", None) for c in codes],
                                    deadline)]
            record(conn, batch)
            new = dict(conn.execute(
                """select exam_type, voucher_number from core.voucher v join core.notice n using (notice_id)
                    where n.batch = %s and v.addressee_id = %s and v.voided_on is null
                      and v.voucher_number <> all(%s)""",
                (batch.name, addressee_id, [n for n, _ in old])).fetchall())
            for number_, code in old:
                conn.execute("""update core.voucher set voided_on = %s, void_reason = %s, voided_by = %s,
                                       replaced_by = %s where voucher_number = %s""",
                             (as_of, reason.strip(), by, new[code], number_))
        paths = letters.write_batch(conn, batch.name)
    return {"addressee_id": addressee_id, "fiscal_year": fy, "voided": len(old), "issued": len(new),
            "batch": batch.name, "files": {k: str(p) for k, p in paths.items()}}
