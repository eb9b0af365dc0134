"""Retention purges (保管期間 / 消去): delete what is past its retention period,
everywhere, approved by a second person and logged.

The periods are `include/config/retention.yaml` (policy, DOMAIN.md). Each
*category* below is one table and one reason its rows go, as a SQL predicate
evaluated on the purge's day (`as_of`): the plan counts it, the execution
deletes what it selects in bounded transactions, the verification counts it
again and expects zero. Because the predicates depend only on the day and the
data, a killed purge is finished by running it again, and a second purge of
the same day finds nothing.

Predicates that depend on another table's purge (a detailed exam whose
screening goes, a person nothing retained refers to any more) are written in
terms of the other table's predicate, never of rows already missing: the plan
made before anything is deleted counts exactly what the execution deletes.

A run goes: plan (counts per category, no personal data) → approval when the
plan exceeds the configured size (by someone other than the requester: the
database refuses the same name) → execution → verification → the log
(`ops.purge_run`, `ops.purge_count`: counts, policy version, requester,
approver, times). The purge acts as `kenshin_purger`, the only role that may
delete curated records.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg

from kenshin.platform import config, db, progress, vocabulary
from kenshin.programmes import rules as programmes

log = logging.getLogger(__name__)

PURGER = "kenshin_purger"
OPEN_STATES = ("planned", "approved", "executing", "executed")


class PurgeError(Exception):
    """A purge that may not go on (the message names the run, never a person)."""


def policy() -> dict:
    return config.load("retention")


def _years_before(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def screenings_retained_from(as_of: dt.date) -> dict[str, dt.date]:
    """Per exam type kept for a limited time, the earliest exam date still
    retained on `as_of` (exam types kept for life are absent)."""
    rule = policy()
    fy = programmes.fiscal_year(as_of)
    out = {}
    for code, exam in programmes.exam_types().items():
        if exam.retention_years is None:
            continue
        if rule["counts_from"] == "fiscal_year_end":
            # a record of FY Y kept P years lives until the end of FY Y+P
            out[code] = programmes.fiscal_year_start(fy - exam.retention_years)
        elif rule["counts_from"] == "exam_date":
            out[code] = _years_before(as_of, exam.retention_years)
        else:
            raise ValueError(f"retention.yaml: counts_from {rule['counts_from']!r} is not "
                             "fiscal_year_end or exam_date")
    return out


def parameters(as_of: dt.date) -> dict:
    """The cut-off values every predicate reads, from the policy and `as_of`."""
    rule = policy()
    kept = screenings_retained_from(as_of)
    fy = programmes.fiscal_year(as_of)

    def days(n: int) -> dt.date:
        return as_of - dt.timedelta(days=int(n))

    return {
        "codes": list(kept), "retained_from": list(kept.values()),
        # a bound the exam-date indexes can use; the per-type cut-off decides
        "screenings_before": max(kept.values(), default=dt.date.min),
        "notices_fy": fy - int(rule["notices_years"]),
        "vouchers_fy": fy - int(rule["vouchers_years"]),
        "promoted_before": days(rule["landing_days"]["promoted"]),
        "quarantined_before": days(rule["landing_days"]["quarantined"]),
        "responses_before": days(rule["landing_days"]["network_responses"]),
        "reviews_before": days(rule["review_items_days"]),
        "matches_before": days(rule["record_matches_days"]),
        "requests_before": days(rule["linkage_requests_days"]),
        "checks_before": days(rule["registry_checks_days"]),
        "manifests_before": _years_before(as_of, int(rule["load_manifests_years"])),
        "deletions_before": days(rule["deletion_log_days"]),
        "left_before": _years_before(as_of, int(rule["persons_after_leaving_years"])),
        "audit_before": _years_before(as_of, int(rule["audit_years"])),
    }


def check_policy() -> None:
    """Refuse a policy that would purge something another rule still needs."""
    rule = policy()
    shortest = min((y for y in rule["programmes"].values() if y is not None), default=None)
    longest = max((y for y in rule["programmes"].values() if y is not None), default=0)
    problems = []
    if set(rule["programmes"]) != {e.programme for e in programmes.exam_types().values()}:
        problems.append("programmes must name every programme of programmes.yaml")
    if shortest is not None and int(rule["record_matches_days"]) >= shortest * 365:
        problems.append("record_matches_days must be shorter than the shortest programme period")
    if int(rule["audit_years"]) <= longest:
        problems.append("audit_years must be longer than the longest programme period")
    if int(rule["linkage_requests_days"]) <= int(config.load("linkage")["oldest_move_in_days"]):
        problems.append("linkage_requests_days must exceed linkage.yaml oldest_move_in_days")
    if problems:
        raise ValueError("retention.yaml: " + "; ".join(problems))


# --- the predicates ----------------------------------------------------------
# Each takes the alias of its table's row and returns a boolean SQL expression
# over that row and the parameters above.

def _screening(a: str) -> str:
    return (f"({a}.exam_date < %(screenings_before)s and exists (select 1 from unnest("
            f"%(codes)s::text[], %(retained_from)s::date[]) as r (code, retained_from) "
            f"where r.code = {a}.exam_type and {a}.exam_date < r.retained_from))")


def _detailed_exam(a: str) -> str:
    return f"exists (select 1 from core.screening s where s.screening_id = {a}.screening_id and {_screening('s')})"


def _notice_cause(a: str) -> str:
    return (f"(exists (select 1 from core.notice n where n.notice_id = {a}.notice_id "
            f"and n.fiscal_year < %(notices_fy)s) or "
            f"exists (select 1 from core.screening s where s.screening_id = {a}.screening_id "
            f"and {_screening('s')}))")


def _notice(a: str) -> str:
    # past its period, or every cause it was sent for goes (a follow-up letter
    # about a purged screening)
    return (f"({a}.fiscal_year < %(notices_fy)s or not exists (select 1 from core.notice_cause c "
            f"where c.notice_id = {a}.notice_id and not {_notice_cause('c')}))")


def _before(column: str, param: str) -> Callable[[str], str]:
    """A row goes when its `column` is before the cut-off `param`."""
    return lambda a: f"{a}.{column} < %({param})s"


_voucher = _before("fiscal_year", "vouchers_fy")


def _loaded_before(a: str, param: str) -> str:
    return (f"exists (select 1 from ops.load_manifest m where m.load_id = {a}.load_id "
            f"and coalesce(m.finished_at, m.received_at) < %({param})s)")


def _open_review(a: str) -> str:
    return (f"exists (select 1 from ops.review_item i where i.load_id = {a}.load_id "
            f"and i.line_no = {a}.line_no and i.status = 'open')")


def _landing_promoted(a: str) -> str:
    return f"({a}.reject_reason is null and {_loaded_before(a, 'promoted_before')} and not {_open_review(a)})"


def _landing_quarantined(a: str) -> str:
    return f"({a}.reject_reason is not null and {_loaded_before(a, 'quarantined_before')})"


def _record_match(a: str) -> str:
    return f"({_loaded_before(a, 'matches_before')} and not {_open_review(a)})"


def _review_item(a: str) -> str:
    return f"({a}.status <> 'open' and {a}.decided_at < %(reviews_before)s)"


_registry_check = _before("resolved_at", "checks_before")


def _linkage_request(a: str) -> str:
    return (f"({a}.state in ('answered', 'no_record', 'failed', 'expired') "
            f"and {a}.closed_on < %(requests_before)s)")


_MANIFEST_CHILDREN = ("landing.jumin", "landing.seiho", "landing.kokuho", "landing.kenshin", "landing.seiken",
                      "landing.shokai_res", "ops.quarantine", "ops.record_match", "ops.review_item",
                      "ops.registry_check")


def _doomed(table: str, a: str) -> str:
    """A row of `table` goes in this purge, for any of its categories' reasons."""
    # null (a date not set yet) is "not past retention": coalesce before any `not`
    return "coalesce(" + " or ".join(c.predicate(a) for c in CATEGORIES if c.table == table and not c.scrub) + ", false)"


