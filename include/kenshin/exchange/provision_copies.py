"""Provision copies (副本) for other municipalities: `fukuhon_YYYYMMDD.csv`
(UTF-8, LAYOUTS.md §7) in `outbox/fukuhon/`, registered on the intermediate
server so that a municipality our residents move to can query their history.

Each monthly export holds the city's own screening records added or changed
since the previous export (all of them the first time), with their
detailed-exam outcome; `auto_answer=0` for anyone at a protected address (the
network must not answer for them automatically: core.protected_address);
nothing past its retention
(保管期間, `programmes.yaml`). A screening purged or deleted here in the window
is an `X` row (action X, key only): the intermediate server erases its copy in
step (DOMAIN.md "Retention"). The window of changes is recorded per period
(ops.provision_export): a rerun of the same period writes the same bytes.
"""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path

import psycopg

from kenshin.platform import config
from kenshin.platform.envelope import write_records
from kenshin.programmes import rules as programmes

log = logging.getLogger(__name__)


def outbox() -> Path:
    path = config.data_dir() / "outbox" / "fukuhon"
    path.mkdir(parents=True, exist_ok=True)
    return path


_RECORDS = """
with retained as (
    select code, retained_from from unnest(%(codes)s::text[], %(retained_from)s::date[]) as r (code, retained_from)
)
select s.addressee_id, s.exam_type, s.exam_date, s.result_code, coalesce(d.outcome, ''),
       case when v.addressee_id in (select addressee_id from core.protected_address) then '0' else '1' end
  from core.screening s
  left join core.detailed_exam d on d.screening_id = s.screening_id
  join retained r on r.code = s.exam_type
  join core.person_version v on v.addressee_id = s.addressee_id
   and v.valid_from <= %(day)s and (v.valid_to is null or v.valid_to > %(day)s)
 where greatest(s.updated_at, coalesce(d.updated_at, '-infinity')) >= %(since)s
   and greatest(s.updated_at, coalesce(d.updated_at, '-infinity')) < %(before)s
   and s.exam_date >= r.retained_from
 order by s.addressee_id, s.exam_type, s.exam_date
"""


# Screenings purged or deleted in the window whose key has no screening now (a
# deletion then a new record under the same key is an A row, not an X).
_DELETIONS = """
select distinct g.addressee_id, g.exam_type, g.exam_date
  from ops.deletion_log g
 where g.table_name = 'core.screening' and g.exam_type is not null
   and g.deleted_at >= %(since)s and g.deleted_at < %(before)s
   and not exists (select 1 from core.screening s where s.addressee_id = g.addressee_id
                      and s.exam_type = g.exam_type and s.exam_date = g.exam_date)
 order by 1, 2, 3
"""


def retained_from(as_of: dt.date) -> dict[str, dt.date]:
    """Per exam type, the earliest exam date still within retention on `as_of`:
    a record is kept until the end of the fiscal year `retention_years` after
    the one of the exam (for life: no limit)."""
    fy = programmes.fiscal_year(as_of)
    return {code: (programmes.fiscal_year_start(fy - rule.retention_years) if rule.retention_years
                   else dt.date.min)
            for code, rule in programmes.exam_types().items()}


def export(conn: psycopg.Connection, as_of: dt.date) -> dict:
    """The export of `as_of`'s month (period YYYYMM), written once; a rerun of
    the same period rewrites the same file from the recorded window."""
    period = f"{as_of:%Y%m}"
    row = conn.execute("select changed_from, changed_before, created_at, file_name from ops.provision_export "
                       "where period = %s", (period,)).fetchone()
    if row:
        since, before, created, name = row
    else:
        previous = conn.execute("select max(changed_before) from ops.provision_export "
                                "where period < %s", (period,)).fetchone()[0]
        since = previous or dt.datetime.min.replace(tzinfo=dt.UTC)
        before = conn.execute("select ops.change_watermark()").fetchone()[0]
        created = conn.execute("select date_trunc('second', now())").fetchone()[0]
        name = f"fukuhon_{as_of:%Y%m%d}.csv"
    limits = retained_from(as_of)
    records = conn.execute(_RECORDS, {"day": as_of, "since": since, "before": before,
                                      "codes": list(limits), "retained_from": list(limits.values())}).fetchall()
    deleted = conn.execute(_DELETIONS, {"since": since, "before": before}).fetchall()
    city = config.load("platform")["city"]["municipality_code"]
    path = outbox() / name
    rows = sorted([["D", aid, exam_type, f"{day:%Y%m%d}", result, outcome, auto, "A"]
                   for aid, exam_type, day, result, outcome, auto in records]
                  + [["D", aid, exam_type, f"{day:%Y%m%d}", "", "", "", "X"] for aid, exam_type, day in deleted],
                  key=lambda r: (r[1], r[2], r[3]))
    write_records(path, ["H", "FUKUHON", created.isoformat(), city], rows, encoding="utf-8")
    if not row:
        conn.execute("insert into ops.provision_export (period, changed_from, changed_before, created_at, "
                     "file_name, records) values (%s, %s, %s, %s, %s, %s)",
                     (period, since, before, created, name, len(records)))
    log.info("provision copies %s: %d records, %d deletions", name, len(records), len(deleted))
    return {"period": period, "file": str(path), "records": len(records), "deletions": len(deleted),
            "auto_answer_0": sum(1 for r in records if r[5] == "0")}


def run(as_of: dt.date, *, url: str | None = None) -> dict:
    """One period's export in one transaction (the DAG's task, `kenshin provision export`)."""
    from kenshin.platform import db

    with db.connect(url) as conn, conn.transaction():
        return export(conn, as_of)


def run_month_before(day: dt.date, *, url: str | None = None) -> dict:
    """The export of the last month that ended before `day`: the scheduled run of
    the 1st exports the month before; a manual run later in the month exports
    the same month, never the month still going on."""
    return run(day.replace(day=1) - dt.timedelta(days=1), url=url)
