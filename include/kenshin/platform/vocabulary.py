"""Shared vocabulary (共通の用語・コード): the business time zone and the codes
that more than one step names, each read from the one place that defines it.

- the time zone of schedules and business dates: `platform.yaml` `time_zone`;
- screening result codes (判定区分) and which of them means 要精検: the dbt seed
  `result_codes.csv`, which the marts use too;
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
def needs_detailed_exam() -> str:
    """The result code of 要精検 (the one code the seed flags)."""
    (code,) = (r["result_code"] for r in seed("result_codes") if r["needs_detailed_exam"] == "true")
    return code


@functools.cache
def outcome_codes() -> frozenset[str]:
    return frozenset(r["outcome"] for r in seed("detailed_exam_outcomes"))


@functools.cache
def notice_kinds() -> tuple[str, ...]:
    """The letters the city sends, in the order of `notices.yaml`."""
    return tuple(config.load("notices")["kinds"])