def _manifest(a: str) -> str:
    # a file's record outlives every row of it (they go sooner, by their own rules)
    children = " and ".join(
        f"not exists (select 1 from {t} c where c.load_id = {a}.load_id and not {_doomed(t, 'c')})"
        for t in _MANIFEST_CHILDREN)
    return f"(coalesce({a}.finished_at, {a}.received_at) < %(manifests_before)s and {children})"


def _gate_result(a: str) -> str:
    return f"exists (select 1 from ops.load_manifest m where m.load_id = {a}.load_id and {_manifest('m')})"


_audit_row = _before("changed_at", "audit_before")


def _audit_values(a: str) -> str:
    # the record a correction describes is gone or goes now: forget its values
    return (f"({a}.values_purged_at is null and not {_audit_row(a)} and ("
            f"({a}.table_name = 'core.screening' and not exists (select 1 from core.screening s "
            f"where s.screening_id = {a}.record_id and not {_screening('s')})) or "
            f"({a}.table_name = 'core.detailed_exam' and not exists (select 1 from core.detailed_exam d "
            f"where d.detailed_exam_id = {a}.record_id and not {_detailed_exam('d')}))))")


def _person(a: str) -> str:
    # left the city long enough ago (no current version still resident or
    # changed since), and nothing that stays after this purge refers to them
    def kept(table: str, alias: str, where: str, doomed: str) -> str:
        return f"not exists (select 1 from {table} {alias} where {where} and not coalesce({doomed}, false))"

    key = f"{a}.addressee_id"
    return " and ".join([
        f"not exists (select 1 from core.person_version v where v.addressee_id = {key} and v.valid_to is null "
        f"and (v.status = {vocabulary.RESIDENT} or v.valid_from >= %(left_before)s))",
        kept("core.screening", "s", f"s.addressee_id = {key}", _screening("s")),
        kept("core.external_screening", "e", f"e.addressee_id = {key}", _screening("e")),
        kept("core.detailed_exam", "d", f"d.addressee_id = {key}", _detailed_exam("d")),
        kept("core.notice", "n", f"n.addressee_id = {key}", _notice("n")),
        kept("core.voucher", "w", f"w.addressee_id = {key}", _voucher("w")),
        kept("ops.linkage_request", "q", f"q.addressee_id = {key}", _linkage_request("q")),
        kept("ops.record_match", "m", f"m.addressee_id = {key}", _record_match("m")),
        kept("ops.registry_check", "k", f"k.addressee_id = {key}", _registry_check("k")),
        kept("ops.review_item", "i",
             f"(i.linked_addressee_id = {key} or i.candidates @> "
             f"jsonb_build_array(jsonb_build_object('addressee_id', {key}::text)))", _review_item("i")),
    ])


