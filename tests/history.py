"""A synthetic history of twelve fiscal years (FY2014-2025) in every table the
retention purge reaches, with its ground truth: what each row is and when it
was made. `expected_survivors` applies the retention policy to the truth in
plain Python (independently of the purge's SQL), table by table."""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from builders import insert_event, insert_person

FIRST_FY, LAST_FY = 2014, 2025
# exam type, programme period in years (None: for life), share screened per year, sex
EXAMS = {"04": (5, 0.35, None), "07": (5, 0.2, 2), "09": (10, 0.08, None), "10": (10, 0.08, 2),
         "12": (None, 0.02, None)}
CLINIC = "1413050001"


def fy_of(day: dt.date) -> int:
    return day.year if day.month >= 4 else day.year - 1


def at(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(12), dt.timezone(dt.timedelta(hours=9)))


@dataclass
class Truth:
    """What was written: per table, each row's key and the facts its retention depends on."""

    rows: dict[str, dict] = field(default_factory=lambda: defaultdict(dict))
    files: dict[Path, dt.date] = field(default_factory=dict)

    def add(self, table: str, key, **facts) -> None:
        self.rows[table][key] = facts


class _Writer:
    def __init__(self, conn, rng: random.Random, truth: Truth, data: Path) -> None:
        self.conn, self.rng, self.truth, self.data = conn, rng, truth, data
        self.line = 0

    def manifest(self, name: str, source: str, day: dt.date, status: str = "loaded") -> int:
        load_id = self.conn.execute(
            """insert into ops.load_manifest (file_name, source, sha256, size_bytes, status, rows_in_file,
                   rows_loaded, rows_quarantined, received_at, finished_at, file_date)
               values (%s, %s, %s, 1, %s, 0, 0, 0, %s, %s, %s) returning load_id""",
            (name, source, uuid.uuid4().hex * 2, status, at(day), at(day), day)).fetchone()[0]
        self.truth.add("ops.load_manifest", load_id, day=day)
        self.conn.execute("insert into ops.gate_result (load_id, suite, expectation, success, checked_at) "
                          "values (%s, %s, 'expect_table_row_count_to_be_between', true, %s)",
                          (load_id, source, at(day)))
        self.truth.add("ops.gate_result", load_id, load=load_id)
        return load_id

    def landing(self, table: str, load_id: int, line_no: int, day: dt.date, *, rejected: bool = False,
                in_open_review: bool = False) -> None:
        reason = "birth_date: not a date" if rejected else None
        self.conn.execute(f"insert into {table} (load_id, line_no, addressee_id, reject_field, reject_reason) "
                          "values (%s, %s, '0000000001', %s, %s)",
                          (load_id, line_no, "birth_date" if rejected else None, reason))
        self.truth.add(table, (load_id, line_no), day=day, rejected=rejected, open_review=in_open_review)
        if rejected:
            self.conn.execute("insert into ops.quarantine (load_id, line_no, field, reason) "
                              "values (%s, %s, 'birth_date', 'not a date')", (load_id, line_no))
            self.truth.add("ops.quarantine", (load_id, line_no), day=day)


def write(conn, data: Path, seed: int = 7, people: int = 90) -> Truth:
    """Write the history (as the database owner, straight into the tables)."""
    rng, truth = random.Random(seed), Truth()
    w = _Writer(conn, rng, truth, data)
    conn.execute("insert into ops.load_manifest (file_name, source, sha256, size_bytes, status) "
                 "values ('fixture', 'fixture', repeat('0', 64), 0, 'rejected')")  # load 1, for builders
    truth.add("ops.load_manifest", 1, day=dt.date.today(), fixture=True)
    persons = _people(conn, rng, truth, people)
    loads = {}   # (fy, month) -> clinic load
    for fy in range(FIRST_FY, LAST_FY + 1):
        for month in (6, 10, 2):
            day = dt.date(fy + (month < 4), month, 28)
            loads[fy, month] = w.manifest(f"kenshin_{day:%Y%m}_{CLINIC}.csv", "kenshin", day)
            registry = w.manifest(f"jumin_{day:%Y%m%d}_diff.csv", "jumin", day)
            for line in (1, 2, 3):
                w.landing("landing.jumin", registry, line, day, rejected=line == 3)
    screenings = _screenings(w, persons, loads)
    _notices_and_vouchers(w, persons, screenings)
    _external(w, persons)
    _audit(w, screenings)
    _review_and_checks(w, persons, loads)
    _linkage(w, persons)
    _logs(w)
    _files(w, data)
    return truth


