"""The city decides, the letter follows (DOMAIN.md): on a synthetic city (the demo's
generator) with several fiscal years of history across both methods of each
family, every exam type on every VOUCHER and INVITE letter is one `kenshin
eligible` gives that person on that day, and every target `kenshin eligible`
gives for an exam type a letter covers gets it, unless a stated reason says
why not (the letter's own ages, or already sent).

The letters' own filters are computed here from DOMAIN.md, not from the code:
the coupon ages are "20 / 40 on April 1 of the fiscal year"."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys

import numpy as np
import psycopg
import pytest

from builders import fixture_load
from kenshin.ingest.inbox import load_order
from kenshin.ingest.loading import ingest_file
from kenshin.lab.synth import generate
from kenshin.letters import notices

pytestmark = [pytest.mark.integration, pytest.mark.slow]

INVITE_DAY, VOUCHER_DAY = dt.date(2026, 10, 1), dt.date(2027, 4, 1)
INVITED = ("01", "03", "04", "05", "06", "07")
COUPON_AGE_ON_APRIL_1 = {"05": 20, "07": 40}


def _age_on_april_1(birth: dt.date, fy: int) -> int:
    """The age on April 1 of `fy`: the law counts a year at the end of the day
    before the birthday, so this is the everyday age on that day (FY2026: 20 for
    those born 2005-04-02 ... 2006-04-01, DOMAIN.md)."""
    april_1 = dt.date(fy, 4, 1)
    return april_1.year - birth.year - ((april_1.month, april_1.day) < (birth.month, birth.day))


@pytest.fixture
def city(db_url, tmp_path, monkeypatch):
    """3,000 residents of the demo's generator: registry, welfare, NHI, a month of clinic files."""
    monkeypatch.setenv("KENSHIN_DATA_DIR", str(tmp_path / "data"))
    generate(3000, 17, tmp_path, dt.date(2026, 10, 1), 31)
    inbox = tmp_path / "inbox"
    for path in sorted((p for p in inbox.glob("*.csv") if p.name.startswith(("jumin", "seiho", "kokuho"))),
                       key=load_order):
        assert ingest_file(path, url=db_url).status == "loaded", path.name
    for path in sorted(inbox.glob("kenshin_*_202610.csv")):
        assert ingest_file(path, url=db_url).status == "loaded", path.name
    _history(db_url)
    return db_url


def _history(url: str) -> None:
    """Screenings of FY2021-FY2026 (to September) for a third of the residents,
    every method of every family, HPV results 1 and 2: the sequences the
    blocked_by and follow-up rules decide."""
    rng = np.random.default_rng(2026)
    with psycopg.connect(url) as conn:
        fixture_load(conn)
        people = conn.execute("select addressee_id, sex from core.person_current where status = 1 "
                              "order by addressee_id").fetchall()
        rows = []
        for aid, sex in people:
            if rng.random() > 0.35:
                continue
            codes = ["01", "02", "03", "04"] + (["05", "06", "07"] if sex == 2 else [])
            for _ in range(rng.integers(1, 5)):
                code = codes[rng.integers(len(codes))]
                day = dt.date(2021, 4, 1) + dt.timedelta(days=int(rng.integers(0, 5 * 365 + 180)))
                result = "2" if code == "06" and rng.random() < 0.4 else "1"
                rows.append((aid, code, day, result))
        with conn.cursor().copy("copy core.screening (addressee_id, exam_type, exam_date, clinic_code, "
                                "result_code, fee_exempt, link_method, load_id, line_no) from stdin") as copy:
            seen = set()
            for i, (aid, code, day, result) in enumerate(rows):
                if (aid, code, day) not in seen:
                    seen.add((aid, code, day))
                    copy.write_row((aid, code, day, "1413050001", result, False, "fixture", 1, i + 1))


def _eligible(url: str, day: dt.date) -> dict[str, set[str]]:
    """What `kenshin eligible` prints for the whole city on `day`: targets per person."""
    env = {**os.environ, "KENSHIN_DATABASE_URL": url}
    out = subprocess.run([sys.executable, "-m", "kenshin.cli", "eligible", "--as-of", day.isoformat()],
                         capture_output=True, text=True, env=env, check=True).stdout
    return {line["addressee_id"]: set(line["targets"]) for line in map(json.loads, out.splitlines())}


def _births(url: str, day: dt.date) -> dict[str, dt.date]:
    with psycopg.connect(url) as conn:
        return dict(conn.execute("select addressee_id, birth_date from core.person_version where valid_from <= %s "
                                 "and (valid_to is null or valid_to > %s)", (day, day)).fetchall())


def _letters(url: str, kind: str, day: dt.date) -> set[tuple[str, str]]:
    result = notices.run(kind, day, url=url)
    assert result["letters"] > 0
    with psycopg.connect(url) as conn:
        return {(aid, code) for aid, codes in conn.execute(
            "select addressee_id, exam_types from core.notice where kind = %s and as_of = %s", (kind, day))
            for code in codes}


def test_the_coupon_age_here_is_the_national_cohort():
    assert [_age_on_april_1(b, 2026) for b in (dt.date(2005, 4, 1), dt.date(2005, 4, 2), dt.date(2006, 4, 1),
                                               dt.date(2006, 4, 2))] == [21, 20, 20, 19]


def test_every_voucher_and_invitation_is_what_eligible_says(city):
    for kind, day in (("INVITE", INVITE_DAY), ("VOUCHER", VOUCHER_DAY)):
        eligible = _eligible(city, day)
        births = _births(city, day)
        fy = day.year if day.month >= 4 else day.year - 1
        if kind == "INVITE":
            expected = {(aid, c) for aid, targets in eligible.items() for c in targets if c in INVITED}
        else:
            expected = {(aid, c) for aid, targets in eligible.items() for c in targets
                        if c in ("09", "11") or (c in COUPON_AGE_ON_APRIL_1
                                                 and _age_on_april_1(births[aid], fy) == COUPON_AGE_ON_APRIL_1[c])}
        sent = _letters(city, kind, day)
        # each exam type on a letter is one `kenshin eligible` gives that person that day ...
        not_targets = {(aid, c) for aid, c in sent if c not in eligible.get(aid, set())}
        assert not_targets == set(), sorted(not_targets)[:10]
        # ... and no target of a letter's exam types (after the letter's own ages) misses it
        assert sent == expected, (sorted(expected - sent)[:10], sorted(sent - expected)[:10])
        # the cohorts a city checks by hand are in it
        assert any(c == "06" for _, c in sent) if kind == "INVITE" else any(c == "07" for _, c in sent)
        # the second run on the same day: nothing (already sent is the one stated reason)
        assert notices.run(kind, day, url=city)["letters"] == 0
    gastric_after_endoscopy = _gastric_blocked(city)
    assert gastric_after_endoscopy > 0     # the history does exercise the endoscopy rule


def _gastric_blocked(url: str) -> int:
    """People with an endoscopy in FY2025 (none of them may have an X-ray invitation in FY2026)."""
    with psycopg.connect(url) as conn:
        return conn.execute(
            """select count(*) from core.screening s
                where s.exam_type = '02' and s.exam_date between '2025-04-01' and '2026-03-31'
                  and not exists (select 1 from core.notice n where n.kind = 'INVITE' and n.addressee_id = s.addressee_id
                                  and '01' = any(n.exam_types))""").fetchone()[0]
