"""Screening programme rules (検診種別ごとの対象): who may be screened, by sex, age,
population and the screenings that block a method (DOMAIN.md "Programmes",
"Families and methods").

The rules live in `include/config/programmes.yaml` (policy); this module reads
and validates them (a wrong file fails at load with the key it is wrong at,
never later with a traceback). Ages are 年度年齢: the age a person reaches on the
configured reference day of the fiscal year (its last day by default).

A programme family (gastric: 01 X-ray, 02 endoscopy; cervical: 05 cytology,
06 HPV-only) shares one history: each method says which methods, screened how
many fiscal years back, block it (`blocked_by`). A file of the first layout
(`interval_years` per exam type, version 1) keeps its meaning: every exam type
of the same programme blocks for `interval_years - 1` fiscal years back.
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass
from typing import Annotated, Literal

import pydantic

from kenshin.platform import config

Code = Annotated[str, pydantic.StringConstraints(pattern=r"^[0-9]{2}$")]
MonthDay = Annotated[str, pydantic.StringConstraints(pattern=r"^(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$")]
Age = Annotated[int, pydantic.Field(ge=0, le=130)]


class PolicyError(ValueError):
    """A policy file that cannot be used; the message names the file and the key."""


class _Strict(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="forbid", frozen=True)


class FollowupTestRule(_Strict):
    """追跡検査 (HPV単独法): after a result in `result_codes` (HPV-positive, triage
    cytology negative), the same method once more `fiscal_years_after` fiscal
    years later, at any age and whatever the interval says."""

    result_codes: list[str]
    fiscal_years_after: int = pydantic.Field(ge=1, le=5)


class ExamTypeRule(_Strict):
    programme: str
    family: str | None = None
    name: str
    active: bool = True
    sex: Literal[1, 2] | None = None
    min_age: Age | None = None
    max_age: Age | None = None
    age_ranges: list[tuple[Age, Age | None]] | None = None
    milestone_ages: list[Age] | None = None
    interval_years: int | None = pydantic.Field(default=None, ge=1, le=20)
    blocked_by: dict[Code, int] | None = None
    population: Literal["all", "nhi", "welfare"] = "all"
    excluded_population: Literal["nhi", "welfare"] | None = None
    once_per_life: bool = False
    age_reference: MonthDay | None = None
    followup_test: FollowupTestRule | None = None

    @pydantic.model_validator(mode="after")
    def _one_way_to_say_each_thing(self) -> ExamTypeRule:
        if self.age_ranges is not None and (self.min_age is not None or self.max_age is not None):
            raise ValueError("give age_ranges or min_age/max_age, not both")
        for low, high in self.age_ranges or ():
            if high is not None and high < low:
                raise ValueError(f"age range [{low}, {high}] ends before it begins")
        if self.min_age is not None and self.max_age is not None and self.max_age < self.min_age:
            raise ValueError("max_age is under min_age")
        if self.interval_years is not None and self.blocked_by is not None:
            raise ValueError("give blocked_by or interval_years (the first layout), not both")
        for code, years in (self.blocked_by or {}).items():
            if not 0 <= years <= 20:
                raise ValueError(f"blocked_by {code}: fiscal years back must be 0..20")
        return self


class ProgrammesFile(_Strict):
    version: Literal[1, 2]
    fiscal_year_start_month: int = pydantic.Field(ge=1, le=12)
    age_reference: MonthDay
    families: dict[str, str] = {}
    exam_types: dict[Code, ExamTypeRule]
    result_codes: dict[str, str]
    detailed_exam_outcomes: dict[str, str]

    @pydantic.model_validator(mode="after")
    def _references_resolve(self) -> ProgrammesFile:
        for code, rule in self.exam_types.items():
            for blocker in rule.blocked_by or {}:
                if blocker not in self.exam_types:
                    raise ValueError(f"exam_types.{code}.blocked_by: {blocker} is not an exam type of this file")
                if (self.exam_types[blocker].family or self.exam_types[blocker].programme) != (
                        rule.family or rule.programme):
                    raise ValueError(f"exam_types.{code}.blocked_by: {blocker} is not of the same family")
            if rule.family is not None and self.families and rule.family not in self.families:
                raise ValueError(f"exam_types.{code}.family: {rule.family} is not one of families")
            for result in (rule.followup_test.result_codes if rule.followup_test else ()):
                if result not in self.result_codes:
                    raise ValueError(f"exam_types.{code}.followup_test: {result} is not a result code")
        return self


def validated(document: dict, name: str = "programmes.yaml") -> ProgrammesFile:
    """The file's content checked against its schema, or PolicyError naming the key."""
    try:
        return ProgrammesFile.model_validate(document)
    except pydantic.ValidationError as exc:
        problems = []
        for error in exc.errors():
            where = ".".join(str(part) for part in error["loc"]) or "(top level)"
            problems.append(f"{where}: {error['msg'].removeprefix('Value error, ')}")
        raise PolicyError(f"{name}: " + "; ".join(problems)) from None