def _people(conn, rng, truth, n):
    persons = []
    for i in range(1, n + 1):
        aid, sex = f"{i:010d}", 1 + i % 2
        birth = dt.date(1940 + rng.randrange(45), 1 + rng.randrange(12), 1 + rng.randrange(28))
        left = None
        if i % 6 == 0:   # one in six left the city (moved out, died, removed) at some point
            left = dt.date(2015 + rng.randrange(11), 1 + rng.randrange(12), 1 + rng.randrange(28))
        if left:
            insert_person(conn, aid, sex, birth, valid_from=dt.date(2010, 4, 1), valid_to=left, line_no=i)
            insert_person(conn, aid, sex, birth, valid_from=left, status=2 + i % 3, line_no=i, new=False)
        else:
            insert_person(conn, aid, sex, birth, valid_from=dt.date(2010, 4, 1), line_no=i)
        versions = [r[0] for r in conn.execute("select version_id from core.person_version where addressee_id = %s",
                                               (aid,))]
        truth.add("core.person", aid, left=left)
        for v in versions:
            truth.add("core.person_version", v, person=aid)
        if i % 5 == 0:
            conn.execute("insert into core.welfare_period (addressee_id, case_number, benefit_type, start_date, "
                         "last_listed, load_id) values (%s, '00000001', 1, '2012-04-01', '2012-04-01', 1)", (aid,))
            truth.add("core.welfare_period", aid, person=aid)
        if i % 4 == 0:
            conn.execute("insert into core.nhi_period (addressee_id, insured_number_hmac, qualified_from, "
                         "last_listed, load_id) values (%s, '\\x00', '2011-04-01', '2011-04-01', 1)", (aid,))
            truth.add("core.nhi_period", aid, person=aid)
        persons.append((aid, sex, left))
    return persons


def _screenings(w, persons, loads):
    out = []
    for aid, sex, left in persons:
        hepatitis_done = False
        for fy in range(FIRST_FY, LAST_FY + 1):
            for code, (_, share, only_sex) in EXAMS.items():
                if (only_sex and sex != only_sex) or w.rng.random() >= share:
                    continue
                if code == "12" and hepatitis_done:
                    continue
                month = w.rng.choice((6, 10, 2))
                day = dt.date(fy + (month < 4), month, 1 + w.rng.randrange(20))
                if left and day >= left:
                    continue
                hepatitis_done |= code == "12"
                w.line += 1
                load = loads[fy, month]
                load_day = dt.date(fy + (month < 4), month, 28)
                result = "3" if w.rng.random() < 0.15 else "1"
                sid = w.conn.execute(
                    """insert into core.screening (addressee_id, exam_type, exam_date, clinic_code, result_code,
                           fee_exempt, link_method, load_id, line_no)
                       values (%s, %s, %s, %s, %s, false, 'history', %s, %s) returning screening_id""",
                    (aid, code, day, CLINIC, result, load, w.line)).fetchone()[0]
                w.truth.add("core.screening", sid, person=aid, exam_type=code, fy=fy, day=day)
                w.landing("landing.kenshin", load, w.line, load_day)
                w.conn.execute("insert into ops.record_match (load_id, line_no, outcome, addressee_id, method, "
                               "decided_at) values (%s, %s, 'linked', %s, 'addressee_id', %s)",
                               (load, w.line, aid, at(day)))
                w.truth.add("ops.record_match", (load, w.line), day=load_day, person=aid, open_review=False)
                if result == "3" and w.rng.random() < 0.8:
                    did = w.conn.execute(
                        """insert into core.detailed_exam (screening_id, addressee_id, followup_date, outcome,
                               clinic_code, link_method, load_id, line_no)
                           values (%s, %s, %s, '4', %s, 'history', %s, %s) returning detailed_exam_id""",
                        (sid, aid, day + dt.timedelta(days=40), CLINIC, load, w.line)).fetchone()[0]
                    w.truth.add("core.detailed_exam", did, screening=sid, person=aid)
                out.append((sid, aid, code, fy, day, result))
    return out


