"""Linkage queries for new arrivals (情報照会, LAYOUTS.md §6).

When someone moves into the city, their earlier screening history sits with
their previous municipality. After a lag window (`include/config/linkage.yaml`)
that lets that municipality finish its records, the city asks for it through
the information network: request files `shokai_req_YYYYMMDD_NNN.csv` (UTF-8)
go to `outbox/linkage/`, the integration platform relays them.

A move-in is asked about once (ops.linkage_request, unique per move-in event
and generation), only while the person still lives here after it and is a
target of at least one programme; the fiscal years asked for follow the
longest retention (保管期間) of those programmes.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from pathlib import Path

import psycopg

from kenshin import config, eligibility, programmes
from kenshin.layout import write_records

log = logging.getLogger(__name__)


def policy() -> dict:
    return config.load("linkage")


def outbox() -> Path:
    path = config.data_dir() / "outbox" / "linkage"
    path.mkdir(parents=True, exist_ok=True)
    return path


_DUE_MOVE_INS = """
select e.event_id, e.addressee_id, e.event_date, e.previous_municipality_code
  from core.person_event e
  join core.person_version v on v.addressee_id = e.addressee_id
   and v.valid_from <= %(day)s and (v.valid_to is null or v.valid_to > %(day)s) and v.status = 1
 where e.event_code = '02' and e.previous_municipality_code is not null
   and e.event_date between %(oldest)s and %(latest)s
   and not exists (select 1 from ops.linkage_request r where r.move_in_event_id = e.event_id)
   -- still here since that move-in: no move-out or death after it
   and not exists (select 1 from core.person_event o
                    where o.addressee_id = e.addressee_id and o.event_code in ('03', '04')
                      and o.event_date > e.event_date)
 order by e.event_date, e.event_id
"""


def fiscal_years_asked(targets: list[programmes.ExamType], as_of: dt.date, move_in: dt.date) -> tuple[int, int]:
    """From the oldest fiscal year a target programme keeps records of (its
    retention; for life: the configured earliest year) to the move-in's."""
    earliest = int(policy()["earliest_fiscal_year"])
    if any(t.retention_years is None for t in targets):
        start = earliest
    else:
        start = max(earliest, programmes.fiscal_year(as_of) - max(t.retention_years for t in targets))
    return start, max(start, programmes.fiscal_year(move_in))


def queue_due(conn: psycopg.Connection, as_of: dt.date) -> int:
    """Queue a request for every move-in whose lag window has passed on `as_of`
    and whose person is a target of at least one programme. Returns how many."""
    rule = policy()
    params = {"day": as_of, "latest": as_of - dt.timedelta(days=int(rule["lag_days"])),
              "oldest": as_of - dt.timedelta(days=int(rule["oldest_move_in_days"]))}
    due = conn.execute(_DUE_MOVE_INS, params).fetchall()
    if not due:
        return 0
    rules = programmes.exam_types()
    people = {p.addressee_id: p for p in eligibility.people(conn, as_of, [d[1] for d in due], rules)}
    queued = 0
    for event_id, aid, moved_in, previous in due:
        verdict = eligibility.assess(people[aid], as_of, rules)
        targets = [rules[code] for code, why in verdict.items() if why is None]
        if not targets:
            continue
        first, last = fiscal_years_asked(targets, as_of, moved_in)
        conn.execute(
            """insert into ops.linkage_request (request_id, move_in_event_id, addressee_id,
                   previous_municipality_code, fiscal_year_from, fiscal_year_to, queued_on)
               values (%s, %s, %s, %s, %s, %s, %s)""",
            (uuid.uuid4(), event_id, aid, previous, first, last, as_of))
        queued += 1
    return queued


def write_requests(conn: psycopg.Connection, as_of: dt.date) -> list[Path]:
    """Every queued request into request files of at most the configured size,
    marked sent in the same transaction as the file is written (temporary name,
    then rename)."""
    size = int(policy()["max_requests_per_file"])
    city = config.load("platform")["city"]["municipality_code"]
    stem = f"shokai_req_{as_of:%Y%m%d}_"
    paths = []
    while True:
        with conn.transaction():
            rows = conn.execute(
                """select request_id, addressee_id, previous_municipality_code, fiscal_year_from, fiscal_year_to
                     from ops.linkage_request where state = 'queued'
                    order by queued_on, addressee_id, request_id limit %s for update""", (size,)).fetchall()
            if not rows:
                return paths
            last = conn.execute("select max(file_name) from ops.linkage_request where file_name like %s",
                                (stem + "%",)).fetchone()[0]
            number = int(last[len(stem):len(stem) + 3]) + 1 if last else 1
            path = outbox() / f"{stem}{number:03d}.csv"
            conn.execute(
                """update ops.linkage_request
                      set state = 'sent', file_name = %s, sent_on = %s, attempts = attempts + 1, updated_at = now()
                    where request_id = any(%s)""", (path.name, as_of, [r[0] for r in rows]))
            created = dt.datetime.now(dt.UTC).astimezone().isoformat(timespec="seconds")
            write_records(path, ["H", "SHOKAI_REQ", created, city],
                          [["D", str(rid), aid, prev, str(first), str(last_fy)]
                           for rid, aid, prev, first, last_fy in rows], encoding="utf-8")
            paths.append(path)
            log.info("linkage requests: %s with %d requests", path.name, len(rows))


def request(as_of: dt.date, url: str | None = None) -> dict:
    """The daily request step: queue what is due, write the files."""
    from kenshin import db

    with psycopg.connect(url or db.database_url()) as conn:
        with conn.transaction():
            queued = queue_due(conn, as_of)
        paths = write_requests(conn, as_of)
        states = dict(conn.execute("select state, count(*) from ops.linkage_request group by state").fetchall())
    return {"as_of": as_of.isoformat(), "queued": queued, "files": [str(p) for p in paths], "states": states}
