"""Shared vocabulary (共通の用語・コード): the business time zone and the codes
that more than one step names, each read from the one place that defines it.

- the time zone of schedules and business dates: `platform.yaml` `time_zone`;
- screening result codes (判定区分): the dbt seed `result_codes.csv`; which of
  them mean 要精検 for which exam type: the seed `detailed_exam_criteria.csv`
  (cervical 判定不能 counts), which the marts use too;
- detailed-exam outcome codes (精検結果): the seed `detailed_exam_outcomes.csv`;
- notice kinds (通知の種類): the kinds of `notices.yaml`;
- the codes of LAYOUTS.md that are not policy (sex, flags, person status).

A parser that accepts a code, a query that selects by it and a letter that
mentions it take it from here, so they cannot drift apart.
"""

from __future__ import annotations

import csv
import functools
from zoneinfo import ZoneInfo

from kenshin.platform import config
from kenshin.platform.paths import PROJECT_ROOT

SEEDS_DIR = PROJECT_ROOT / "dbt_project" / "seeds"

# LAYOUTS.md conventions (the file formats, not the city's policy)
SEX_CODES = frozenset({"1", "2"})                 # 1 男, 2 女
FLAG_CODES = frozenset({"0", "1"})
PERSON_STATUS = {1: "resident (住民)", 2: "moved out (転出)", 3: "deceased (死亡)",
                 4: "removed from the registry (職権消除)"}
RESIDENT = 1
PERSON_STATUS_CODES = frozenset(str(code) for code in PERSON_STATUS)


@functools.cache
def seed(name: str) -> tuple[dict[str, str], ...]:
    """The rows of a dbt seed (`dbt_project/seeds/{name}.csv`)."""
    with open(SEEDS_DIR / f"{name}.csv", encoding="utf-8", newline="") as fh:
        return tuple(csv.DictReader(fh))


@functools.cache
def business_tz() -> ZoneInfo:
    """Asia/Tokyo unless the platform settings say otherwise (ARCHITECTURE.md)."""
    return ZoneInfo(config.load("platform").get("time_zone", "Asia/Tokyo"))


@functools.cache
def result_codes() -> frozenset[str]:
    return frozenset(r["result_code"] for r in seed("result_codes"))


@functools.cache
def needs_detailed_exam() -> frozenset[tuple[str, str]]:
    """(exam type, result code) of every result that needs a detailed exam (要精検)."""
    return frozenset((r["exam_type"], r["result_code"]) for r in seed("detailed_exam_criteria")
                     if r["needs_detailed_exam"] == "true")


def needing_detailed_exam(alias: str) -> str:
    """SQL predicate: the screening `alias` needs a detailed exam. Its parameters
    are `needing_detailed_exam_params()` (named, psycopg style)."""
    return (f"(({alias}.exam_type, {alias}.result_code) in (select u.exam_type, u.result_code from "
            f"unnest(%(needing_exam_types)s::char(2)[], %(needing_result_codes)s::char(1)[]) "
            f"as u (exam_type, result_code)))")


def needing_detailed_exam_params() -> dict[str, list[str]]:
    pairs = sorted(needs_detailed_exam())
    return {"needing_exam_types": [t for t, _ in pairs], "needing_result_codes": [c for _, c in pairs]}


@functools.cache
def attended_outcomes() -> frozenset[str]:
    """Detailed-exam outcomes that mean the person went (all but 5, 未受診)."""
    return frozenset(r["outcome"] for r in seed("detailed_exam_outcomes") if r["attended"] == "true")


@functools.cache
def outcome_codes() -> frozenset[str]:
    return frozenset(r["outcome"] for r in seed("detailed_exam_outcomes"))


@functools.cache
def notice_kinds() -> tuple[str, ...]:
    """The letters the city sends, in the order of `notices.yaml`."""
    return tuple(config.load("notices")["kinds"])