@dataclass(frozen=True)
class ExamType:
    """One exam type code (検診種別): a method of a programme family and its rule."""

    code: str
    programme: str                                # what retention.yaml keys the period by
    family: str                                   # whose history is shared (gastric, cervical, ...)
    name: str
    sex: int | None
    age_ranges: tuple[tuple[int, int | None], ...]   # 年度年齢, inclusive; () = any age
    milestone_ages: tuple[int, ...] | None
    blocked_by: tuple[tuple[str, int], ...]       # (method, fiscal years back; 0 = the same fiscal year)
    retention_years: int | None                   # 保管期間, from retention.yaml (None: for life)
    active: bool = True
    population: str = "all"                       # all | nhi | welfare
    excluded_population: str | None = None        # e.g. nhi: covered by an insurer's check instead
    once_per_life: bool = False
    age_reference: str | None = None              # MM-DD; None = the programmes' common reference day
    followup_test: FollowupTestRule | None = None

    @functools.cached_property
    def blocks(self) -> dict[str, int]:
        """blocked_by as a mapping: method → fiscal years back."""
        return dict(self.blocked_by)

    @property
    def min_age(self) -> int | None:
        return min(low for low, _ in self.age_ranges) if self.age_ranges else None

    @property
    def max_age(self) -> int | None:
        highs = [high for _, high in self.age_ranges]
        return None if not highs or None in highs else max(highs)

    @property
    def interval_years(self) -> int | None:
        """Fiscal years between two screenings of this method (its own block + 1);
        None for a once-only programme (milestone ages, once per life)."""
        if self.milestone_ages or self.once_per_life:
            return None
        own = dict(self.blocked_by).get(self.code)
        return None if own is None else own + 1

    def age(self, birth: dt.date, day: dt.date) -> int:
        """年度年齢 under this programme's reference day."""
        return fiscal_year_age(birth, day, self.age_reference)

    def refused_by(self, sex: int, age: int) -> str | None:
        """"sex" or "age" when a person of this sex and fiscal-year age may not
        have this exam under the programme; None when they may (no words: the
        city-wide selections ask this millions of times)."""
        if self.sex is not None and sex != self.sex:
            return "sex"
        if age in self._admitted_ages:
            return None
        if 0 <= age <= 150 or self.age_ranges and not any(low <= age and (high is None or age <= high)
                                                          for low, high in self.age_ranges):
            return "age"
        return "age" if self.milestone_ages and age not in self.milestone_ages else None

    @functools.cached_property
    def _admitted_ages(self) -> frozenset[int]:
        """The 年度年齢 this method admits (ranges and milestone ages), up to 150."""
        return frozenset(age for age in range(151)
                         if (not self.age_ranges or any(low <= age and (high is None or age <= high)
                                                        for low, high in self.age_ranges))
                         and (not self.milestone_ages or age in self.milestone_ages))

    def refusal(self, sex: int, age: int) -> tuple[str, str] | None:
        """(field, reason) when a person of this sex and fiscal-year age may not
        have this exam under the programme; None when they may."""
        which = self.refused_by(sex, age)
        if which is None:
            return None
        if which == "sex":
            return "exam_type", f"exam type {self.code} is for {'men' if self.sex == 1 else 'women'} only"
        if self.age_ranges and not any(low <= age and (high is None or age <= high)
                                       for low, high in self.age_ranges):
            if age < (self.min_age or 0):
                return "birth_date", f"age in the fiscal year is under {self.min_age}, the minimum for exam type {self.code}"
            if self.max_age is not None and age > self.max_age:
                return "birth_date", f"age in the fiscal year is over {self.max_age}, the maximum for exam type {self.code}"
            return "birth_date", (f"age in the fiscal year is outside the ages of exam type {self.code} "
                                  f"({self.ages_text()})")
        return "birth_date", f"age in the fiscal year is not a milestone age (節目年齢) of exam type {self.code}"

    def ages_text(self) -> str:
        return ", ".join(f"{low}–{high}" if high is not None else f"{low}+" for low, high in self.age_ranges)


