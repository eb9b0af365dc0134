"""Person matching (情報の突合): which resident a clinic record belongs to.

DOMAIN.md "Matching people". Every accepted record of a clinic file gets one
of three outcomes, written to `ops.record_match`:

- linked: to one addressee, by a confirmed identifier (addressee id or voucher
  number, confirmed by birth date, sex and a name check) or by a probabilistic
  score above the link threshold with a clear margin over the next candidate;
- review: a person must decide (`ops.review_item`, with the top candidates,
  their scores and the fields that disagree);
- returned: no candidate is good enough; back to the clinic with the reason
  (`ops.quarantine`, field `identity`).

Scoring is Fellegi–Sunter: each comparison has levels with m and u
probabilities (`include/config/matching.yaml`), a level's weight is
log2(m/u), a candidate's score is the sum. Candidates are the person versions
valid on the exam date (history: a person who moved is compared with the
address they had then, and an earlier address counts as evidence of its own),
found through blocking keys (birth date or month/day swapped + sex, kana name,
kanji name + sex, and any identifier given), so a month of records is a few
indexed joins against 1.56M people, computed set-based in PostgreSQL
(`fuzzystrmatch` for edit distances).
"""

from __future__ import annotations

import json
import logging
import math
import time
from dataclasses import dataclass
from typing import Any, NamedTuple

import psycopg
from psycopg.rows import class_row

from kenshin.platform import config, vocabulary

log = logging.getLogger(__name__)

IDENTITY_FIELDS = ("name_kana", "name_kanji", "birth_date", "sex", "postal_code", "address")
# Levels that confirm a name: an identifier given on the record is confirmed
# only with the kana or the kanji name this close.
NAME_CONFIRMS = ("exact", "one_edit")


class Candidate(NamedTuple):
    """One scored candidate of a record: the person version valid on the exam
    date, its score and the comparison level of each identity field (None: a
    side is missing)."""

    line_no: int
    addressee_id: str
    status: int
    score: float
    name_kana: str | None
    name_kanji: str | None
    birth_date: str | None
    sex: str | None
    postal_code: str | None
    address: str | None

    @property
    def levels(self) -> dict[str, str | None]:
        return {f: getattr(self, f) for f in IDENTITY_FIELDS}

    @property
    def disagree(self) -> list[str]:
        """The identity fields compared and not equal."""
        return [f for f, level in self.levels.items() if level not in (None, "exact")]

    @property
    def resident(self) -> bool:
        # the only status a record links to automatically
        return self.status == vocabulary.RESIDENT


@dataclass(frozen=True)
class RecordKind:
    """How a source's accepted records map onto the matcher's inputs."""

    source: str
    view: str
    as_of: str               # the date whose person version counts
    has_address: bool
    has_voucher: bool


KENSHIN = RecordKind("kenshin", "landing.kenshin_accepted", "exam_date", has_address=True, has_voucher=True)
SEIKEN = RecordKind("seiken", "landing.seiken_accepted", "screening_exam_date", has_address=False,
                    has_voucher=False)

# Levels as SQL over a record r and a candidate version v (null = comparison missing).
_LEVELS = {
    "name_kana": """case when r.kana is null then null
                         when v.name_kana_key = r.kana then 'exact'
                         when extensions.levenshtein_less_equal(v.name_kana_key, r.kana, 2) = 1 then 'one_edit'
                         when extensions.levenshtein_less_equal(v.name_kana_key, r.kana, 2) = 2 then 'two_edits'
                         else 'different' end""",
    "name_kanji": """case when r.kanji is null then null
                          when v.name_kanji_key = r.kanji then 'exact'
                          when extensions.levenshtein_less_equal(v.name_kanji_key, r.kanji, 1) = 1 then 'one_edit'
                          else 'different' end""",
    "birth_date": """case when v.birth_date = r.birth then 'exact'
                          when v.birth_date = r.birth_swapped then 'month_day_swapped'
                          when extensions.levenshtein(to_char(v.birth_date, 'YYYYMMDD'),
                                                      to_char(r.birth, 'YYYYMMDD')) = 1 then 'one_digit'
                          else 'different' end""",
    "sex": "case when v.sex = r.sex then 'exact' else 'different' end",
    "postal_code": """case when r.postal is null then null
                           when v.postal_code = r.postal then 'exact' else 'different' end""",
    "address": """case when r.addr is null then null
                       when v.address_key = r.addr then 'exact'
                       -- an earlier address is looked up only where name and birth date
                       -- already agree: it is evidence for the right person, and a lookup
                       -- per pair would dominate the cost of scoring a block of strangers
                       when (v.name_kana_key = r.kana or v.name_kanji_key = r.kanji)
                            and v.birth_date in (r.birth, r.birth_swapped)
                            and exists (select 1 from core.person_version p
                                     where p.addressee_id = v.addressee_id and p.address_key = r.addr
                                       and p.valid_to <= r.as_of
                                       and p.valid_to > r.as_of - %(previous_days)s::int) then 'previous'
                       when r.town <> '' and v.address_key like r.town || '%%' then 'same_town'
                       else 'different' end""",
}