def _of_person(a: str) -> str:
    return f"exists (select 1 from core.person p where p.addressee_id = {a}.addressee_id and {_person('p')})"


def _purge_run(a: str) -> str:
    # the purge log is audit: kept as long as audit rows
    return f"({a}.created_at < %(audit_before)s and {a}.state not in ('planned', 'approved', 'executing', 'executed'))"


def _purge_count(a: str) -> str:
    return f"exists (select 1 from ops.purge_run r where r.run_id = {a}.run_id and {_purge_run('r')})"


@dataclass(frozen=True)
class Category:
    """One table and one reason its rows go (or, for `scrub`, lose their values)."""

    name: str
    table: str
    predicate: Callable[[str], str]
    # the audit function run on the selected rows instead of deleting them
    scrub: str | None = None


# the values of a correction whose record is gone (audit.scrub_correction_values)
_SCRUB_AUDIT = "audit.scrub_correction_values"

# In the order they run: rows others refer to go after the rows referring to them.
CATEGORIES: tuple[Category, ...] = (
    Category("notice causes past retention", "core.notice_cause", _notice_cause),
    Category("notices past retention", "core.notice", _notice),
    Category("vouchers past retention", "core.voucher", _voucher),
    Category("record matches past retention", "ops.record_match", _record_match),
    Category("detailed exams of purged screenings", "core.detailed_exam", _detailed_exam),
    Category("audit rows past retention", "audit.record_correction", _audit_row),
    Category("change log past retention", "audit.change_log", _before("changed_at", "audit_before")),
    Category("access log past retention", "audit.access_log", _before("accessed_at", "audit_before")),
    Category("correction requests past retention", "ops.correction_request", _before("decided_at", "audit_before")),
    Category("support-measure lift requests past retention", "ops.protection_request",
             _before("decided_at", "audit_before")),
    Category("audit values of purged records", "audit.record_correction", _audit_values, scrub=_SCRUB_AUDIT),
    Category("screenings past retention", "core.screening", _screening),
    Category("external screenings past retention", "core.external_screening", _screening),
    *(Category(f"{t} promoted rows", t, _landing_promoted)
      for t in ("landing.jumin", "landing.seiho", "landing.kokuho", "landing.kenshin", "landing.seiken")),
    *(Category(f"{t} quarantined rows", t, _landing_quarantined)
      for t in ("landing.jumin", "landing.seiho", "landing.kokuho", "landing.kenshin", "landing.seiken")),
    Category("landing.shokai_res network responses", "landing.shokai_res", lambda a: _loaded_before(a, "responses_before")),
    Category("quarantine reasons past retention", "ops.quarantine", lambda a: _loaded_before(a, "quarantined_before")),
    Category("review items past retention", "ops.review_item", _review_item),
    Category("registry checks past retention", "ops.registry_check", _registry_check),
    Category("linkage requests past retention", "ops.linkage_request", _linkage_request),
    Category("welfare periods of persons who left", "core.welfare_period", _of_person),
    Category("NHI periods of persons who left", "core.nhi_period", _of_person),
    Category("registry events of persons who left", "core.person_event", _of_person),
    Category("person versions of persons who left", "core.person_version", _of_person),
    Category("persons who left", "core.person", _person),
    Category("deletion log past retention", "ops.deletion_log", _before("deleted_at", "deletions_before")),
    Category("linkage deletion counts past retention", "ops.linkage_deletion",
             _before("deleted_at", "manifests_before")),
    Category("gate results of purged manifests", "ops.gate_result", _gate_result),
    Category("load manifests past retention", "ops.load_manifest", _manifest),
    Category("purge counts past retention", "ops.purge_count", _purge_count),
    Category("purge runs past retention", "ops.purge_run", _purge_run),
)
# Tables the purge leaves alone, and why (a test fails on a table in neither list).
EXEMPT = {
    "audit.seal": "the audit trail's hash chain: hashes and transaction ranges, no personal data; removing a seal "
                  "would break the chain",
    "audit.expired_row": "which audit rows the purge removed, with their hashes (no values): the seals still verify",
    "audit.scrubbed_values": "which corrections' values the purge scrubbed, with the values' hash (no values)",
    "audit.policy": "the audit period the database enforces (configuration)",
    "audit.access_purpose": "the purposes staff may state (configuration); the access log refers to them",
    "ops.staff_member": "the staff identities four-eyes decisions are checked against (no resident's data); "
                        "a member who leaves is deactivated, never deleted, so old decisions keep their name",
    "ops.provision_export": "export windows (period, times, file name, count): no personal data; "
                            "the latest one starts the next window",
    "ops.voucher_serial": "the last voucher serial per fiscal year and exam type: no personal data; "
                          "removing it would give a number twice",
}
FILES = "files past retention"


