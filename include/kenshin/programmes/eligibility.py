"""Who is a target of which screening programme on a day (対象者判定).

The rules are those of `include/config/programmes.yaml` (kenshin.programmes.rules):
sex and 年度年齢 (with each programme's reference day), milestone ages, the
population a programme serves (NHI members for PSA, public-assistance
recipients for the welfare health check, and not those an insurer's check
covers), the screening interval and once-per-life programmes. Screenings a
previous municipality reported (core.external_screening) count like the
city's own for intervals.

One assessment per person in Python, over rows streamed from the ledger: the
same code answers `kenshin eligible --addressee-id` for one person and selects
the whole city for the notices.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass

import psycopg

from kenshin.platform import vocabulary
from kenshin.programmes import rules as programmes

POPULATION_NAMES = {"nhi": "an NHI member (国民健康保険)", "welfare": "receiving public assistance (生活保護)"}


@dataclass(frozen=True)
class Person:
    """What eligibility needs of one person on the day (their ledger version then)."""

    addressee_id: str
    sex: int
    birth_date: dt.date
    status: int                                   # 1 resident, 2 moved out, 3 deceased, 4 removed
    nhi: bool
    welfare: bool
    screened: frozenset[tuple[str, int]] = frozenset()   # (programme, fiscal year), own and external


def assess(person: Person, as_of: dt.date,
           rules: dict[str, programmes.ExamType] | None = None) -> dict[str, str | None]:
    """Exam type → None when the person is a target on `as_of`, else why not."""
    rules = rules or programmes.exam_types()
    fy = programmes.fiscal_year(as_of)
    return {code: _why_not(person, rule, as_of, fy) for code, rule in rules.items()}


def _why_not(p: Person, rule: programmes.ExamType, as_of: dt.date, fy: int) -> str | None:
    if p.status != vocabulary.RESIDENT:
        return f"not resident on {as_of.isoformat()}: {vocabulary.PERSON_STATUS.get(p.status, 'not resident')}"
    refusal = rule.refusal(p.sex, rule.age(p.birth_date, as_of))
    if refusal:
        return refusal[1]
    members = {"nhi": p.nhi, "welfare": p.welfare}
    if rule.population != "all" and not members[rule.population]:
        return f"not {POPULATION_NAMES[rule.population]} on {as_of.isoformat()}"
    if rule.excluded_population and members[rule.excluded_population]:
        return f"{POPULATION_NAMES[rule.excluded_population]}: covered by the insurer's health check"
    years = sorted(y for programme, y in p.screened if programme == rule.programme)
    if rule.once_per_life and years:
        return f"screened in FY{years[0]}; once per life"
    if rule.interval_years:
        recent = [y for y in years if fy - rule.interval_years < y <= fy]
        if recent:
            return f"screened in FY{recent[-1]}, within the {rule.interval_years}-year interval"
    elif fy in years:
        return f"screened in FY{fy} already (once at each milestone age)"
    return None


def history_from(as_of: dt.date, rules: dict[str, programmes.ExamType]) -> dt.date:
    """The earliest exam date an interval rule can look back to on `as_of`."""
    longest = max((r.interval_years or 1) for r in rules.values())
    return programmes.fiscal_year_start(programmes.fiscal_year(as_of) - longest + 1)


_PEOPLE = """
with version as (
    select addressee_id, sex, birth_date, status
      from core.person_version
     where valid_from <= %(day)s and (valid_to is null or valid_to > %(day)s)
       and (%(persons)s::char(10)[] is null or addressee_id = any(%(persons)s::char(10)[]))
),
nhi as (
    select distinct addressee_id from core.nhi_period
     where qualified_from <= %(day)s and (qualified_to is null or qualified_to >= %(day)s)
),
welfare as (
    select distinct addressee_id from core.welfare_period
     where start_date <= %(day)s and (end_date is null or end_date >= %(day)s)
),
history as (
    select addressee_id, array_agg(exam_type) as exam_types, array_agg(exam_date) as exam_dates
      from (select addressee_id, exam_type, exam_date from core.screening
             where exam_date <= %(day)s and (exam_date >= %(since)s or exam_type = any(%(for_life)s))
            union all
            select addressee_id, exam_type, exam_date from core.external_screening
             where exam_date <= %(day)s and (exam_date >= %(since)s or exam_type = any(%(for_life)s))) s
     where %(persons)s::char(10)[] is null or addressee_id = any(%(persons)s::char(10)[])
     group by addressee_id
)
select v.addressee_id, v.sex, v.birth_date, v.status, n.addressee_id is not null, w.addressee_id is not null,
       h.exam_types, h.exam_dates
  from version v
  left join nhi n using (addressee_id)
  left join welfare w using (addressee_id)
  left join history h using (addressee_id)
"""


def people(conn: psycopg.Connection, as_of: dt.date, addressee_ids: str | list[str] | None = None,
           rules: dict[str, programmes.ExamType] | None = None) -> Iterator[Person]:
    """Everyone on the ledger on `as_of` (or these people), streamed."""
    rules = rules or programmes.exam_types()
    programme_of = {code: r.programme for code, r in rules.items()}
    persons = [addressee_ids] if isinstance(addressee_ids, str) else addressee_ids
    params = {"day": as_of, "persons": persons, "since": history_from(as_of, rules),
              "for_life": [code for code, r in rules.items() if r.once_per_life]}
    with conn.cursor(name="eligibility_people") as cur:
        cur.itersize = 20_000
        cur.execute(_PEOPLE, params)
        for aid, sex, birth, status, nhi, welfare, types, dates in cur:
            screened = frozenset(
                (programme_of[t], programmes.fiscal_year(d)) for t, d in zip(types or (), dates or (), strict=True)
                if t in programme_of)
            yield Person(aid, sex, birth, status, nhi, welfare, screened)


def targets(conn: psycopg.Connection, as_of: dt.date, exam_types: list[str] | None = None,
            rules: dict[str, programmes.ExamType] | None = None) -> Iterator[tuple[str, list[str]]]:
    """(addressee id, exam types) of every person who is a target of at least one
    of `exam_types` (all by default) on `as_of`."""
    rules = rules or programmes.exam_types()
    wanted = {c: rules[c] for c in (exam_types or rules)}
    for person in people(conn, as_of, rules=rules):
        if person.status != vocabulary.RESIDENT:
            continue
        codes = [c for c, why in assess(person, as_of, wanted).items() if why is None]
        if codes:
            yield person.addressee_id, codes
