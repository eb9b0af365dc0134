"""The annual ministry report (地域保健・健康増進事業報告, 健康増進編).

Writes, as LAYOUTS.md §8 says, `reports/FY{year}/chiiki_hoken_{year}.xlsx` (one
sheet per table, in the report's order) and one CP932 CSV per table
(`chiiki_hoken_{year}_{table}.csv`, table = the exam type code or the family's
name) from `report.ministry_report_exact`: the exact counts the city submits
(DOMAIN.md: never suppressed, never from the published `stats`), read as
kenshin_reporter with the stated purpose `ministry_report`, which the database
records in audit.access_log (object: the report; no person key). A rerun on the
same cells writes the same bytes: the workbook's dates and its zip entries'
times are fixed, not the time of writing.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile
from dataclasses import dataclass
from pathlib import Path

from kenshin.platform import config, db
from kenshin.platform.files import write_atomic
from kenshin.programmes import rules as programmes

# The rows' labels, then LAYOUTS.md §8's columns in order (the biennial ones in
# biennial tables only)
ROW_LABELS = (("sex", "性別"), ("age_band", "年齢階級"), ("first_time", "初回・非初回"))
COLUMNS = (
    ("target_population", "対象者数"), ("screened", "受診者数"), ("prev_year_screened", "前年度受診者数"),
    ("screened_both_years", "2年連続受診者数"), ("needing_detailed_exam", "要精検者数"),
    ("prev_attended", "精検受診者数"), ("prev_cancer", "がんであった者"),
    ("prev_suspected", "がんの疑い又は未確定"), ("prev_other_disease", "がん以外の疾患"),
    ("prev_no_abnormality", "異常認めず"), ("prev_not_attended", "精検未受診者数"),
    ("prev_unknown", "精検未把握者数"),
)
BIENNIAL_COLUMNS = frozenset({"prev_year_screened", "screened_both_years"})
# the role that reads exact cells (migration 0028) and the purpose it states
REPORTER, PURPOSE = "kenshin_reporter", "ministry_report"
_SEX = {"1": "男", "2": "女", "all": "計"}
_FIRST = {"first": "初回", "repeat": "非初回", "all": "計"}


@dataclass(frozen=True)
class ReportTable:
    """One table of the report: an exam type's, or a family's (計)."""

    code: str
    name: str
    biennial: bool
    header: tuple[str, ...]
    rows: tuple[tuple[str | int | None, ...], ...]


def reports_dir() -> Path:
    path = config.data_dir() / "reports"
    path.mkdir(parents=True, exist_ok=True)
    return path


def read_tables(fiscal_year: int, *, url: str | None = None) -> list[ReportTable]:
    """The report's tables of one fiscal year, rows in the report's order
    (男, 女, 計; bands upward, then 計; 初回, 非初回, 計), counts as int and
    None where the table has no such cell (対象者数 on 初回 / 非初回 rows)."""
    names = [c for c, _ in ROW_LABELS] + [c for c, _ in COLUMNS]
    with db.connect(url, role=REPORTER, purpose=PURPOSE) as conn:
        cur = conn.execute(
            f"""select exam_type, report_name_ja, is_biennial, {", ".join(names)}
                  from report.ministry_report_exact where fiscal_year = %s
                 order by report_order, sex = 'all', sex, age_band = 'all', age_band,
                          array_position(array['first', 'repeat', 'all'], first_time)""",
            (fiscal_year,))
        records = cur.fetchall()
        conn.commit()
    tables: dict[str, tuple[str, bool, list]] = {}
    for code, name, biennial, sex, band, first, *counts in records:
        kept = [v for (c, _), v in zip(COLUMNS, counts, strict=True) if biennial or c not in BIENNIAL_COLUMNS]
        tables.setdefault(code, (name, biennial, []))[2].append(
            (_SEX[sex], "計" if band == "all" else band, _FIRST[first], *kept))
    out = []
    for code, (name, biennial, rows) in tables.items():
        header = tuple(label for _, label in ROW_LABELS) + tuple(
            label for c, label in COLUMNS if biennial or c not in BIENNIAL_COLUMNS)
        out.append(ReportTable(code, name, biennial, header, tuple(rows)))
    return out


def report_fiscal_year(run_date) -> int:
    """The fiscal year an annual run on `run_date` reports: the last one that ended."""
    return programmes.fiscal_year(run_date) - 1


def _csv_bytes(table: ReportTable) -> bytes:
    buf = io.StringIO(newline="")
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(table.header)
    writer.writerows(["" if v is None else v for v in row] for row in table.rows)
    return buf.getvalue().encode("cp932")


def _workbook_bytes(tables: list[ReportTable], fiscal_year: int) -> bytes:
    """The workbook, the same bytes for the same tables: openpyxl stamps the
    save time into docProps/core.xml and every zip entry, so the properties are
    set to the fiscal year's last day and the entries repacked at a fixed time."""
    from openpyxl import Workbook
    from openpyxl.writer.excel import ExcelWriter

    book = Workbook()
    book.remove(book.active)
    if not tables:
        # a year the marts hold no screening of (the ledger began later): a
        # workbook that says so, not one without sheets (which Excel refuses)
        book.create_sheet("報告対象なし").append(
            [f"{fiscal_year}年度: 検診の記録がありません (no screening of FY{fiscal_year} in the marts)"])
    for table in tables:
        sheet = book.create_sheet(table.name[:31])
        sheet.append(table.header)
        for row in table.rows:
            sheet.append(row)
    last_day = programmes.fiscal_year_start(fiscal_year + 1) - dt.timedelta(days=1)
    stamp = dt.datetime.combine(last_day, dt.time())
    book.properties.creator = "kenshin"
    book.properties.created = book.properties.modified = stamp
    raw = io.BytesIO()
    ExcelWriter(book, zipfile.ZipFile(raw, "w", zipfile.ZIP_DEFLATED)).save()
    packed = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(raw.getvalue())) as src, \
            zipfile.ZipFile(packed, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            entry = zipfile.ZipInfo(info.filename, date_time=(1980, 1, 1, 0, 0, 0))
            entry.compress_type, entry.external_attr = zipfile.ZIP_DEFLATED, info.external_attr
            dst.writestr(entry, src.read(info.filename))
    return packed.getvalue()


def write_annual_report(fiscal_year: int, *, url: str | None = None) -> list[Path]:
    """Write the workbook and the CSVs of one fiscal year; returns their paths
    (the workbook first)."""
    tables = read_tables(fiscal_year, url=url)
    folder = reports_dir() / f"FY{fiscal_year}"
    folder.mkdir(parents=True, exist_ok=True)
    xlsx_path = folder / f"chiiki_hoken_{fiscal_year}.xlsx"
    write_atomic(xlsx_path, _workbook_bytes(tables, fiscal_year))
    paths = [xlsx_path]
    for table in tables:
        path = folder / f"chiiki_hoken_{fiscal_year}_{table.code}.csv"
        write_atomic(path, _csv_bytes(table))
        paths.append(path)
    return paths