def _notice(w, kind, aid, fy, causes):
    nid = w.conn.execute(
        """insert into core.notice (kind, addressee_id, fiscal_year, exam_types, as_of, deadline, delivery, batch)
           values (%s, %s, %s, '{04}', %s, %s, 'bulk', %s) returning notice_id""",
        (kind, aid, fy, dt.date(fy, 5, 1), dt.date(fy + 1, 3, 31), f"{fy}0501_{kind}")).fetchone()[0]
    w.truth.add("core.notice", nid, person=aid, fy=fy, causes=[c for c, _ in causes])
    for cause, sid in causes:
        w.conn.execute("insert into core.notice_cause (notice_id, kind, addressee_id, cause, screening_id) "
                       "values (%s, %s, %s, %s, %s)", (nid, kind, aid, cause, sid))
        w.truth.add("core.notice_cause", (nid, cause), notice=nid, screening=sid, fy=fy)


def _notices_and_vouchers(w, persons, screenings):
    number = 0
    for aid, _, left in persons:
        for fy in range(FIRST_FY, LAST_FY + 1):
            if left and dt.date(fy, 4, 1) >= left:
                break
            if w.rng.random() < 0.3:
                _notice(w, "VOUCHER", aid, fy, [(f"FY{fy}:04", None)])
                number += 1
                w.conn.execute("insert into core.voucher (voucher_number, addressee_id, fiscal_year, exam_types, "
                               "issued_on) values (%s, %s, %s, '{04}', %s)",
                               (f"{number:012d}", aid, fy, dt.date(fy, 4, 1)))
                w.truth.add("core.voucher", f"{number:012d}", person=aid, fy=fy)
    for sid, aid, _, fy, _, result in screenings:
        if result == "3":
            _notice(w, "FOLLOWUP", aid, fy, [(f"screening:{sid}", sid)])


def _external(w, persons):
    for aid, _, left in persons[::7]:
        for fy in (2013, 2016, 2019, 2022):
            day = dt.date(fy, 9, 9)
            if left and day >= left:
                continue
            for code in ("04", "09", "12"):
                eid = w.conn.execute(
                    """insert into core.external_screening (addressee_id, source_municipality_code, exam_type,
                           exam_date, result_code) values (%s, '131016', %s, %s, '1')
                       returning external_screening_id""", (aid, code, day)).fetchone()[0]
                w.truth.add("core.external_screening", eid, person=aid, exam_type=code, fy=fy_of(day))


def _audit(w, screenings):
    for sid, _, _, _, day, _ in screenings[::9]:
        cid = w.conn.execute(
            """insert into audit.record_correction (table_name, record_id, old_values, new_values, old_load_id,
                   old_line_no, new_load_id, new_line_no, changed_by, changed_at)
               values ('core.screening', %s, '{"result_code": "2"}', '{"result_code": "1"}', 1, 1, 1, 1,
                       'kenshin_loader', %s) returning correction_id""", (sid, at(day + dt.timedelta(days=30)))
        ).fetchone()[0]
        w.truth.add("audit.record_correction", cid, record=("core.screening", sid), day=day)
    for i in range(3):   # corrections of records long gone, older than the audit period
        cid = w.conn.execute(
            """insert into audit.record_correction (table_name, record_id, old_values, new_values, old_load_id,
                   old_line_no, new_load_id, new_line_no, changed_by, changed_at, values_purged_at)
               values ('core.screening', %s, '{"result_code": null}', '{"result_code": null}', 1, 1, 1, 1,
                       'kenshin_loader', %s, %s) returning correction_id""",
            (10_000_000 + i, at(dt.date(2009, 6, 1)), at(dt.date(2015, 4, 1)))).fetchone()[0]
        w.truth.add("audit.record_correction", cid, record=("core.screening", 10_000_000 + i),
                    day=dt.date(2009, 5, 1))