def weights() -> dict[str, dict[str, float]]:
    """log2(m/u) per comparison and level, from the configuration."""
    comparisons = config.load("matching")["comparisons"]
    return {c: {level: math.log2(p["m"] / p["u"]) for level, p in levels.items()}
            for c, levels in comparisons.items()}


def _score_sql(kind: RecordKind) -> str:
    parts = []
    for comparison, levels in weights().items():
        if comparison in ("postal_code", "address") and not kind.has_address:
            continue
        cases = " ".join(f"when '{level}' then {w:.6f}" for level, w in levels.items())
        parts.append(f"coalesce(case {comparison} {cases} end, 0)")
    return " + ".join(parts)


def _ledger_start(conn: psycopg.Connection) -> Any:
    # Before the first full snapshot the ledger knows nobody's history: an exam
    # of that time is compared with the first version the ledger holds.
    return conn.execute(
        "select min(file_date) from ops.load_manifest where source = 'jumin' and status = 'loaded'"
    ).fetchone()[0]


def _records(conn: psycopg.Connection, load_id: int, kind: RecordKind, lines: list[int] | None) -> int:
    address = ("postal_code as postal, address_key as addr, coalesce(substring(address_key from '^[^0-9]*'), '') "
               "as town" if kind.has_address else "null::char(8) as postal, null::text as addr, ''::text as town")
    voucher = "voucher_number" if kind.has_voucher else "null::char(12)"
    conn.execute("drop table if exists m_rec, m_cand, m_scored")
    conn.execute(
        f"""
        create temp table m_rec on commit drop as
        select line_no, addressee_id, {voucher} as voucher_number, name_kana_key as kana,
               name_kanji_key as kanji, sex, birth_date as birth,
               case when extract(day from birth_date) <= 12 and extract(day from birth_date)
                         <> extract(month from birth_date)
                    then make_date(extract(year from birth_date)::int, extract(day from birth_date)::int,
                                   extract(month from birth_date)::int) end as birth_swapped,
               {address},
               greatest({kind.as_of}, coalesce(%(start)s::date, {kind.as_of})) as as_of
          from {kind.view}
         where load_id = %(load)s and (%(lines)s::int[] is null or line_no = any(%(lines)s::int[]))
        """, {"load": load_id, "lines": lines, "start": _ledger_start(conn)})
    # The person an identifier on the record points to: kept among the
    # candidates whatever it scores, so that it is confirmed or disputed.
    conn.execute("alter table m_rec add column identified char(10)")
    conn.execute(
        """update m_rec r set identified = coalesce(r.addressee_id, x.addressee_id)
             from (select r2.line_no, x2.addressee_id from m_rec r2
                     left join core.voucher x2 on x2.voucher_number = r2.voucher_number) x
            where x.line_no = r.line_no and (r.addressee_id is not null or r.voucher_number is not null)""")
    conn.execute("analyze m_rec")
    return conn.execute("select count(*) from m_rec").fetchone()[0]


_VALID = "v.valid_from <= r.as_of and (v.valid_to is null or v.valid_to > r.as_of)"


# Blocking keys (DOMAIN.md "Matching people"): a record is compared with every
# person version, valid on its date, that shares one of these with it.
# Each block keeps only the people who share something else with the record
# (a block of one birth date and sex holds ~28 people in a city of 1.56M, one
# common kana name ~9): the rest could never score as a candidate. A one-kana
# typo leaves the first or the last two kana intact; a one-digit typo in a
# birth date leaves its year or its month and day.
_SHARES_A_NAME_OR_PLACE = """(left(v.name_kana_key, 2) = left(r.kana, 2) or right(v.name_kana_key, 2) = right(r.kana, 2)
                   or v.name_kanji_key = r.kanji or v.postal_code = r.postal or v.address_key = r.addr)"""
