"""Synthetic city generator: a reproducible, entirely fictional Kawasaki.

`generate` writes the inbound files the platform receives (LAYOUTS.md §1-3:
住民記録 full and diff extracts, 生活保護 and 国保 monthly lists, CP932, CRLF)
into `out/inbox/`, and the ground truth beside them into `out/truth/`
(never read by the pipeline): every person ever created, every event with the
file and line that carries it, and a summary of counts.

Same seed, same arguments -> byte-identical files. Only counts are logged.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from kenshin.lab.synth.city import City
from kenshin.lab.synth.clinics import ClinicMonths
from kenshin.lab.synth.previous_municipalities import previous_history
from kenshin.lab.synth.registry_files import RESIDENT
from kenshin.platform import progress
from kenshin.platform.envelope import write_records

__all__ = ["generate"]

CITY_CODE = "141305"
EVENT_CODES = tuple(f"{i:02d}" for i in range(1, 9))
OWN_FILES = ("jumin_*.csv", "seiho_*.csv", "kokuho_*.csv", "kenshin_*.csv", "seiken_*.csv")

log = logging.getLogger(__name__)


class _Writer:
    """Writes the inbox files of one run and keeps the counts and event truth."""

    def __init__(self, city: City, inbox: Path) -> None:
        self.city, self.inbox = city, inbox
        self.files = {"jumin_full": 0, "jumin_diff": 0, "seiho": 0, "kokuho": 0}
        self.records = dict.fromkeys(self.files, 0)
        self.events: dict[str, list] = {"addressee_id": [], "event_code": [], "event_date": [],
                                        "file": [], "line": []}

    def _write(self, kind: str, name: str, header: list[str], rows) -> None:
        n = write_records(self.inbox / name, header, rows, encoding="cp932")
        self.files[kind] += 1
        self.records[kind] += n

    def jumin_full(self, day: dt.date) -> None:
        rows = self.city.snapshot(day)
        self._write("jumin_full", f"jumin_{day:%Y%m%d}_full.csv",
                    ["H", "JUMIN", "full", f"{day:%Y%m%d}", CITY_CODE], self.city.reg.jumin_rows(rows))

    def jumin_diff(self, day: dt.date, events: list[tuple[int, str]]) -> None:
        name = f"jumin_{day:%Y%m%d}_diff.csv"
        people = np.array([e[0] for e in events], dtype=np.int64)
        codes = [e[1] for e in events]
        self._write("jumin_diff", name, ["H", "JUMIN", "diff", f"{day:%Y%m%d}", CITY_CODE],
                    self.city.reg.jumin_rows(people, codes, day))
        aid = self.city.reg.people.aid[people].tolist()
        self.events["addressee_id"] += [f"{a:010d}" for a in aid]
        self.events["event_code"] += codes
        self.events["event_date"] += [day.isoformat()] * len(codes)
        self.events["file"] += [name] * len(codes)
        self.events["line"] += list(range(2, len(codes) + 2))  # line 1 is the header

    def monthly_lists(self, day: dt.date) -> None:
        """生活保護 and 国保 lists of day's month, created on its first day."""
        created = day.replace(day=1)
        welfare, nhi = self.city.monthly_lists(day)
        reg = self.city.reg
        self._write("seiho", f"seiho_{created:%Y%m}.csv",
                    ["H", "SEIHO", f"{created:%Y%m}", f"{created:%Y%m%d}"], reg.seiho_rows(welfare))
        self._write("kokuho", f"kokuho_{created:%Y%m}.csv",
                    ["H", "KOKUHO", f"{created:%Y%m}", f"{created:%Y%m%d}"], reg.kokuho_rows(nhi))


