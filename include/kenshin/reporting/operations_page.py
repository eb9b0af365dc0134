"""The operations overview (運用状況): what this month's processing did, at a glance.

`overview(month, *, url)` gathers, from `ops` only and as `kenshin_auditor` (who
reads ops and audit, never core), the files received in a month (Asia/Tokyo)
per source and period with their status and row counts, the gate's results
with the failed expectations, the open review-queue items, the network query
states, and the last retention purge. `render_html` draws it as a page (the
Airflow plugin "Screening operations" serves it under Airflow's sign-in).

Counts, file names, expectation names and the loader's own reasons (which
name a line and field, never a value) only: no personal data is read.

Inbox entries that never became a load (`unrecognised`, `unreadable`, `not a
file`: kenshin.ingest.rejections.ENTRY_STATUSES) show where rejected files do:
counted with them per source and in the totals, listed with their status and
reason among the files.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from kenshin.ingest.rejections import ENTRY_STATUSES, failed_expectations
from kenshin.platform import db, vocabulary

TEMPLATES = db.PROJECT_ROOT / "include" / "kenshin" / "reporting" / "templates"


@dataclass
class Overview:
    month: dt.date                                  # first day of the month shown
    sources: list[dict] = field(default_factory=list)
    files: list[dict] = field(default_factory=list)
    review: list[dict] = field(default_factory=list)
    linkage: list[dict] = field(default_factory=list)
    purge: dict | None = None

    @property
    def run_ids(self) -> list[str]:
        return sorted({f["run_id"] for f in self.files if f["run_id"]})


def month_of(text: str | None, today: dt.date | None = None) -> dt.date:
    """`YYYY-MM` (or this month in Asia/Tokyo) as the month's first day."""
    if text:
        return dt.datetime.strptime(text, "%Y-%m").date()
    today = today or dt.datetime.now(vocabulary.business_tz()).date()
    return today.replace(day=1)


def _next_month(day: dt.date) -> dt.date:
    return (day.replace(day=28) + dt.timedelta(days=4)).replace(day=1)


def _rows(conn, sql: str, params: dict | tuple = ()) -> list[dict[str, Any]]:
    cur = conn.execute(sql, params)
    names = [d.name for d in cur.description]
    return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


def overview(month: dt.date | None = None, *, url: str | None = None) -> Overview:
    month = month or month_of(None)
    result = Overview(month)
    window = {"start": dt.datetime.combine(month, dt.time(), vocabulary.business_tz()),
              "end": dt.datetime.combine(_next_month(month), dt.time(), vocabulary.business_tz()),
              "entries": list(ENTRY_STATUSES)}
    with db.connect(url, role="kenshin_auditor") as conn:
        # A duplicate is refused before its header is read: the period of the load it repeats.
        period = ("coalesce(left(coalesce(m.period, o.period), 6), "
                  "to_char(coalesce(m.file_date, o.file_date), 'YYYYMM'))")
        source = "coalesce(o.source, m.source)"  # and its source (a resent copy's name may match none)
        original = "left join ops.load_manifest o on o.load_id = m.duplicate_of"
        result.sources = _rows(conn, f"""
            select {source} as source, {period} as period, count(*) as files,
                   count(*) filter (where m.status = 'loaded') as loaded_files,
                   count(*) filter (where m.status = 'rejected' or m.status = any(%(entries)s)) as rejected_files,
                   count(*) filter (where m.status = any(%(entries)s)) as not_loadable_files,
                   count(*) filter (where m.status = 'duplicate') as duplicate_files,
                   count(*) filter (where m.status in ('staging', 'abandoned')) as other_files,
                   coalesce(sum(m.rows_in_file) filter (where m.status = 'loaded'), 0) as rows_in_files,
                   coalesce(sum(m.rows_loaded) filter (where m.status = 'loaded'), 0) as rows_loaded,
                   coalesce(sum(m.rows_quarantined) filter (where m.status = 'loaded'), 0) as rows_quarantined,
                   coalesce(sum(m.rows_review) filter (where m.status = 'loaded'), 0) as rows_review
              from ops.load_manifest m {original}
             where m.received_at >= %(start)s and m.received_at < %(end)s
             group by 1, 2 order by 1, 2 nulls last""", window)
        result.files = _rows(conn, f"""
            select m.load_id, m.file_name, {source} as source, {period} as period, m.status, m.rows_in_file,
                   m.rows_loaded, m.rows_quarantined, m.rows_review, m.gate_passed, m.run_id,
                   m.received_at, m.duplicate_of,
                   case when m.status = 'rejected' or m.status = any(%(entries)s) then m.reason end as reason,
                   g.passed as expectations_passed, g.failed as expectations_failed,
                   coalesce(r.open_items, 0) as open_review
              from ops.load_manifest m {original}
              left join lateral (
                   select count(*) filter (where success) as passed, count(*) filter (where not success) as failed
                     from ops.gate_result where load_id = m.load_id) g on true
              left join lateral (
                   select count(*) as open_items from ops.review_item
                    where load_id = m.load_id and status = 'open') r on true
             where m.received_at >= %(start)s and m.received_at < %(end)s
             order by m.load_id""", window)
        for f in result.files:
            f["failed_expectations"] = failed_expectations(conn, f["load_id"]) if f["expectations_failed"] else []
        # Open items of the whole queue (older months' too: they are still waiting).
        result.review = _rows(conn, """
            select m.source, m.file_name, count(*) as open_items,
                   (current_date - min(i.created_at)::date) as oldest_days
              from ops.review_item i join ops.load_manifest m using (load_id)
             where i.status = 'open' group by 1, 2 order by 1, 2 nulls last""")
        result.linkage = _rows(conn, """
            select state, count(*) as requests from ops.linkage_request group by state order by state""")
        purges = _rows(conn, """
            select run_id, as_of, policy_version, state, requested_by, approved_by, planned_rows,
                   deleted_rows, created_at, finished_at
              from ops.purge_run order by created_at desc, run_id desc limit 1""")
        result.purge = purges[0] if purges else None
    return result


def totals(view: Overview) -> dict[str, int]:
    keys = ("files", "loaded_files", "rejected_files", "not_loadable_files", "duplicate_files", "rows_in_files",
            "rows_loaded", "rows_quarantined", "rows_review")
    return {k: sum(int(s[k]) for s in view.sources) for k in keys}


def render_html(view: Overview, run_links: dict[str, str] | None = None, dag_runs: list[dict] | None = None,
                base: str = "") -> str:
    """The page: `run_links` maps a run id to its DAG run page; `dag_runs` lists this
    month's runs of the DAGs (from Airflow's metadata); `base` prefixes links."""
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    # jinja2 (a well-kept template library Airflow and dbt already bring) escapes
    # every value: a file name is data from outside.
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html", "j2"]))
    previous = (view.month - dt.timedelta(days=1)).replace(day=1)
    return env.get_template("operations.html.j2").render(
        view=view, totals=totals(view), run_links=run_links or {}, dag_runs=dag_runs or [], base=base,
        previous=f"{previous:%Y-%m}", following=f"{_next_month(view.month):%Y-%m}",
        generated=dt.datetime.now(vocabulary.business_tz()), view_tz=vocabulary.business_tz())