def _blocked_by(code: str, rule: ExamTypeRule, rules: dict[str, ExamTypeRule]) -> tuple[tuple[str, int], ...]:
    if rule.blocked_by is not None:
        return tuple(sorted(rule.blocked_by.items()))
    # The first layout: one interval for every exam type of the programme (none:
    # once in a fiscal year, the milestone programmes).
    back = (rule.interval_years or 1) - 1
    return tuple((other, back) for other, r in sorted(rules.items()) if r.programme == rule.programme)


def _age_ranges(rule: ExamTypeRule) -> tuple[tuple[int, int | None], ...]:
    if rule.age_ranges is not None:
        return tuple((low, high) for low, high in rule.age_ranges)
    if rule.min_age is None and rule.max_age is None:
        return ()
    return ((rule.min_age or 0, rule.max_age),)


@functools.cache
def policy() -> ProgrammesFile:
    return validated(config.load("programmes"))


@functools.cache
def exam_types() -> dict[str, ExamType]:
    """Every exam type of the file, active or not (an inactive one still names
    the records of earlier years and their retention)."""
    return build(policy(), config.load("retention")["programmes"])


def build(file: ProgrammesFile, kept: dict[str, int | None]) -> dict[str, ExamType]:
    """The exam types of a validated file, with the retention periods `kept`."""
    missing = sorted({r.programme for r in file.exam_types.values()} - set(kept))
    if missing:
        raise PolicyError(f"retention.yaml: programmes: no retention period for {', '.join(missing)}")
    return {
        code: ExamType(
            code=code, programme=r.programme, family=r.family or r.programme, name=r.name, sex=r.sex,
            age_ranges=_age_ranges(r), milestone_ages=tuple(r.milestone_ages) if r.milestone_ages else None,
            blocked_by=_blocked_by(code, r, file.exam_types), retention_years=kept[r.programme], active=r.active,
            population=r.population, excluded_population=r.excluded_population, once_per_life=r.once_per_life,
            age_reference=r.age_reference, followup_test=r.followup_test,
        )
        for code, r in file.exam_types.items()
    }


def active_exam_types() -> dict[str, ExamType]:
    """The programmes the city runs (targets, letters, linkage)."""
    return {code: rule for code, rule in exam_types().items() if rule.active}


def family_of(code: str) -> str:
    return exam_types()[code].family


def fiscal_year(day: dt.date) -> int:
    """年度: the fiscal year `day` falls in (named by the year it starts)."""
    start = policy().fiscal_year_start_month
    return day.year if day.month >= start else day.year - 1


def fiscal_year_start(fy: int) -> dt.date:
    """The first day of fiscal year `fy`."""
    return dt.date(fy, policy().fiscal_year_start_month, 1)


def age_on(birth: dt.date, day: dt.date) -> int:
    """Age on `day` as Japanese law counts it (年齢計算ニ関スル法律): a person is
    one year older at the end of the day before the birthday, i.e. their
    ordinary age on the next day."""
    nxt = day + dt.timedelta(days=1)
    return nxt.year - birth.year - ((nxt.month, nxt.day) < (birth.month, birth.day))


def age_at_fiscal_year_start(birth: dt.date, day: dt.date) -> int:
    """The age on the first day of `day`'s fiscal year, as the national coupon
    rule reads it ("20 on April 1"): the age reached by the end of the day before."""
    return age_on(birth, fiscal_year_start(fiscal_year(day)) - dt.timedelta(days=1))


@functools.lru_cache(maxsize=4096)
def age_reference_day(day: dt.date, reference: str | None = None) -> dt.date:
    """The day of `day`'s fiscal year on which the age that counts is reached
    (`reference` MM-DD, else the configured common one)."""
    month, dom = (int(x) for x in (reference or policy().age_reference).split("-"))
    start = policy().fiscal_year_start_month
    fy = fiscal_year(day)
    return dt.date(fy if month >= start else fy + 1, month, dom)


def fiscal_year_age(birth: dt.date, day: dt.date, reference: str | None = None) -> int:
    """年度年齢: the age reached on the reference day of `day`'s fiscal year."""
    return age_on(birth, age_reference_day(day, reference))
