"""Vouchers (受診券 / クーポン): a number per person, fiscal year and exam type,
issued with the VOUCHER letter (kenshin.letters.notices.record) and valid to
the end of its fiscal year. The number's format is kenshin.programmes.voucher_numbers;
it is printed on the letter and in the vendor's CSV and comes back on the
clinic's record, where a valid number links the record to its holder
deterministically (after the matcher's confirmation). A reissue
(notices.reissue_vouchers) voids the old number; a record carrying a void
number goes back to the clinic.
"""

from __future__ import annotations

import datetime as dt

import psycopg

from kenshin.programmes import rules as programmes
from kenshin.programmes.voucher_numbers import number


def issue(conn: psycopg.Connection, notices: list[tuple[int, str, int, list[str]]], day: dt.date) -> int:
    """One voucher per exam type of each VOUCHER letter (notice id, addressee id,
    fiscal year, exam types) with the next serials of its fiscal year and exam
    type; returns how many. Runs in the letters' transaction."""
    wanted: dict[tuple[int, str], list[tuple[int, str]]] = {}
    for notice_id, aid, fy, codes in notices:
        for code in codes:
            wanted.setdefault((fy, code), []).append((notice_id, aid))
    rows = []
    for (fy, code), holders in sorted(wanted.items()):
        last = conn.execute(
            """insert into ops.voucher_serial (fiscal_year, exam_type, last_serial) values (%s, %s, %s)
               on conflict (fiscal_year, exam_type)
               do update set last_serial = ops.voucher_serial.last_serial + excluded.last_serial
               returning last_serial""", (fy, code, len(holders))).fetchone()[0]
        first = last - len(holders) + 1
        for k, (notice_id, aid) in enumerate(holders):
            rows.append((number(fy, code, first + k), aid, fy, [code], day, code, notice_id,
                         programmes.fiscal_year_start(fy + 1) - dt.timedelta(days=1)))
    # INSERT, not COPY: core.voucher is under row-level security
    with conn.cursor() as cur:
        cur.executemany("insert into core.voucher (voucher_number, addressee_id, fiscal_year, exam_types, issued_on, "
                        "exam_type, notice_id, valid_to) values (%s, %s, %s, %s, %s, %s, %s, %s)", rows)
    return len(rows)


