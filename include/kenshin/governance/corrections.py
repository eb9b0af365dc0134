"""Four-eyes corrections (訂正・削除の二者確認): a staff member files a correction
or deletion of a person's screening data; it takes effect only when a different
staff member approves it.

The rule lives in the database, not here: the request and the decision are the
SECURITY DEFINER functions `ops.request_correction` and `ops.decide_correction`
(include/sql/migrations/versions/0017_corrections.sql), the only way staff can
change those records; they take who acts from the application user of the
connection's database login (`session_user`, mapped to a staff member by
ops.staff_member, which only the owner maintains), never from what the
session says of itself (`kenshin.app_user`, `--by`: a label in the audit
trail). They refuse the requester's own approval under any name, and a CHECK
refuses it again. Each staff member runs the command with their own login
(KENSHIN_DATABASE_URL). The same pattern as the retention purge's approval
(kenshin.governance.retention.approve): the requester may withdraw (reject)
their own request, never apply it. Both steps are in
audit.change_log, with the change to core itself; the requested values are kept
only until the decision.
"""

from __future__ import annotations

import json
from typing import Any

import psycopg

from kenshin.matching.review_queue import STAFF_ID
from kenshin.platform import db

STAFF = "kenshin_staff"
TABLES = {"screening": "core.screening", "detailed_exam": "core.detailed_exam"}


class CorrectionError(Exception):
    """A request or decision refused (the message names the request or record, never a value)."""


def _call(url: str | None, by: str | None, query: str, params: tuple) -> Any:
    if by is not None and not STAFF_ID.fullmatch(by):
        raise CorrectionError("--by must be a staff id (letters, digits, . _ -)")
    try:
        with db.connect(url, role=STAFF, user=by) as conn:
            value = conn.execute(query, params).fetchone()
            conn.commit()
            return value
    except (psycopg.errors.InsufficientPrivilege, psycopg.errors.RaiseException, psycopg.errors.NoDataFound,
            psycopg.errors.InvalidParameterValue, psycopg.errors.ObjectNotInPrerequisiteState,
            psycopg.errors.IntegrityError) as exc:
        # the primary message only: a DETAIL could quote a row's values
        raise CorrectionError(exc.diag.message_primary) from None


def request(table: str, record_id: int, *, reason: str, by: str | None = None, changes: dict[str, str] | None = None,
            delete: bool = False, url: str | None = None) -> dict[str, Any]:
    """File a correction (`changes`: column → new value) or a deletion of one record."""
    if table not in TABLES:
        raise CorrectionError(f"table must be one of {', '.join(TABLES)}")
    if delete == bool(changes):
        raise CorrectionError("give either changes (--set COLUMN=VALUE) or --delete")
    request_id, requester = _call(
        url, by, "select ops.request_correction(%s, %s, %s, %s::jsonb, %s), ops.acting_staff()",
        (TABLES[table], record_id, "delete" if delete else "update", json.dumps(changes or {}), reason))
    return {"request_id": request_id, "table": TABLES[table], "record_id": record_id,
            "action": "delete" if delete else "update", "columns": sorted(changes or {}),
            "requested_by": requester}


def decide(request_id: int, *, reject: bool = False, by: str | None = None,
           url: str | None = None) -> dict[str, Any]:
    """Approve (apply) or reject a request: applying needs another login than the requester's."""
    state, decider = _call(url, by, "select ops.decide_correction(%s, %s), ops.acting_staff()",
                           (request_id, not reject))
    return {"request_id": request_id, "state": state, "decided_by": decider}