_SHARES_A_DATE_OR_PLACE = """(date_part('year', v.birth_date) = date_part('year', r.birth)
                   or to_char(v.birth_date, 'MMDD') = to_char(r.birth, 'MMDD') or v.birth_date = r.birth_swapped
                   or v.postal_code = r.postal or v.address_key = r.addr)"""
BLOCKING_KEYS = (
    f"v.birth_date = r.birth and v.sex = r.sex and {_SHARES_A_NAME_OR_PLACE}",
    f"v.birth_date = r.birth_swapped and v.sex = r.sex and {_SHARES_A_NAME_OR_PLACE}",  # month and day swapped
    f"v.name_kana_key = r.kana and v.sex = r.sex and {_SHARES_A_DATE_OR_PLACE}",       # a birth-date typo
    f"v.name_kanji_key = r.kanji and v.sex = r.sex and {_SHARES_A_DATE_OR_PLACE}",
    "v.addressee_id = r.identified",                        # an identifier given, to confirm it
)


def _candidates(conn: psycopg.Connection, kind: RecordKind) -> None:
    """Blocking: person versions valid on the record's date sharing a key."""
    union = "\nunion\n".join(
        f"select r.line_no, v.version_id from m_rec r join core.person_version v on {key} and {_VALID}"
        for key in BLOCKING_KEYS)
    conn.execute(f"create temp table m_cand on commit drop as {union}")
    conn.execute("analyze m_cand")


def _score(conn: psycopg.Connection, kind: RecordKind) -> list[Candidate]:
    settings = config.load("matching")
    levels = ",\n".join(f"{sql} as {name}" for name, sql in _LEVELS.items()
                        if kind.has_address or name not in ("postal_code", "address"))
    no_address = "" if kind.has_address else "null::text as postal_code, null::text as address,"
    conn.execute(
        f"""
        create temp table m_scored on commit drop as
        select s.*, round(({_score_sql(kind)})::numeric, 2) as score
          from (select c.line_no, v.addressee_id, v.status, {no_address}
                       {levels}
                  from m_cand c join m_rec r using (line_no) join core.person_version v using (version_id)
                offset 0) s  -- levels computed once, not again inside the score expression
        """, {"previous_days": int(settings["previous_address_days"])})
    return conn.cursor(row_factory=class_row(Candidate)).execute(
        """
        select line_no, addressee_id, status, score::float8 as score,
               name_kana, name_kanji, birth_date, sex, postal_code, address
          from (select s.*, r.identified,
                       row_number() over (partition by s.line_no order by s.score desc, s.addressee_id) as rk
                  from m_scored s join m_rec r using (line_no)) t
         where rk <= %(k)s or addressee_id = identified
         order by line_no, rk
        """, {"k": max(2, int(settings["review_candidates"]))}).fetchall()


@dataclass
class Decision:
    line_no: int
    outcome: str                  # linked | review | returned
    addressee_id: str | None = None
    method: str | None = None
    score: float | None = None
    margin: float | None = None
    reason: str | None = None
    candidates: list[dict] | None = None


def _confirms_identifier(c: Candidate) -> bool:
    """Birth date and sex exact and one name close: what an identifier needs."""
    return (c.birth_date == "exact" and c.sex == "exact"
            and (c.name_kana in NAME_CONFIRMS or c.name_kanji in NAME_CONFIRMS))


