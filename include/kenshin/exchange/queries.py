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

from kenshin.platform import config, vocabulary
from kenshin.platform.envelope import write_records
from kenshin.programmes import eligibility
from kenshin.programmes import rules as programmes

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
   and v.valid_from <= %(day)s and (v.valid_to is null or v.valid_to > %(day)s) and v.status = %(resident)s
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
    params = {"day": as_of, "resident": vocabulary.RESIDENT, "latest": as_of - dt.timedelta(days=int(rule["lag_days"])),
              "oldest": as_of - dt.timedelta(days=int(rule["oldest_move_in_days"]))}
    due = conn.execute(_DUE_MOVE_INS, params).fetchall()
    if not due:
        return 0
    rules = programmes.exam_types()
    people = {p.addressee_id: p for p in eligibility.people(conn, as_of, [d[1] for d in due])}
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


def request(as_of: dt.date, *, url: str | None = None) -> dict:
    """The daily step: due retries back to the queue, expiries (asked once more),
    move-ins whose lag window passed queued, then the request files."""
    from kenshin.platform import db

    with db.connect(url) as conn:
        with conn.transaction():
            moved = advance(conn, as_of)
            queued = queue_due(conn, as_of)
        paths = write_requests(conn, as_of)
        states = dict(conn.execute("select state, count(*) from ops.linkage_request group by state").fetchall())
    return {"as_of": as_of.isoformat(), "queued": queued, **moved, "files": [str(p) for p in paths],
            "states": states}


def purge(as_of: dt.date, *, url: str | None = None) -> dict:
    """The daily deletion of received responses past their days (a transaction)."""
    from kenshin.platform import db

    with db.connect(url) as conn, conn.transaction():
        return purge_responses(conn, as_of)


def apply_responses(conn: psycopg.Connection, load_id: int, day: dt.date) -> dict[str, int]:
    """Apply a response file's accepted rows to their requests (in the load's
    promote transaction): `00` records into core.external_screening and the
    request answered; `01` no record; `02` manual pending (waited for); `09`
    retried after the next backoff, or failed after the last."""
    rule = policy()
    conn.execute(
        """create temp table res on commit drop as
           select a.*, r.addressee_id, r.attempts
             from landing.shokai_res_accepted a join ops.linkage_request r using (request_id)
            where a.load_id = %s""", (load_id,))
    records = conn.execute(
        """
        insert into core.external_screening (addressee_id, source_municipality_code, exam_type, exam_date,
                                             result_code, followup_outcome, load_id, line_no)
        select distinct on (addressee_id, exam_type, exam_date, responder_municipality_code)
               addressee_id, responder_municipality_code, exam_type, exam_date, result_code, followup_outcome,
               load_id, line_no
          from res where status = '00'
         order by addressee_id, exam_type, exam_date, responder_municipality_code, line_no desc
        on conflict (addressee_id, exam_type, exam_date, source_municipality_code) do update
           set result_code = excluded.result_code, followup_outcome = excluded.followup_outcome,
               load_id = excluded.load_id, line_no = excluded.line_no, updated_at = now()
        """).rowcount
    # one outcome per request: an answer (00, 01) wins over 02 and 09 in the same file
    conn.execute(
        """create temp table outcome on commit drop as
           select distinct on (request_id) request_id, status, attempts, exam_type as error_code
             from res order by request_id, status, line_no""")
    backoff = [int(d) for d in rule["retry_backoff_days"]]
    counts = {}
    for status, state in (("00", "answered"), ("01", "no_record")):
        counts[state] = conn.execute(
            """update ops.linkage_request r set state = %s, closed_on = %s, answered_load_id = %s,
                      next_attempt_on = null, updated_at = now()
                 from outcome o where o.request_id = r.request_id and o.status = %s""",
            (state, day, load_id, status)).rowcount
    counts["manual_pending"] = conn.execute(
        """update ops.linkage_request r set state = 'manual_pending', next_attempt_on = %s, updated_at = now()
             from outcome o where o.request_id = r.request_id and o.status = '02'""",
        (day + dt.timedelta(days=int(rule["manual_wait_days"])),)).rowcount
    counts["retry"] = counts["failed"] = 0
    for request_id, attempts, error_code in conn.execute(
            "select request_id, attempts, error_code from outcome where status = '09'").fetchall():
        if attempts <= len(backoff):
            conn.execute("""update ops.linkage_request set state = 'retry', error_code = %s, next_attempt_on = %s,
                                   updated_at = now() where request_id = %s""",
                         (error_code, day + dt.timedelta(days=backoff[attempts - 1]), request_id))
            counts["retry"] += 1
        else:
            conn.execute("""update ops.linkage_request set state = 'failed', error_code = %s, closed_on = %s,
                                   next_attempt_on = null, updated_at = now() where request_id = %s""",
                         (error_code, day, request_id))
            counts["failed"] += 1
    conn.execute("drop table res; drop table outcome")
    return {"external_screenings": records, **counts}