def count(conn: psycopg.Connection, category: Category, params: dict) -> int:
    return conn.execute(f"select count(*) from {category.table} t where {category.predicate('t')}",
                        params).fetchone()[0]


# The audit trail is append-only (migration 0022): its rows go through the
# database's own functions, which enforce the audit period and log each row's hash.
_AUDIT_KEYS = {"audit.change_log": "change_id", "audit.access_log": "access_id",
               "audit.record_correction": "correction_id"}


def _apply_batch(conn: psycopg.Connection, category: Category, params: dict, limit: int) -> int:
    if category.table in _AUDIT_KEYS:
        ids = conn.execute(f"select array(select t.{_AUDIT_KEYS[category.table]} from {category.table} t "
                           f"where {category.predicate('t')} limit %(limit)s)", {**params, "limit": limit}).fetchone()[0]
        if not ids:
            return 0
        if category.scrub:
            return conn.execute("select audit.scrub_correction_values(%s)", (ids,)).fetchone()[0]
        return conn.execute("select audit.expire_rows(%s, %s, %s::date)",
                            (category.table, ids, params["audit_before"])).fetchone()[0]
    selected = f"array(select t.ctid from {category.table} t where {category.predicate('t')} limit %(limit)s)"
    if category.table == "ops.load_manifest":
        # a later duplicate of a purged file forgets which one it duplicated
        conn.execute(f"update ops.load_manifest d set duplicate_of = null "
                     f"where d.duplicate_of = any(array(select t.load_id from ops.load_manifest t "
                     f"where {category.predicate('t')} limit %(limit)s))", {**params, "limit": limit})
    return conn.execute(f"delete from {category.table} where ctid = any({selected})",
                        {**params, "limit": limit}).rowcount


