"""Why a file was rejected, for the people who must act on it (却下理由).

`rejection_message(result)` composes the alert for a file the loader rejected:
the file, the gate's failed expectations (from ops.gate_result, names and
counts only) or the loader's own reason (file, line, field), and what to do
next. The operations page lists the same failed expectations per file.
Messages carry no personal data: names of files, expectations and fields, and
counts, never values.
"""

from __future__ import annotations

import psycopg

from kenshin.platform import alerts, db

# Inbox entries that never become a load (受付不能): a name no layout has, an
# entry that cannot be read, one that is no regular file. Each is a manifest
# row with the reason; the operations page shows them where rejected files are.
UNRECOGNISED, UNREADABLE, NOT_A_FILE = "unrecognised", "unreadable", "not a file"
ENTRY_STATUSES = (UNRECOGNISED, UNREADABLE, NOT_A_FILE)


def failed_expectations(conn: psycopg.Connection, load_id: int) -> list[str]:
    """The gate's failed expectations of one load: name, column, rows and suite (counts only)."""
    rows = conn.execute(
        """select suite, expectation, column_name, observed::jsonb ->> 'unexpected_count'
             from ops.gate_result where load_id = %s and not success order by expectation, column_name""",
        (load_id,)).fetchall()
    return [f"{expectation}" + (f" on {column}" if column else "") + (f" ({n} rows)" if n else "")
            + f" [suite {suite}]" for suite, expectation, column, n in rows]


def rejection_message(result, *, url: str | None = None) -> str:
    """The alert for a rejected file (a kenshin.ingest.loading.LoadResult)."""
    reason = result.reason or "rejected"
    if reason.startswith("gate failed") and result.load_id is not None:
        with db.connect(url, role="kenshin_auditor") as conn:  # reads ops only
            failed = failed_expectations(conn, result.load_id)
        failed = failed or [reason.removeprefix("gate failed: ")]
        lines = [f"file {result.file} rejected by the data-quality gate (load {result.load_id}, "
                 f"{result.rows} rows, source {result.source})",
                 "failed expectations:", *(f"  - {f}" for f in failed), "next: " + alerts.next_step("gate")]
    else:
        lines = [f"file {result.file} rejected (load {result.load_id}, source {result.source})",
                 f"reason: {reason}", "next: " + alerts.next_step("rejected")]
    return "\n".join(lines)