def _review_and_checks(w, persons, loads):
    for k, fy in enumerate(range(FIRST_FY, LAST_FY + 1)):
        load = loads[fy, 10]
        line = 5000 + k
        is_open = k % 4 == 0
        w.landing("landing.kenshin", load, line, dt.date(fy, 10, 28), in_open_review=is_open)
        w.conn.execute("insert into ops.record_match (load_id, line_no, outcome, decided_at) "
                       "values (%s, %s, 'review', %s)", (load, line, at(dt.date(fy, 10, 28))))
        w.truth.add("ops.record_match", (load, line), day=dt.date(fy, 10, 28), person=None, open_review=is_open)
        candidate = persons[k][0]
        decided = None if is_open else at(dt.date(fy, 11, 15))
        rid = w.conn.execute(
            """insert into ops.review_item (load_id, line_no, source, reason, candidates, status,
                   linked_addressee_id, decided_by, decided_at)
               values (%s, %s, 'kenshin', 'two candidates', %s, %s, %s, %s, %s) returning review_id""",
            (load, line, json.dumps([{"addressee_id": candidate, "score": 80}]),
             "open" if is_open else "rejected", None, None if is_open else "staff01", decided)).fetchone()[0]
        w.truth.add("ops.review_item", rid, open=is_open, decided=decided, candidates=[candidate], load=load)
        registry = w.manifest(f"jumin_{fy}0401_full.csv", "jumin", dt.date(fy, 4, 1))
        aid = persons[k + 20][0]
        resolved = None if k % 3 == 0 else at(dt.date(fy, 6, 1))
        cid = w.conn.execute(
            """insert into ops.registry_check (addressee_id, load_id, reason, raised_on, resolved_at, resolved_by)
               values (%s, %s, 'not in the full snapshot', %s, %s, %s) returning check_id""",
            (aid, registry, dt.date(fy, 4, 1), resolved, resolved and "staff02")).fetchone()[0]
        w.truth.add("ops.registry_check", cid, person=aid, resolved=resolved, load=registry)
        # welfare and NHI lists of the year: one promoted row each
        for source in ("seiho", "kokuho"):
            lid = w.manifest(f"{source}_{fy}04.csv", source, dt.date(fy, 4, 5))
            w.landing(f"landing.{source}", lid, 1, dt.date(fy, 4, 5))


def _linkage(w, persons):
    for k, (aid, _, left) in enumerate(persons[3::8]):
        move_in = dt.date(2013 + k, 5, 10)
        if left and move_in >= left:
            continue
        insert_event(w.conn, aid, "02", move_in, 900 + k)
        event = w.conn.execute("select event_id from core.person_event where addressee_id = %s and event_code = '02'",
                               (aid,)).fetchone()[0]
        w.truth.add("core.person_event", event, person=aid)
        closed = move_in + dt.timedelta(days=150)
        state = "answered" if k % 3 else "sent"
        rid = uuid.uuid4()
        w.conn.execute(
            """insert into ops.linkage_request (request_id, move_in_event_id, addressee_id,
                   previous_municipality_code, fiscal_year_from, fiscal_year_to, state, queued_on, closed_on)
               values (%s, %s, %s, '131016', %s, %s, %s, %s, %s)""",
            (rid, event, aid, fy_of(move_in) - 5, fy_of(move_in), state, move_in, closed if k % 3 else None))
        w.truth.add("ops.linkage_request", rid, person=aid, closed=closed if k % 3 else None)
        lid = w.manifest(f"shokai_res_{closed:%Y%m%d}_001.csv", "shokai_res", closed)
        w.conn.execute("insert into landing.shokai_res (load_id, line_no, request_id, status) values (%s, 1, %s, '00')",
                       (lid, str(rid)))
        w.truth.add("landing.shokai_res", (lid, 1), day=closed)


def _logs(w):
    for k, day in enumerate((dt.date(2016, 5, 1), dt.date(2026, 10, 1), dt.date(2026, 11, 20))):
        w.conn.execute("insert into ops.deletion_log (table_name, record_id, addressee_id, deleted_at) "
                       "values ('core.screening', %s, '0000000001', %s)", (20_000_000 + k, at(day)))
        w.truth.add("ops.deletion_log", ("core.screening", 20_000_000 + k), day=day)
        lid = w.conn.execute("insert into ops.linkage_deletion (run_on, applied_before, loads, rows_deleted, "
                             "deleted_at) values (%s, %s, 1, 1, %s) returning deletion_id",
                             (day, day, at(day))).fetchone()[0]
        w.truth.add("ops.linkage_deletion", lid, day=day)


def _files(w, data: Path):
    """Files the platform wrote (letters, returns, requests, copies) and received (inbox)."""
    def touch(path: Path, day: dt.date) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"synthetic\r\n")
        stamp = at(day).timestamp()
        os.utime(path, (stamp, stamp))
        w.truth.files[path] = day

    for day in (dt.date(2019, 5, 1), dt.date(2026, 5, 1), dt.date(2026, 11, 1)):
        touch(data / "notices" / f"{day:%Y%m%d}_VOUCHER.pdf", day)
        touch(data / "outbox" / "returns" / f"kenshin_{day:%Y%m}_{CLINIC}_return.csv", day)
        touch(data / "outbox" / "fukuhon" / f"fukuhon_{day:%Y%m%d}.csv", day)
    received = w.conn.execute("select file_name, finished_at::date from ops.load_manifest "
                              "where source = 'kenshin' order by load_id").fetchall()
    for name, day in received[::5] + received[-1:]:
        touch(data / "inbox" / name, day)
