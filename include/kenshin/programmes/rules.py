"""Screening programme rules (検診種別ごとの対象): who may be screened, by sex and age.

The rules live in `include/config/programmes.yaml` (policy, DOMAIN.md); this
module only reads them. Ages are 年度年齢: the age a person reaches on the
configured reference day of the fiscal year (its last day by default).
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass

from kenshin.platform import config


@dataclass(frozen=True)
class ExamType:
    """One exam type code (検診種別) and its eligibility rule."""

    code: str
    programme: str
    name: str
    sex: int | None
    min_age: int | None
    max_age: int | None
    milestone_ages: tuple[int, ...] | None
    interval_years: int | None
    retention_years: int | None   # 保管期間, from retention.yaml (None: for life)
    population: str = "all"   # all | nhi | welfare
    excluded_population: str | None = None   # e.g. nhi: covered by an insurer's check instead
    once_per_life: bool = False
    age_reference: str | None = None   # MM-DD; None = the programmes' common reference day

    def age(self, birth: dt.date, day: dt.date) -> int:
        """年度年齢 under this programme's reference day."""
        return fiscal_year_age(birth, day, self.age_reference)

    def refusal(self, sex: int, age: int) -> tuple[str, str] | None:
        """(field, reason) when a person of this sex and fiscal-year age may not
        have this exam under the programme; None when they may."""
        if self.sex is not None and sex != self.sex:
            return "exam_type", f"exam type {self.code} is for {'men' if self.sex == 1 else 'women'} only"
        if self.min_age is not None and age < self.min_age:
            return "birth_date", f"age in the fiscal year is under {self.min_age}, the minimum for exam type {self.code}"
        if self.max_age is not None and age > self.max_age:
            return "birth_date", f"age in the fiscal year is over {self.max_age}, the maximum for exam type {self.code}"
        if self.milestone_ages and age not in self.milestone_ages:
            return "birth_date", f"age in the fiscal year is not a milestone age (節目年齢) of exam type {self.code}"
        return None


@functools.cache
def exam_types() -> dict[str, ExamType]:
    rules = config.load("programmes")["exam_types"]
    kept = config.load("retention")["programmes"]
    return {
        code: ExamType(
            code=code, programme=r["programme"], name=r["name"], sex=r.get("sex"),
            min_age=r.get("min_age"), max_age=r.get("max_age"),
            milestone_ages=tuple(r["milestone_ages"]) if r.get("milestone_ages") else None,
            interval_years=r.get("interval_years"), retention_years=kept[r["programme"]],
            population=r.get("population", "all"), excluded_population=r.get("excluded_population"),
            once_per_life=bool(r.get("once_per_life", False)), age_reference=r.get("age_reference"),
        )
        for code, r in rules.items()
    }


def fiscal_year(day: dt.date) -> int:
    """年度: the fiscal year `day` falls in (named by the year it starts)."""
    start = int(config.load("programmes")["fiscal_year_start_month"])
    return day.year if day.month >= start else day.year - 1


def fiscal_year_start(fy: int) -> dt.date:
    """The first day of fiscal year `fy`."""
    return dt.date(fy, int(config.load("programmes")["fiscal_year_start_month"]), 1)


def age_on(birth: dt.date, day: dt.date) -> int:
    """Age on `day` as Japanese law counts it (年齢計算ニ関スル法律): a person is
    one year older at the end of the day before the birthday, i.e. their
    ordinary age on the next day."""
    nxt = day + dt.timedelta(days=1)
    return nxt.year - birth.year - ((nxt.month, nxt.day) < (birth.month, birth.day))


def age_reference_day(day: dt.date, reference: str | None = None) -> dt.date:
    """The day of `day`'s fiscal year on which the age that counts is reached
    (`reference` MM-DD, else the configured common one)."""
    month, dom = (int(x) for x in (reference or config.load("programmes")["age_reference"]).split("-"))
    start = int(config.load("programmes")["fiscal_year_start_month"])
    fy = fiscal_year(day)
    return dt.date(fy if month >= start else fy + 1, month, dom)


def fiscal_year_age(birth: dt.date, day: dt.date, reference: str | None = None) -> int:
    """年度年齢: the age reached on the reference day of `day`'s fiscal year."""
    return age_on(birth, age_reference_day(day, reference))