def advance(conn: psycopg.Connection, day: dt.date) -> dict[str, int]:
    """The day's state changes that no file brings: retries due go back to the
    queue; requests unanswered past the timeout, and manual answers waited for
    too long, expire, and a first request that expired is asked once more."""
    rule = policy()
    retried = conn.execute(
        """update ops.linkage_request set state = 'queued', next_attempt_on = null, updated_at = now()
            where state = 'retry' and next_attempt_on <= %s""", (day,)).rowcount
    expired = conn.execute(
        """update ops.linkage_request set state = 'expired', closed_on = %(day)s, updated_at = now()
            where (state = 'sent' and sent_on <= %(timeout)s)
               or (state = 'manual_pending' and next_attempt_on <= %(day)s)
           returning request_id, move_in_event_id, addressee_id, previous_municipality_code,
                     fiscal_year_from, fiscal_year_to, generation""",
        {"day": day, "timeout": day - dt.timedelta(days=int(rule["answer_timeout_days"]))}).fetchall()
    requeued = 0
    for _, event_id, aid, previous, first, last, generation in expired:
        if generation == 0:
            requeued += conn.execute(
                """insert into ops.linkage_request (request_id, move_in_event_id, addressee_id,
                       previous_municipality_code, fiscal_year_from, fiscal_year_to, generation, queued_on)
                   values (%s, %s, %s, %s, %s, %s, 1, %s) on conflict do nothing""",
                (uuid.uuid4(), event_id, aid, previous, first, last, day)).rowcount
    return {"retried": retried, "expired": len(expired), "requeued": requeued}


def purge_responses(conn: psycopg.Connection, day: dt.date) -> dict[str, int]:
    """Delete the received response rows (landing) and the response files of
    loads finished more than the configured days ago; log the counts."""
    before = day - dt.timedelta(days=int(config.load("retention")["landing_days"]["network_responses"]))
    loads = conn.execute(
        """select load_id, file_name from ops.load_manifest
            where source = 'shokai_res' and finished_at is not null and finished_at::date <= %s
              and exists (select 1 from landing.shokai_res l where l.load_id = ops.load_manifest.load_id)""",
        (before,)).fetchall()
    deleted = conn.execute("delete from landing.shokai_res where load_id = any(%s)",
                           ([lid for lid, _ in loads],)).rowcount if loads else 0
    for _, name in loads:
        (config.data_dir() / "inbox" / name).unlink(missing_ok=True)
    if loads:
        conn.execute("insert into ops.linkage_deletion (run_on, applied_before, loads, rows_deleted) "
                     "values (%s, %s, %s, %s)", (day, before, len(loads), deleted))
        log.info("linkage responses deleted: %d rows of %d files applied by %s", deleted, len(loads), before)
    return {"loads": len(loads), "rows_deleted": deleted}