# --- files -----------------------------------------------------------------

def _file_roots() -> tuple[Path, ...]:
    data = config.data_dir()
    return data / "outbox", data / "notices"


def files_due(conn: psycopg.Connection, as_of: dt.date) -> list[Path]:
    """Files written or received longer ago than the policy keeps them: received
    files by their load's end, written ones by their modification time.
    Statistics reports identify no one and are not purged."""
    before = as_of - dt.timedelta(days=int(policy()["files_days"]))
    cutoff = dt.datetime.combine(before, dt.time(), vocabulary.business_tz()).timestamp()
    due = []
    for root in _file_roots():
        if root.exists():
            due += [p for p in root.rglob("*") if p.is_file() and p.stat().st_mtime < cutoff]
    inbox = config.data_dir() / "inbox"
    if inbox.exists():
        names = {r[0] for r in conn.execute(
            "select file_name from ops.load_manifest where status <> 'staging' "
            "and coalesce(finished_at, received_at) < %s", (before,))}
        due += [p for p in inbox.iterdir() if p.is_file() and p.name in names]
    return sorted(due)


# --- runs --------------------------------------------------------------------

def plan(conn: psycopg.Connection, as_of: dt.date) -> dict[str, int]:
    """Rows (and files) past retention on `as_of`, per category."""
    check_policy()
    params = parameters(as_of)
    out = {c.name: count(conn, c, params) for c in CATEGORIES}
    out[FILES] = len(files_due(conn, as_of))
    return out


@contextlib.contextmanager
def _connect(url: str | None, user: str | None = None) -> Iterator[psycopg.Connection]:
    with db.connect(url, role=PURGER, user=user) as conn:
        # the predicates nest many subqueries: their estimated cost triggers JIT
        # compilation, which took longer than running them (as in the marts)
        conn.execute("set jit = off")
        conn.commit()
        yield conn


def create_run(as_of: dt.date, requested_by: str, dag_run_id: str | None = None, *, url: str | None = None) -> dict:
    """Plan a purge and record it, or return the unfinished run of the same
    day to be continued. An unfinished run of another day must be finished first."""
    with _connect(url) as conn:
        conn.execute("lock table ops.purge_run in share row exclusive mode")
        row = conn.execute("select run_id, as_of from ops.purge_run where state = any(%s)",
                           (list(OPEN_STATES),)).fetchone()
        if row and row[1] != as_of:
            raise PurgeError(f"purge run {row[0]} as of {row[1]} is not finished: run it (or refuse it) first")
        if row is None:
            counts = plan(conn, as_of)
            run_id = conn.execute(
                """insert into ops.purge_run (as_of, policy_version, requested_by, planned_rows, dag_run_id)
                   values (%s, %s, %s, %s, %s) returning run_id""",
                (as_of, str(policy()["version"]), requested_by, sum(counts.values()), dag_run_id)).fetchone()[0]
            with conn.cursor() as cur:
                cur.executemany("insert into ops.purge_count (run_id, category, rows_planned) values (%s, %s, %s)",
                                [(run_id, k, v) for k, v in counts.items()])
            log.info("purge run %d planned as of %s: %d rows and files", run_id, as_of, sum(counts.values()))
        conn.commit()
    return describe(row[0] if row else run_id, url=url)


