"""The annual ministry report (地域保健・健康増進事業報告, 健康増進編).

Writes `reports/ministry_report_FY{year}.csv` (CP932, for the ministry's
upload) and `.xlsx` (one sheet per exam type, for staff) from
`report.ministry_report_exact`: the exact counts the city submits (DOMAIN.md:
never suppressed, never from the published `stats`), read as kenshin_reporter
with the stated purpose `ministry_report`, which the database records in
audit.access_log (object: the report; no person key).
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from kenshin.platform import config, db
from kenshin.platform.files import atomic_path, write_atomic
from kenshin.programmes import rules as programmes

# LAYOUTS.md §8, in order (the biennial columns 前年度受診者数 / 2年連続受診者数 are not written yet)
COLUMNS = (
    ("fiscal_year", "年度"), ("exam_type", "検診種別"), ("sex", "性別"), ("age_band", "年齢階級"),
    ("first_time", "初回・非初回"), ("target_population", "対象者数"), ("screened", "受診者数"),
    ("needing_detailed_exam", "要精検者数"), ("prev_attended", "精検受診者数"), ("prev_cancer", "がんであった者"),
    ("prev_suspected", "がんの疑い又は未確定"), ("prev_other_disease", "がん以外の疾患"),
    ("prev_no_abnormality", "異常認めず"), ("prev_not_attended", "精検未受診者数"), ("prev_unknown", "精検未把握者数"),
)
# the role that reads exact cells (migration 0028) and the purpose it states
REPORTER, PURPOSE = "kenshin_reporter", "ministry_report"
_SEX = {"1": "男", "2": "女", "all": "計"}
_FIRST = {"first": "初回", "repeat": "非初回", "all": "計"}


def reports_dir() -> Path:
    path = config.data_dir() / "reports"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _rows(url: str, fiscal_year: int) -> list[list[str]]:
    names = [c for c, _ in COLUMNS]
    with db.connect(url, role=REPORTER, purpose=PURPOSE) as conn:
        cur = conn.execute(
            f"""select {", ".join(names)} from report.ministry_report_exact where fiscal_year = %s
                 order by report_table = 'city', exam_type, sex, age_band = 'all', age_band, first_time""",
            (fiscal_year,))
        out = []
        for values in cur.fetchall():
            cells = [str(values[0]), values[1], _SEX.get(values[2], values[2]), "計" if values[3] == "all"
                     else values[3], _FIRST.get(values[4], values[4])]
            cells += ["" if v is None else str(v) for v in values[5:]]
            out.append(cells)
        conn.commit()
    return out


def report_fiscal_year(run_date) -> int:
    """The fiscal year an annual run on `run_date` reports: the last one that ended."""
    return programmes.fiscal_year(run_date) - 1


def write_annual_report(fiscal_year: int, *, url: str | None = None) -> tuple[Path, Path]:
    """Write the CSV and XLSX of one fiscal year; returns their paths."""
    from openpyxl import Workbook

    rows = _rows(url or db.database_url(), fiscal_year)
    folder = reports_dir()
    header = [label for _, label in COLUMNS]
    buf = io.StringIO(newline="")
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    csv_path = folder / f"ministry_report_FY{fiscal_year}.csv"
    write_atomic(csv_path, buf.getvalue().encode("cp932"))
    book = Workbook()
    book.remove(book.active)
    names = {code: rule.name for code, rule in programmes.exam_types().items()}
    for exam_type in sorted({r[1] for r in rows}) or ["-"]:
        sheet = book.create_sheet(f"{exam_type} {names.get(exam_type, '')}"[:31])
        sheet.append(header)
        for r in (r for r in rows if r[1] == exam_type):
            sheet.append([int(c) if c.isdigit() and i >= 5 else c for i, c in enumerate(r)])
    xlsx_path = folder / f"ministry_report_FY{fiscal_year}.xlsx"
    with atomic_path(xlsx_path) as tmp:
        book.save(tmp)
    return csv_path, xlsx_path
