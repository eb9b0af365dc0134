"""Letters to residents (通知): vouchers, invitations and detailed-exam follow-ups.

Kinds (LAYOUTS.md §8), all dates and counts in `include/config/notices.yaml`:

- `VOUCHER` (受診券 / 無料クーポン) on the fiscal year's send day, to the targets
  of the voucher exam types (coupons only at their ages);
- `INVITE` (受診勧奨) mid-year, to targets not yet screened within the interval,
  and (HPV単独法) to the follow-up HPV test a fiscal year after an HPV-positive,
  triage-negative result;
- `FOLLOWUP` (精検受診勧奨), N days after a 要精検 screening with no detailed-exam
  outcome; `FOLLOWUP2` (精検再勧奨) M days after that letter if still none.

Eligibility (kenshin.programmes.eligibility) excludes who is not resident, deceased, moved
out or screened within the interval; the notice history (core.notice_cause)
excludes who already had the letter for the same cause. Protection-flagged
persons (DV etc.) never go on the print vendor's list: their letters are
recorded with delivery 'manual' and listed for staff to handle by hand.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field

import psycopg

from kenshin.platform import config, vocabulary
from kenshin.programmes import eligibility
from kenshin.programmes import rules as programmes

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

    @property
    def name(self) -> str:
        return f"{self.as_of:%Y%m%d}_{self.kind}"


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


def select(conn: psycopg.Connection, kind: str, as_of: dt.date) -> Batch:
    """The letters of `kind` due on `as_of` that nobody has had yet for the same cause."""
    if kind not in vocabulary.notice_kinds():
        raise ValueError(f"unknown notice kind {kind!r}; one of {', '.join(vocabulary.notice_kinds())}")
    rule = policy()["kinds"][kind]
    batch = Batch(kind, as_of)
    if kind in ("VOUCHER", "INVITE"):
        batch.letters = list(_yearly(conn, kind, rule, as_of))
        if rule.get("hpv_followup"):
            batch.letters = _merge(batch.letters, _hpv_followups(conn, rule, as_of))
    elif kind == "FOLLOWUP" or policy()["max_followups"] >= 2:
        batch.letters = list(_followups(conn, kind, rule, as_of))
    return batch


def _sent_causes(conn: psycopg.Connection, kind: str, prefix: str) -> set[tuple[str, str]]:
    return set(conn.execute("select addressee_id, cause from core.notice_cause where kind = %s and cause like %s",
                            (kind, prefix + "%")).fetchall())


def _yearly(conn: psycopg.Connection, kind: str, rule: dict, as_of: dt.date) -> Iterator[Letter]:
    rules = programmes.exam_types()
    wanted = {code: rules[code] for code in rule["exam_types"]}
    ages = {code: set(opts["ages"]) for code, opts in rule["exam_types"].items() if opts and opts.get("ages")}
    fy = programmes.fiscal_year(as_of)
    deadline = _month_day(fy, rule["deadline"])
    sent = _sent_causes(conn, kind, f"FY{fy}:")
    for person in eligibility.people(conn, as_of, rules=wanted):
        if person.status != vocabulary.RESIDENT:
            continue
        verdict = eligibility.assess(person, as_of, wanted)
        codes = [c for c, why in verdict.items() if why is None
                 and (c not in ages or wanted[c].age(person.birth_date, as_of) in ages[c])
                 and (person.addressee_id, f"FY{fy}:{c}") not in sent]
        if codes:
            yield Letter(person.addressee_id, codes, [(f"FY{fy}:{c}", None) for c in codes], deadline)


_HPV_FOLLOWUP = """
select s.addressee_id, s.screening_id
  from core.screening s
  join core.person_version v on v.addressee_id = s.addressee_id
   and v.valid_from <= %(day)s and (v.valid_to is null or v.valid_to > %(day)s) and v.status = %(resident)s
 where s.exam_type = %(exam_type)s and s.result_code = any(%(codes)s)
   and s.exam_date >= %(from)s and s.exam_date < %(to)s
   and not exists (select 1 from core.screening later
                    where later.addressee_id = s.addressee_id and later.exam_type = s.exam_type
                      and later.exam_date > s.exam_date)
   and not exists (select 1 from core.notice_cause c
                    where c.kind = 'INVITE' and c.addressee_id = s.addressee_id
                      and c.cause = 'hpv_followup:' || s.screening_id)
 order by s.addressee_id, s.screening_id
"""


def _hpv_followups(conn: psycopg.Connection, rule: dict, as_of: dt.date) -> list[Letter]:
    """HPV-positive, triage-negative (HPV単独法): the follow-up HPV test in the fiscal
    year `after_fiscal_years` after the screening, unless screened again since."""
    hpv = rule["hpv_followup"]
    fy = programmes.fiscal_year(as_of) - hpv["after_fiscal_years"]
    deadline = _month_day(programmes.fiscal_year(as_of), rule["deadline"])
    rows = conn.execute(_HPV_FOLLOWUP, {"day": as_of, "resident": vocabulary.RESIDENT, "exam_type": hpv["exam_type"], "codes": hpv["result_codes"],
                                        "from": programmes.fiscal_year_start(fy),
                                        "to": programmes.fiscal_year_start(fy + 1)}).fetchall()
    return [Letter(aid, [hpv["exam_type"]], [(f"hpv_followup:{sid}", sid)], deadline) for aid, sid in rows]


def _merge(letters: list[Letter], more: list[Letter]) -> list[Letter]:
    """One letter per person: the causes of `more` joined to the person's letter."""
    by_person = {letter.addressee_id: letter for letter in letters}
    for extra in more:
        letter = by_person.get(extra.addressee_id)
        if letter is None:
            by_person[extra.addressee_id] = letter = Letter(extra.addressee_id, [], [], extra.deadline)
            letters.append(letter)
        letter.exam_types += [t for t in extra.exam_types if t not in letter.exam_types]
        letter.causes += extra.causes
    return letters


_FOLLOWUP = """
select s.addressee_id, s.exam_type, s.screening_id
  from core.screening s
  join core.person_version v on v.addressee_id = s.addressee_id
   and v.valid_from <= %(day)s and (v.valid_to is null or v.valid_to > %(day)s) and v.status = %(resident)s
 where s.result_code = %(needs_detailed_exam)s
   and s.exam_date between %(oldest)s and %(latest)s
   and not exists (select 1 from core.detailed_exam d where d.screening_id = s.screening_id)
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
              "needs_detailed_exam": vocabulary.needs_detailed_exam(),
              "latest": as_of - dt.timedelta(days=first["days_after_exam"]),
              "oldest": as_of - dt.timedelta(days=first["max_days_after_exam"])}
    previous = ""
    if kind == "FOLLOWUP2":
        params["first_by"] = as_of - dt.timedelta(days=rule["days_after_previous"])
        previous = _AFTER_FIRST
    deadline = as_of + dt.timedelta(days=rule["deadline_days"])
    letter: Letter | None = None
    for aid, exam_type, sid in conn.execute(_FOLLOWUP.format(previous=previous), params):
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
    return {"bulk": counts.get("bulk", 0), "manual": counts.get("manual", 0)}


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