def describe(run_id: int, *, url: str | None = None) -> dict:
    """A run as the log holds it: state, people involved, counts per category."""
    with _connect(url) as conn:
        return _describe(conn, run_id)


def _describe(conn: psycopg.Connection, run_id: int) -> dict:
    row = conn.execute(
        """select run_id, as_of, policy_version, state, requested_by, approved_by, planned_rows, deleted_rows,
                  created_at, approved_at, started_at, finished_at, verified_at
             from ops.purge_run where run_id = %s""", (run_id,)).fetchone()
    if row is None:
        raise PurgeError(f"purge run {run_id} does not exist")
    counts = conn.execute("select category, rows_planned, rows_deleted, remaining from ops.purge_count "
                          "where run_id = %s", (run_id,)).fetchall()
    keys = ("run_id", "as_of", "policy_version", "state", "requested_by", "approved_by", "planned_rows",
            "deleted_rows", "created_at", "approved_at", "started_at", "finished_at", "verified_at")
    out = dict(zip(keys, row, strict=True))
    out["needs_approval"] = out["planned_rows"] > int(policy()["purge"]["approval_threshold_rows"])
    out["categories"] = {c: {"planned": p, "deleted": d, "remaining": r} for c, p, d, r in counts}
    return out


def approve(run_id: int, *, airflow_user: str | None = None, reject: bool = False, label: str | None = None,
            url: str | None = None) -> dict:
    """Approve (or refuse) a planned run, through `ops.decide_purge`: the
    approver is the database login's staff member (`kenshin purge approve`
    run with one's own login), or, from Airflow's login only, the staff member
    of the Airflow user who answered the approval in the UI. The database
    refuses the requester and anyone not registered as staff; the requester may
    only withdraw the plan. `label` is only recorded (kenshin.app_user)."""
    try:
        # a staff member decides as staff; Airflow relays the UI's answer as the purge's role
        with db.connect(url, role=PURGER if airflow_user else "kenshin_staff", user=label) as conn:
            state = conn.execute("select ops.decide_purge(%s, %s, %s)",
                                 (run_id, not reject, airflow_user)).fetchone()[0]
            conn.commit()
            decided = _describe(conn, run_id)
    except (psycopg.errors.InsufficientPrivilege, psycopg.errors.NoDataFound,
            psycopg.errors.ObjectNotInPrerequisiteState) as exc:
        raise PurgeError(exc.diag.message_primary) from None
    log.info("purge run %d %s", run_id, state)
    return decided


def execute(run_id: int, *, url: str | None = None) -> dict:
    """Delete what the run's day puts past retention, category by category, in
    transactions of at most `purge.batch_rows` rows each; every batch adds its
    count to the log in the same transaction. Interrupted, it is simply run again.
    Progress: a bar on a terminal, plain lines in logs (counts only)."""
    run = describe(run_id, url=url)
    if run["state"] == "executed":   # a retry after the deletions finished
        return run
    if run["state"] == "planned" and run["needs_approval"]:
        raise PurgeError(f"purge run {run_id} needs a second person's approval: kenshin purge approve {run_id}")
    if run["state"] not in ("planned", "approved", "executing"):
        raise PurgeError(f"purge run {run_id} is {run['state']}: nothing to execute")
    params = parameters(run["as_of"])
    limit = int(policy()["purge"]["batch_rows"])
    with _connect(url) as conn, progress.task(f"purge run {run_id} as of {run['as_of']}",
                                             total=max(run["planned_rows"] - run["deleted_rows"], 0),
                                             unit="rows") as bar:
        conn.execute("update ops.purge_run set state = 'executing', started_at = coalesce(started_at, now()) "
                     "where run_id = %s", (run_id,))
        conn.commit()
        # files first: a received file is known by its manifest row, which may go below
        for path in files_due(conn, run["as_of"]):
            path.unlink(missing_ok=True)
            _count(conn, run_id, FILES, 1)
            conn.commit()
            bar.advance(1)
        for category in CATEGORIES:
            while True:
                n = _apply_batch(conn, category, params, limit)
                if n:
                    _count(conn, run_id, category.name, n)
                conn.commit()
                bar.advance(n)
                if n < limit:
                    break
        conn.execute("update ops.purge_run set state = 'executed', finished_at = now() where run_id = %s",
                     (run_id,))
        conn.commit()
    return describe(run_id, url=url)


