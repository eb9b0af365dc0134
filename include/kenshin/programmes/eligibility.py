"""Who is a target of which screening programme on a day (対象者判定).

The one decision the privacy assessment names as affecting residents' rights
(権利利益に影響を与え得る決定): every letter, the intake check of clinics'
records and linkage ask it here, with the person's whole history. The rules
are those of `include/config/programmes.yaml` (kenshin.programmes.rules), in
this order:

1. resident on the day (not moved out, deceased or removed);
2. the programme is active (the city runs it);
3. 追跡検査: the follow-up test a method's `followup_test` asks for (at any age,
   whatever blocked_by says);
4. sex and 年度年齢 (with each programme's reference day), age ranges, milestone ages;
5. the population a programme serves (NHI members for PSA, public-assistance
   recipients for the welfare health check) and not those an insurer's check covers;
6. once per life;
7. blocked_by: a screening of a blocking method of the family within its
   fiscal years back (the city's own and those previous municipalities
   reported, core.external_screening, count alike).

Each answer is a `Verdict` that says which rule decided, in English and in
Japanese, with the screening that blocked: `kenshin eligible --explain` prints
it for staff answering a resident's telephone question.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import psycopg

from kenshin.platform import memory, vocabulary
from kenshin.programmes import rules as programmes

POPULATION_NAMES = {"nhi": ("an NHI member", "国民健康保険の被保険者"),
                    "welfare": ("receiving public assistance", "生活保護の受給者")}
STATUS_JA = {2: "転出", 3: "死亡", 4: "職権消除"}

# Rules a Verdict names (`rule`); the intake check maps them to its two reasons.
RESIDENT, INACTIVE, FOLLOWUP_TEST, SEX, AGE, POPULATION, EXCLUDED, ONCE, BLOCKED, TARGET = (
    "resident", "inactive", "followup_test", "sex", "age", "population", "excluded_population",
    "once_per_life", "blocked_by", "target")


@dataclass(frozen=True)
class Screened:
    """One screening in a person's history (the city's own or external)."""

    exam_type: str
    exam_date: dt.date
    result_code: str | None
    external: bool = False
    fiscal_year: int = 0            # set from exam_date when not given (the ledger query gives it)

    def __post_init__(self) -> None:
        if not self.fiscal_year:
            object.__setattr__(self, "fiscal_year", programmes.fiscal_year(self.exam_date))

    def describe(self) -> str:
        where = "reported by the previous municipality" if self.external else "in this city"
        return f"exam type {self.exam_type} on {self.exam_date.isoformat()} (FY{self.fiscal_year}, {where})"

    def describe_ja(self) -> str:
        where = "前住所地の記録" if self.external else "本市の記録"
        return f"{self.exam_date.isoformat()}（{self.fiscal_year}年度、{where}）の検診種別{self.exam_type}"


@dataclass(frozen=True)
class Person:
    """What eligibility needs of one person on the day (their ledger version then)."""

    addressee_id: str
    sex: int
    birth_date: dt.date
    status: int                                   # 1 resident, 2 moved out, 3 deceased, 4 removed
    nhi: bool
    welfare: bool
    history: tuple[Screened, ...] = ()


@dataclass(slots=True)
class Verdict:
    """The decision for one exam type: target or not, and the rule that decided.
    Its words (`en`, `ja`) are made when asked for: selecting a city's letters
    decides millions of these and reads none of them."""

    exam_type: str
    target: bool
    rule: str
    as_of: dt.date
    fiscal_year: int
    age: int | None = None
    blocking: Screened | None = None
    detail: str | None = None          # the person's status, when not resident

    @property
    def reason(self) -> str | None:
        """Why not a target (None when a target)."""
        return None if self.target else self.en

    @property
    def repeat_in_fiscal_year(self) -> bool:
        """重複受診: blocked by a screening of the same method in the same fiscal year."""
        return (self.rule == BLOCKED and self.blocking is not None and self.blocking.exam_type == self.exam_type
                and self.blocking.fiscal_year == self.fiscal_year)

    @property
    def en(self) -> str:
        return _words(self)[0]

    @property
    def ja(self) -> str:
        return _words(self)[1]

    def as_dict(self) -> dict:
        d = {"exam_type": self.exam_type, "target": self.target, "rule": self.rule, "en": self.en,
             "ja": self.ja, "age": self.age}
        if self.blocking:
            d["blocking"] = {"exam_type": self.blocking.exam_type, "exam_date": self.blocking.exam_date.isoformat(),
                             "fiscal_year": self.blocking.fiscal_year, "external": self.blocking.external}
        return d


def _words(v: Verdict) -> tuple[str, str]:
    """(English, Japanese) of a verdict, for staff and for the review queue."""
    rule = programmes.exam_types()[v.exam_type]
    day = v.as_of.isoformat()
    if v.rule == RESIDENT:
        return (f"not resident on {day}: {vocabulary.PERSON_STATUS.get(int(v.detail), 'not resident')}",
                f"{day}時点で住民でない（{STATUS_JA.get(int(v.detail), '非住民')}）")
    if v.rule == INACTIVE:
        return f"exam type {rule.code} is not run by the city (inactive)", f"{rule.name}は本市では実施していない"
    reference = programmes.age_reference_day(v.as_of, rule.age_reference).isoformat()
    basis_en, basis_ja = f"age {v.age} reached by {reference}", f"年度年齢{v.age}歳（{reference}時点）"
    b = v.blocking
    if v.rule == FOLLOWUP_TEST:
        return (f"target: the follow-up test (追跡検査) after {b.describe()}, at any age",
                f"対象: {b.describe_ja()}の結果による追跡検査（年齢を問わない）")
    if v.rule == SEX:
        return rule.refusal(3 - rule.sex, 0)[1], f"{rule.name}は{'男性' if rule.sex == 1 else '女性'}が対象"
    if v.rule == AGE:
        ages = f"{rule.ages_text()}歳" if rule.age_ranges else ""
        milestones = "・".join(str(a) for a in rule.milestone_ages or ())
        return (f"{rule.refusal(rule.sex or 1, v.age)[1]} ({basis_en})",
                f"{basis_ja}は対象年齢（{ages}{'、節目 ' + milestones + '歳' if milestones else ''}）でない")
    if v.rule in (POPULATION, EXCLUDED):
        en, ja = POPULATION_NAMES[rule.population if v.rule == POPULATION else rule.excluded_population]
        if v.rule == POPULATION:
            return f"not {en} on {day}", f"{day}時点で{ja}でない"
        return f"{en}: covered by the insurer's health check", f"{ja}: 保険者の特定健診の対象"
    if v.rule == ONCE:
        return f"screened in FY{b.fiscal_year}; once per life", f"{b.describe_ja()}を受診済み（生涯1回）"
    if v.rule == BLOCKED:
        back = rule.blocks[b.exam_type]
        if v.repeat_in_fiscal_year:
            return (f"screened by the same method this fiscal year: {b.describe()} (重複受診)",
                    f"同じ年度に同じ方法で受診済み: {b.describe_ja()}（重複受診）")
        span = "in its fiscal year" if back == 0 else f"in its fiscal year and the {back} after"
        return (f"blocked by {b.describe()}: a screening by exam type {b.exam_type} blocks "
                f"exam type {rule.code} {span} (blocked_by)",
                f"{b.describe_ja()}の受診により対象外（検診種別{b.exam_type}の受診後{back}年度は{rule.name}の対象外）"
                if back else f"{b.describe_ja()}の受診により今年度は対象外")
    return f"target: {basis_en}, no blocking screening", f"対象: {basis_ja}、間隔内の受診なし"


def decide(person: Person, as_of: dt.date,
           rules: dict[str, programmes.ExamType] | None = None) -> dict[str, Verdict]:
    """Exam type → its Verdict on `as_of`, for every exam type of `rules` (all by default)."""
    rules = rules or programmes.exam_types()
    return _decide_all(person, rules, as_of, programmes.fiscal_year(as_of), {})


def _decide_all(person: Person, rules: dict[str, programmes.ExamType], as_of: dt.date, fy: int,
                ages: dict[str | None, int]) -> dict[str, Verdict]:
    return {code: _decide(person, rule, as_of, fy, ages) for code, rule in rules.items()}


def decisions(persons: Iterable[Person], as_of: dt.date,
              rules: dict[str, programmes.ExamType] | None = None) -> Iterator[tuple[Person, dict[str, Verdict]]]:
    """(person, `decide`'s answer) for each person, streamed: the city-wide
    selections. Without a screening in reach, the answer depends only on sex,
    年度年齢, status and populations, which a city's residents share by the
    thousand: it is decided once per such group (a Verdict names no person)."""
    rules = rules or programmes.exam_types()
    fy = programmes.fiscal_year(as_of)
    references = sorted({rule.age_reference or "" for rule in rules.values()})
    shared: dict[tuple, dict[str, Verdict]] = {}
    for person in persons:
        ages: dict[str | None, int] = {}
        if person.history:
            yield person, _decide_all(person, rules, as_of, fy, ages)
            continue
        for reference in references:
            ages[reference or None] = programmes.fiscal_year_age(person.birth_date, as_of, reference or None)
        key = (person.sex, person.status, person.nhi, person.welfare, *ages.values())
        answer = shared.get(key)
        if answer is None:
            answer = shared[key] = _decide_all(person, rules, as_of, fy, ages)
        yield person, answer


def assess(person: Person, as_of: dt.date,
           rules: dict[str, programmes.ExamType] | None = None) -> dict[str, str | None]:
    """Exam type → None when the person is a target on `as_of`, else why not."""
    return {code: v.reason for code, v in decide(person, as_of, rules).items()}


def _family(code: str) -> str | None:
    known = programmes.exam_types().get(code)
    return known.family if known else None


def _followup_due(p: Person, rule: programmes.ExamType, fy: int) -> Screened | None:
    """The screening whose result asks for this method's follow-up test this
    fiscal year, unless the family was screened again after it."""
    test = rule.followup_test
    if test is None or not p.history:
        return None
    asking = [s for s in p.history if s.exam_type == rule.code and s.result_code in test.result_codes
              and s.fiscal_year == fy - test.fiscal_years_after]
    if not asking:
        return None
    last = max(asking, key=lambda s: s.exam_date)
    return None if any(s.exam_date > last.exam_date and _family(s.exam_type) == rule.family
                       for s in p.history) else last


def _decide(p: Person, rule: programmes.ExamType, as_of: dt.date, fy: int, ages: dict[str | None, int]) -> Verdict:
    code = rule.code
    if p.status != vocabulary.RESIDENT:
        return Verdict(code, False, RESIDENT, as_of, fy, detail=str(p.status))
    if not rule.active:
        return Verdict(code, False, INACTIVE, as_of, fy)
    age = ages.get(rule.age_reference)
    if age is None:
        age = ages[rule.age_reference] = rule.age(p.birth_date, as_of)
    if rule.followup_test is not None:
        asking = _followup_due(p, rule, fy)
        if asking is not None and (rule.sex is None or p.sex == rule.sex):
            return Verdict(code, True, FOLLOWUP_TEST, as_of, fy, age, asking)
    refused = rule.refused_by(p.sex, age)
    if refused:
        return Verdict(code, False, SEX if refused == "sex" else AGE, as_of, fy, age)
    if rule.population != "all" and not (p.nhi if rule.population == "nhi" else p.welfare):
        return Verdict(code, False, POPULATION, as_of, fy, age)
    if rule.excluded_population and (p.nhi if rule.excluded_population == "nhi" else p.welfare):
        return Verdict(code, False, EXCLUDED, as_of, fy, age)
    if rule.once_per_life:
        own = sorted((s for s in p.history if _family(s.exam_type) == rule.family), key=lambda s: s.exam_date)
        if own:
            return Verdict(code, False, ONCE, as_of, fy, age, own[0])
    blocking = _blocking(p, rule, fy)
    if blocking is not None:
        return Verdict(code, False, BLOCKED, as_of, fy, age, blocking)
    return Verdict(code, True, TARGET, as_of, fy, age)


def _blocking(p: Person, rule: programmes.ExamType, fy: int) -> Screened | None:
    """The screening that blocks this method in fiscal year `fy`: one of the same
    method this fiscal year first (重複受診), else the latest of the others."""
    if not p.history:
        return None
    back = rule.blocks
    hits = [s for s in p.history if s.exam_type in back and fy - back[s.exam_type] <= s.fiscal_year <= fy]
    if not hits:
        return None
    same = [s for s in hits if s.exam_type == rule.code and s.fiscal_year == fy]
    return min(same, key=lambda s: s.exam_date) if same else max(hits, key=lambda s: s.exam_date)


def history_from(as_of: dt.date, rules: dict[str, programmes.ExamType] | None = None) -> dt.date:
    """The earliest exam date a blocked_by or follow-up rule can look back to on `as_of`."""
    rules = rules or programmes.exam_types()
    longest = max([years for r in rules.values() for _, years in r.blocked_by]
                  + [r.followup_test.fiscal_years_after for r in rules.values() if r.followup_test] + [0])
    return programmes.fiscal_year_start(programmes.fiscal_year(as_of) - longest)


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
    select addressee_id, array_agg(exam_type) as exam_types, array_agg(exam_date) as exam_dates,
           array_agg(result_code) as result_codes, array_agg(external) as externals
      from (select addressee_id, exam_type, exam_date, result_code, false as external from core.screening
             where exam_date < %(until)s and (exam_date >= %(since)s or exam_type = any(%(for_life)s))
            union all
            select addressee_id, exam_type, exam_date, result_code, true from core.external_screening
             where exam_date < %(until)s and (exam_date >= %(since)s or exam_type = any(%(for_life)s))) s
     where %(persons)s::char(10)[] is null or addressee_id = any(%(persons)s::char(10)[])
     group by addressee_id
)
select v.addressee_id, v.sex, v.birth_date, v.status, n.addressee_id is not null, w.addressee_id is not null,
       h.exam_types, h.exam_dates, h.result_codes, h.externals
  from version v
  left join nhi n using (addressee_id)
  left join welfare w using (addressee_id)
  left join history h using (addressee_id)
"""


def people(conn: psycopg.Connection, as_of: dt.date,
           addressee_ids: str | list[str] | None = None) -> Iterator[Person]:
    """Everyone on the ledger on `as_of` (or these people), streamed, with the
    whole history every rule can look at up to that day: every method of every
    family, the city's own and external. Never a history cut to some exam
    types: that is how a letter came to contradict `kenshin eligible`."""
    every = programmes.exam_types()
    persons = [addressee_ids] if isinstance(addressee_ids, str) else addressee_ids
    params = {"day": as_of, "persons": persons, "since": history_from(as_of, every),
              "until": as_of + dt.timedelta(days=1),
              "for_life": [code for code, r in every.items() if r.once_per_life]}
    with conn.cursor(name="eligibility_people") as cur:
        cur.itersize = 20_000
        cur.execute(_PEOPLE, params)
        for aid, sex, birth, status, nhi, welfare, types, dates, results, externals in cur:
            history = tuple(Screened(t, d, r, e) for t, d, r, e in
                            zip(types or (), dates or (), results or (), externals or (), strict=True))
            yield Person(aid, sex, birth, status, nhi, welfare, history)


def targets(conn: psycopg.Connection, as_of: dt.date, exam_types: list[str] | None = None,
            rules: dict[str, programmes.ExamType] | None = None) -> Iterator[tuple[str, list[str]]]:
    """(addressee id, exam types) of every person who is a target of at least one
    of `exam_types` (all by default) on `as_of`."""
    rules = rules or programmes.exam_types()
    wanted = {c: rules[c] for c in (exam_types or rules)}
    with memory.acyclic_bulk():
        for person, verdicts in decisions(people(conn, as_of), as_of, wanted):
            if person.status != vocabulary.RESIDENT:
                continue
            codes = [c for c, v in verdicts.items() if v.target]
            if codes:
                yield person.addressee_id, codes


@dataclass(frozen=True)
class Submitted:
    """A clinic's record linked to a person, to be checked at intake (使用方法1)."""

    key: int                 # the record's line in its file
    addressee_id: str
    exam_type: str
    exam_date: dt.date
    result_code: str


_ON_EXAM_DATE = """
select r.key, v.sex, v.birth_date, v.status,
       exists (select 1 from core.nhi_period n where n.addressee_id = r.aid and n.qualified_from <= r.day
                  and (n.qualified_to is null or n.qualified_to >= r.day)),
       exists (select 1 from core.welfare_period w where w.addressee_id = r.aid and w.start_date <= r.day
                  and (w.end_date is null or w.end_date >= r.day))
  from unnest(%(keys)s::int[], %(persons)s::char(10)[], %(days)s::date[]) as r (key, aid, day)
  -- the version on the exam date; before the ledger began, the first one
  cross join lateral (select sex, birth_date, status from core.person_version v
                       where v.addressee_id = r.aid
                       order by (v.valid_from <= r.day) desc,
                                case when v.valid_from <= r.day then v.valid_from end desc nulls last,
                                v.valid_from
                       limit 1) v
"""

_HISTORY_OF = """
select addressee_id, exam_type, exam_date, result_code, false from core.screening
 where addressee_id = any(%(persons)s::char(10)[]) and (exam_date >= %(since)s or exam_type = any(%(for_life)s))
union all
select addressee_id, exam_type, exam_date, result_code, true from core.external_screening
 where addressee_id = any(%(persons)s::char(10)[]) and (exam_date >= %(since)s or exam_type = any(%(for_life)s))
"""


def on_exam_dates(conn: psycopg.Connection, records: list[Submitted]) -> dict[int, Verdict]:
    """The decision for each record's exam type on its exam date, with the
    person's ledger state then and every other screening of their history up to
    the end of that fiscal year (a screening later in the same fiscal year, or
    an earlier line of the same submission, makes this one 重複受診). The
    record itself (same exam type and date: a resubmission) is not its own history."""
    if not records:
        return {}
    every = programmes.exam_types()
    persons = sorted({r.addressee_id for r in records})
    states = {key: rest for key, *rest in conn.execute(_ON_EXAM_DATE, {
        "keys": [r.key for r in records], "persons": [r.addressee_id for r in records],
        "days": [r.exam_date for r in records]})}
    since = min(history_from(r.exam_date, every) for r in records)
    history: dict[str, list[Screened]] = {}
    for aid, code, day, result, external in conn.execute(_HISTORY_OF, {
            "persons": persons, "since": since,
            "for_life": [code for code, r in every.items() if r.once_per_life]}):
        history.setdefault(aid, []).append(Screened(code, day, result, external))
    submitted: dict[str, list[Submitted]] = {}
    for r in records:
        submitted.setdefault(r.addressee_id, []).append(r)
    verdicts = {}
    for r in records:
        sex, birth, status, nhi, welfare = states[r.key]
        fy_end = programmes.fiscal_year_start(programmes.fiscal_year(r.exam_date) + 1)
        own = [s for s in history.get(r.addressee_id, ())
               if s.exam_date < fy_end and (s.exam_type, s.exam_date) != (r.exam_type, r.exam_date)]
        earlier = [Screened(o.exam_type, o.exam_date, o.result_code) for o in submitted[r.addressee_id]
                   if (o.exam_date, o.key) < (r.exam_date, r.key) and (o.exam_type, o.exam_date) not in
                   {(s.exam_type, s.exam_date) for s in own}]
        person = Person(r.addressee_id, sex, birth, status, nhi, welfare, tuple(own + earlier))
        verdicts[r.key] = decide(person, r.exam_date, {r.exam_type: every[r.exam_type]})[r.exam_type]
    return verdicts