def decide(line_no: int, given: tuple[str | None, str | None], candidates: list[Candidate],
           identified: str | None, settings: dict[str, Any]) -> Decision:
    """The outcome of one record from its scored candidates (best first).

    `identified` is the addressee an identifier on the record points to (the
    addressee id, or the voucher's holder); it must be confirmed, never trusted."""
    keep = int(settings["review_candidates"])
    listed = [{"addressee_id": c.addressee_id, "score": float(c.score), "disagree": c.disagree}
              for i, c in enumerate(candidates) if i < keep or c.addressee_id == identified]
    if identified is not None:
        method = "addressee_id" if given[0] else "voucher"
        row = next((c for c in candidates if c.addressee_id == identified), None)
        if row is None:
            what = method.replace("_", " ")
            return Decision(line_no, "review", method=method, candidates=listed,
                            reason=f"the {what} given names nobody in the ledger on the exam date")
        if _confirms_identifier(row):
            if not row.resident:
                return Decision(line_no, "review", method=method, candidates=listed,
                                reason="the person was not a resident on the exam date")
            return Decision(line_no, "linked", identified, method, float(row.score))
        fields = ", ".join(row.disagree) or "name"
        return Decision(line_no, "review", method=method, candidates=listed,
                        reason=f"the {method.replace('_', ' ')} given is not confirmed: {fields} disagree")
    if not candidates:
        return Decision(line_no, "returned", reason="no resident matches name, birth date and sex")
    best = candidates[0]
    score = float(best.score)
    margin = score - float(candidates[1].score) if len(candidates) > 1 else None
    clear = margin is None or margin >= float(settings["min_margin"])
    levels = best.levels
    unmet = [f for f, allowed in settings.get("link_requires", {}).items() if levels.get(f) not in allowed]
    if score >= float(settings["link_score"]) and clear and best.resident and not unmet:
        return Decision(line_no, "linked", best.addressee_id, "probabilistic", score, margin)
    if score >= float(settings["review_score"]):
        if not best.resident and score >= float(settings["link_score"]):
            reason = "the best candidate was not a resident on the exam date"
        elif unmet and score >= float(settings["link_score"]):
            reason = f"the best candidate's {', '.join(unmet)} disagrees"
        elif score >= float(settings["link_score"]):
            reason = "two candidates score too close to tell apart"
        else:
            reason = "the best candidate's score is between the review and link thresholds"
        return Decision(line_no, "review", score=score, margin=margin, candidates=listed, reason=reason)
    return Decision(line_no, "returned", score=score,
                    reason="no resident matches name, birth date and sex well enough")


def match_load(conn: psycopg.Connection, load_id: int, kind: RecordKind,
               lines: list[int] | None = None) -> dict[str, int]:
    """Match the accepted records of a load (inside the promotion transaction)
    and write their outcomes; returns counts per outcome."""
    settings = config.load("matching")
    started = time.monotonic()
    n = _records(conn, load_id, kind, lines)
    # A month's file is a few hundred records against 1.56M person versions:
    # index lookups per record always win, but for a file of a thousand records
    # the planner's estimates tip blocking to hash joins over the whole ledger
    # (5x slower). Only for the blocking statement, inside this transaction.
    conn.execute("set local enable_hashjoin = off")
    conn.execute("set local enable_mergejoin = off")
    _candidates(conn, kind)
    conn.execute("set local enable_hashjoin = on")
    conn.execute("set local enable_mergejoin = on")
    scored = _score(conn, kind)
    by_line: dict[int, list[Candidate]] = {}
    for candidate in scored:
        by_line.setdefault(candidate.line_no, []).append(candidate)
    records = conn.execute("select line_no, addressee_id, voucher_number, identified from m_rec "
                           "order by line_no").fetchall()
    decisions = [decide(line, (aid, voucher), by_line.get(line, []), identified, settings)
                 for line, aid, voucher, identified in records]
    _write(conn, load_id, kind, decisions)
    counts = {"linked": 0, "review": 0, "returned": 0}
    for d in decisions:
        counts[d.outcome] += 1
    log.info("matched load=%s records=%s linked=%s review=%s returned=%s", load_id, n, counts["linked"],
             counts["review"], counts["returned"])
    return {**{f"match_{k}": v for k, v in counts.items()}, "match_ms": round((time.monotonic() - started) * 1000)}


def _write(conn: psycopg.Connection, load_id: int, kind: RecordKind, decisions: list[Decision]) -> None:
    with conn.cursor().copy(
        "copy ops.record_match (load_id, line_no, outcome, addressee_id, method, score, margin) from stdin"
    ) as copy:
        for d in decisions:
            copy.write_row((load_id, d.line_no, d.outcome, d.addressee_id, d.method, d.score, d.margin))
    review = [(load_id, d.line_no, kind.source, d.reason, json.dumps(d.candidates or []))
              for d in decisions if d.outcome == "review"]
    if review:
        with conn.cursor() as cur:
            cur.executemany("insert into ops.review_item (load_id, line_no, source, reason, candidates) "
                            "values (%s, %s, %s, %s, %s)", review)
    returned = [(load_id, d.line_no, "identity", d.reason) for d in decisions if d.outcome == "returned"]
    if returned:
        with conn.cursor() as cur:
            cur.executemany("insert into ops.quarantine (load_id, line_no, field, reason) values (%s, %s, %s, %s)",
                            returned)
