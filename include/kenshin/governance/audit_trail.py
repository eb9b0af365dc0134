"""The audit trail's hash chain (改ざん検知): `seal` closes what ended
transactions wrote into the next seal, `verify` recomputes every seal.

The rules live in the database (include/sql/migrations/versions/0022_append_only_audit.sql):
no role may update or delete an audit row, and the retention purge removes
rows past the audit period only through functions that keep each row's hash,
so a seal still verifies after a purge. What the grants cannot stop (a
superuser, an owner dropping a trigger) the chain shows: a deleted, altered
or added row, or a missing seal. Run as kenshin_auditor.
"""

from __future__ import annotations

from typing import Any

from kenshin.platform import db

AUDITOR = "kenshin_auditor"


def seal(*, url: str | None = None) -> int | None:
    """Seal what is not sealed yet; the new seal's id (None: nothing new)."""
    with db.connect(url, role=AUDITOR) as conn:
        seal_id = conn.execute("select audit.seal()").fetchone()[0]
        conn.commit()
    return seal_id


def verify(*, url: str | None = None) -> dict[str, Any]:
    """Seal, then recompute every seal: the problems found (none: the trail is whole)
    and the head of the chain, to be kept outside the database and compared next time."""
    seal(url=url)
    with db.connect(url, role=AUDITOR) as conn:
        problems = conn.execute("select seal_id, problem from audit.verify()").fetchall()
        seals, rows, head, sealed_to = conn.execute(
            "select count(*), coalesce(sum(row_count), 0), "
            "(select encode(hash, 'hex') from audit.seal order by seal_id desc limit 1), "
            "coalesce(max(xact_to), 0) from audit.seal").fetchone()
        # rows of transactions that had not all ended when the seal was made
        # (an open transaction anywhere on the server holds the horizon back)
        unsealed = conn.execute("select count(*) from audit.row_hashes(%s, 9223372036854775807)",
                                (sealed_to,)).fetchone()[0]
    return {"seals": seals, "rows": int(rows), "unsealed_rows": unsealed, "head": head,
            "problems": [{"seal_id": s, "problem": p} for s, p in problems]}