def _count(conn: psycopg.Connection, run_id: int, category: str, n: int) -> None:
    conn.execute("update ops.purge_count set rows_deleted = rows_deleted + %s where run_id = %s and category = %s",
                 (n, run_id, category))
    conn.execute("update ops.purge_run set deleted_rows = deleted_rows + %s where run_id = %s", (n, run_id))


def verify(run_id: int, *, url: str | None = None) -> dict:
    """Scan every category again: nothing may remain past retention. Records
    what remains per category; a run with anything left is failed."""
    run = describe(run_id, url=url)
    if run["state"] != "executed":
        raise PurgeError(f"purge run {run_id} is {run['state']}, not executed")
    with _connect(url) as conn:
        remaining = plan(conn, run["as_of"])
        with conn.cursor() as cur:
            cur.executemany(
                """insert into ops.purge_count (run_id, category, rows_planned, remaining) values (%s, %s, 0, %s)
                   on conflict (run_id, category) do update set remaining = excluded.remaining""",
                [(run_id, k, v) for k, v in remaining.items()])
        left = sum(remaining.values())
        conn.execute("update ops.purge_run set state = %s, verified_at = now() where run_id = %s",
                     ("verified" if left == 0 else "failed", run_id))
        conn.commit()
    if left:
        raise PurgeError(f"purge run {run_id}: {left} rows or files are still past retention after the purge: "
                         + ", ".join(f"{k} {v}" for k, v in remaining.items() if v))
    log.info("purge run %d verified: nothing past retention as of %s", run_id, run["as_of"])
    return describe(run_id, url=url)


def run(as_of: dt.date, requested_by: str, *, dry_run: bool = False, url: str | None = None) -> dict:
    """Plan, and when no approval is needed or it was given, execute and verify.
    A dry run only counts (nothing recorded, nothing deleted)."""
    if dry_run:
        with _connect(url) as conn:
            counts = plan(conn, as_of)
            conn.rollback()
        return {"as_of": as_of, "dry_run": True, "policy_version": str(policy()["version"]),
                "planned_rows": sum(counts.values()), "categories": counts}
    current = create_run(as_of, requested_by, url=url)
    if current["state"] == "planned" and current["needs_approval"]:
        return current
    current = execute(current["run_id"], url=url)
    return verify(current["run_id"], url=url)


def summary(run: dict) -> dict:
    """A run as plain values for task results and the approver's page: the
    plan per category, the people involved and the counts (no personal data)."""
    out = {k: (v.isoformat() if isinstance(v, dt.date | dt.datetime) else v)
           for k, v in run.items() if k != "categories"}
    out["planned"] = {k: v["planned"] for k, v in run["categories"].items()}
    return out


def record(run_id: int, *, url: str | None = None) -> dict:
    """The purge log's line for a finished run, written to the log and returned."""
    run = describe(run_id, url=url)
    log.info("purge run %d as of %s, policy %s: %d rows and files deleted (planned %d), requested by %s, "
             "approved by %s, %s at %s", run["run_id"], run["as_of"], run["policy_version"], run["deleted_rows"],
             run["planned_rows"], run["requested_by"], run["approved_by"] or "-", run["state"], run["verified_at"])
    return summary(run)
