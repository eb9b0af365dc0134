"""Return lists (返戻リスト): for each clinic file, the records not loaded, with
a reason in Japanese that staff can send back to the clinic.

Written to `outbox/returns/{file stem}_henrei.csv` (CP932, CRLF, with a
header row for the people who read it) after the file's load commits, and
rewritten when a review decision returns another record. The wording comes
from `include/config/return_reasons.yaml`.
"""

from __future__ import annotations

import csv
import functools
import io
import re
from pathlib import Path

import psycopg

from kenshin.platform import config
from kenshin.platform.files import write_atomic

COLUMNS = ("医療機関コード", "ファイル名", "ファイル行", "行番号", "検診種別", "受診日", "氏名カナ", "生年月日", "返戻理由")


@functools.cache
def _wording() -> tuple[dict[str, str], list[tuple[re.Pattern[str], str]], str]:
    data = config.load("return_reasons")
    return (data["fields"], [(re.compile(r["pattern"]), r["text"]) for r in data["reasons"]], data["default"])


def japanese_reason(field: str, reason: str) -> str:
    """「項目: 理由」 for a loader reason (field and English text)."""
    fields, patterns, default = _wording()
    text = next((t for p, t in patterns if p.search(reason)), default)
    return f"{fields.get(field, field)}: {text}"


def returns_dir() -> Path:
    path = config.data_dir() / "outbox" / "returns"
    path.mkdir(parents=True, exist_ok=True)
    return path


def write_return_list(conn: psycopg.Connection, load_id: int) -> Path | None:
    """(Re)write the return list of a clinic file's load; None for other loads."""
    row = conn.execute("select file_name, source, sender from ops.load_manifest where load_id = %s",
                       (load_id,)).fetchone()
    if row is None or row[1] not in ("kenshin", "seiken"):
        return None
    file_name, source, clinic = row
    date_column = "exam_date" if source == "kenshin" else "screening_exam_date"
    rows = conn.execute(
        f"""select l.line_no, l.clinic_line_no, l.exam_type, l.{date_column}, l.name_kana, l.birth_date,
                   q.field, q.reason
              from ops.quarantine q join landing.{source} l using (load_id, line_no)
             where q.load_id = %s order by l.line_no""", (load_id,)).fetchall()
    buf = io.StringIO(newline="")
    out = csv.writer(buf, lineterminator="\r\n")
    out.writerow(COLUMNS)
    for line_no, clinic_line, exam_type, exam_date, kana, birth, field, reason in rows:
        out.writerow((clinic, file_name, line_no, clinic_line, exam_type, exam_date, kana, birth,
                      japanese_reason(field, reason)))
    path = returns_dir() / f"{Path(file_name).stem}_henrei.csv"
    write_atomic(path, buf.getvalue().encode("cp932", errors="replace"))  # readers never see half a list
    return path
