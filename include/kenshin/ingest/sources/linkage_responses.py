"""Responses to linkage queries (情報照会の結果): `shokai_res_YYYYMMDD_NNN.csv`,
UTF-8 (LAYOUTS.md §6), through the shared ingestion mechanism.

Status per request: `00` answered (one row per screening record: stored in
core.external_screening with the responding municipality), `01` no record,
`02` manual response pending at the responder (a final answer may follow),
`09` error (retried with backoff, then `failed`). A row for a request the city
never sent, or one already closed, is quarantined with the reason.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid

import psycopg

from kenshin.ingest.sources.base import (
    FileMeta,
    RowError,
    Source,
    require_choice,
    require_date,
    require_digits,
)
from kenshin.platform import vocabulary
from kenshin.platform.envelope import FileRejected
from kenshin.programmes import rules as programmes

STATUSES = frozenset({"00", "01", "02", "09"})


class ShokaiResSource(Source):
    """情報照会の結果 from previous municipalities."""

    name = "shokai_res"
    kind = "SHOKAI_RES"
    pattern = re.compile(r"shokai_res_(?P<stamp>\d{8})_\d{3}\.csv")
    table = "landing.shokai_res"
    accepted_view = "landing.shokai_res_accepted"
    suite = "landing_shokai_res"
    encoding = "utf-8"
    n_fields = 8
    fields = ("record_type", "request_id", "status", "responder_municipality_code", "exam_type", "exam_date",
              "result_code", "followup_outcome")
    raw_columns = ("request_id", "status", "responder_municipality_code", "exam_type", "exam_date",
                   "result_code", "followup_outcome")
    value_columns = ("exam_date_value",)

    def read_header(self, header: list[str], file_name: str) -> FileMeta:
        try:
            created = dt.datetime.fromisoformat(header[2].strip())
        except (IndexError, ValueError):
            raise FileRejected(file_name, "created_at is not an ISO 8601 time", line=1, field="created_at") from None
        return FileMeta(file_date=created.date(), period=None)

    def values(self, f: list[str], meta: FileMeta) -> tuple:
        self.require_field_count(f)
        _, request_id, status, responder, exam_type, exam_date, result_code, outcome = f
        try:
            uuid.UUID(request_id.strip())
        except ValueError:
            raise RowError("request_id", "not a UUID") from None
        status = status.strip()
        if status not in STATUSES:
            raise RowError("status", "not one of 00, 01, 02, 09")
        if status != "00":
            return (None,)
        require_digits(responder, 6, "responder_municipality_code")
        if exam_type.strip() not in programmes.exam_types():
            raise RowError("exam_type", "not an exam type code")
        day = require_date(exam_date, "exam_date")
        require_choice(result_code, vocabulary.result_codes(), "result_code")
        if outcome.strip():
            require_choice(outcome, vocabulary.outcome_codes(), "followup_outcome")
        return (day,)

    def late_rejects(self, conn: psycopg.Connection, load_id: int) -> None:
        conn.execute(
            """
            update landing.shokai_res l
               set reject_field = 'request_id',
                   reject_reason = case when r.request_id is null then 'no such request'
                                        when r.state = 'queued' then 'request not sent'
                                        else 'request already closed (' || r.state || ')' end
              from landing.shokai_res x
              left join ops.linkage_request r on r.request_id = btrim(x.request_id)::uuid
             where l.load_id = %(load)s and x.load_id = l.load_id and x.line_no = l.line_no
               and l.reject_reason is null
               and (r.request_id is null or r.state not in ('sent', 'manual_pending', 'retry'))
            """, {"load": load_id})

    def promote(self, conn: psycopg.Connection, load_id: int, meta: FileMeta) -> dict[str, int]:
        from kenshin.exchange import queries as linkage

        return linkage.apply_responses(conn, load_id, meta.file_date)