def whole_months(start: dt.date, days: int) -> tuple[dt.date, dt.date] | None:
    """First and last day of the calendar months lying wholly in the simulated days."""
    end = start + dt.timedelta(days=days)
    first = start if start.day == 1 else dt.date(start.year + start.month // 12, start.month % 12 + 1, 1)
    last = end.replace(day=1) - dt.timedelta(days=1)
    if (end + dt.timedelta(days=1)).day == 1:
        last = end
    return (first, last) if first < last else None


def generate(residents: int, seed: int, out: Path, start: dt.date, days: int, clinics: bool = True) -> dict:
    """Write a synthetic city of `residents` residents on `start` and `days`
    days of changes after it; return (and write to truth/summary.json) the counts.

    Files in `out/inbox/`: `jumin_{start}_full.csv`; `jumin_YYYYMMDD_diff.csv`
    for each following day (empty on closed days); `jumin_YYYYMMDD_full.csv`
    on each 1st of a month after the start; `seiho_YYYYMM.csv` and
    `kokuho_YYYYMM.csv` for each month from the start's to the last day's.
    With `clinics`, each calendar month lying wholly in the simulated days also
    gets its clinic files (`kenshin_{clinic}_YYYYMM.csv`) and the detailed-exam
    outcomes of its 要精検 results over the following months
    (`seiken_{clinic}_YYYYMM.csv`; see synth.clinics).
    Files of an earlier run in that inbox are removed first so that the inbox
    holds exactly one run.
    """
    if residents < 1 or days < 0:
        raise ValueError("residents must be positive and days not negative")
    out = Path(out)
    inbox, truth = out / "inbox", out / "truth"
    inbox.mkdir(parents=True, exist_ok=True)
    truth.mkdir(parents=True, exist_ok=True)
    for pattern in OWN_FILES:
        for stale in sorted(inbox.glob(pattern)):
            stale.unlink()

    city = City.build(residents, seed, start)
    writer = _Writer(city, inbox)
    log.info("synthetic city built: %d residents, %d people on the register",
             residents, city.reg.people.n)
    months = whole_months(start, days) if clinics else None
    exams = ClinicMonths(city, seed, *months) if months else None
    writer.jumin_full(start)
    writer.monthly_lists(start)
    if exams:
        exams.day(start)
    with progress.task(f"synthetic city ({residents:,} residents)", total=days, unit="days") as bar:
        for offset in range(1, days + 1):
            day = start + dt.timedelta(days=offset)
            if exams:
                exams.before_day()
            writer.jumin_diff(day, city.step(day))
            if exams:
                exams.day(day)
            if day.day == 1:
                city.month_update(day)
                writer.jumin_full(day)
                writer.monthly_lists(day)
            bar.advance()

    pq.write_table(city.reg.truth_table(), truth / "persons.parquet")
    pq.write_table(pa.table({
        "addressee_id": pa.array(writer.events["addressee_id"], pa.string()),
        "event_code": pa.array(writer.events["event_code"], pa.string()),
        "event_date": pa.array(writer.events["event_date"], pa.string()),
        "file": pa.array(writer.events["file"], pa.string()),
        "line": pa.array(writer.events["line"], pa.int32()),
    }), truth / "events.parquet")
    # what the previous municipalities hold of the people who moved in (the
    # network simulator answers linkage queries from it)
    pq.write_table(previous_history(pq.read_table(truth / "persons.parquet"),
                                    pq.read_table(truth / "events.parquet"), seed),
                   truth / "previous_municipalities.parquet")
    if exams:
        counts, screening_truth, followup_truth = exams.write(inbox)
        writer.files.update(counts["files"])
        writer.records.update(counts["records"])
        pq.write_table(screening_truth, truth / "clinic_records.parquet")
        pq.write_table(followup_truth, truth / "detailed_exams.parquet")
    codes = writer.events["event_code"]
    summary = {
        "seed": seed,
        "start": start.isoformat(),
        "days": days,
        "residents": {"start": residents,
                      "end": int((city.reg.people.status == RESIDENT).sum())},
        "persons": city.reg.people.n,
        "files": writer.files,
        "records": writer.records,
        "events": {code: codes.count(code) for code in EVENT_CODES},
    }
    (truth / "summary.json").write_text(json.dumps(summary, ensure_ascii=False, indent=2) + "\n",
                                        encoding="utf-8")
    log.info("synthetic city written: %s files, %s records", writer.files, writer.records)
    return summary
