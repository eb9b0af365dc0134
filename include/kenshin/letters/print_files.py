"""The files of a notice batch (LAYOUTS.md §8) under the data folder's `notices/`:

- `YYYYMMDD_{kind}.csv`: the print vendor's list, one row per letter (CP932 by
  default): notice_id, kind, addressee_id, name_kanji, postal_code, address,
  exam_types, deadline, and the voucher numbers (受診券番号) of a VOUCHER letter;
- `YYYYMMDD_{kind}.pdf`: the letters themselves, one A4 page each, in a
  Japanese font (IPAex Mincho, Debian package fonts-ipaexfont-mincho);
- `YYYYMMDD_{kind}_manual.csv`: letters to anyone at a protected address (core.protected_address), never
  in the two files above; staff handle them by hand.

The files are written from the notice history (core.notice), so a rerun writes
the same files; each is written under a temporary name and renamed. A batch
with no letters (or none for staff) writes no file.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import psycopg

from kenshin.platform import config
from kenshin.platform.envelope import write_records
from kenshin.platform.files import atomic_path, font_path
from kenshin.programmes import rules as programmes

# voucher_numbers (VOUCHER letters): the 受診券番号 of each exam type, in the
# order of exam_types, after the columns LAYOUTS.md §8 lists.
FIELDS = ["notice_id", "kind", "addressee_id", "name_kanji", "postal_code", "address", "exam_types", "deadline",
          "voucher_numbers"]
MANUAL_FIELDS = ["notice_id", "kind", "addressee_id", "exam_types", "deadline", "voucher_numbers"]

_ROWS = """
select n.notice_id, n.kind, n.addressee_id, v.name_kanji, v.postal_code, v.address, n.exam_types, n.deadline,
       -- asked again when the files are written: a measure begun since the
       -- letter was recorded keeps it from the vendor too
       case when n.delivery = 'manual' or n.addressee_id in (select addressee_id from core.protected_address)
            then 'manual' else 'bulk' end,
       coalesce((select array_agg(x.voucher_number order by array_position(n.exam_types, x.exam_type::text))
                   from core.voucher x where x.notice_id = n.notice_id), '{}')
  from core.notice n
  join core.person_version v on v.addressee_id = n.addressee_id
   and v.valid_from <= n.as_of and (v.valid_to is null or v.valid_to > n.as_of)
 where n.batch = %(batch)s
 order by n.notice_id
 limit %(limit)s
"""


def batch_rows(conn: psycopg.Connection, batch: str, limit: int | None = None) -> list[tuple]:
    """The letters of a batch with the addressee's name and address on its day."""
    return conn.execute(_ROWS, {"batch": batch, "limit": limit}).fetchall()


def notices_dir() -> Path:
    return config.data_dir() / "notices"


def write_batch(conn: psycopg.Connection, batch: str, *, encoding: str | None = None,
                out: Path | None = None) -> dict[str, Path]:
    """Write the CSV and the PDF of `batch` (e.g. 20260401_VOUCHER) and its manual
    list, those that have letters; returns their paths by kind (csv, pdf, manual)."""
    encoding = encoding or config.load("notices")["encoding"]
    out = out or notices_dir()
    out.mkdir(parents=True, exist_ok=True)
    rows = batch_rows(conn, batch)
    bulk = [r for r in rows if r[8] == "bulk"]
    manual = [r for r in rows if r[8] == "manual"]
    paths = {}
    if bulk:
        paths["csv"], paths["pdf"] = out / f"{batch}.csv", out / f"{batch}.pdf"
        write_records(paths["csv"], FIELDS, [_vendor_row(r) for r in bulk], encoding=encoding, trailer=False)
        _atomic(paths["pdf"], lambda f: render_pdf(f, bulk))
    if manual:
        paths["manual"] = out / f"{batch}_manual.csv"
        write_records(paths["manual"], MANUAL_FIELDS,
                      [[r[0], r[1], r[2], " ".join(r[6]), f"{r[7]:%Y%m%d}", " ".join(r[9])] for r in manual],
                      encoding=encoding, trailer=False)
    return paths


def _vendor_row(r) -> list:
    notice_id, kind, aid, name, postal, address, exam_types, deadline, _, numbers = r
    return [str(notice_id), kind, aid, name, postal, address, " ".join(exam_types), f"{deadline:%Y%m%d}",
            " ".join(numbers)]


def _atomic(path: Path, write) -> None:
    with atomic_path(path) as tmp:
        write(tmp)


def _wareki(day: dt.date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def render_pdf(path: Path, rows: list) -> int:
    """One A4 page per letter: address block, title, body, the exam types and the
    deadline. Returns the number of pages."""
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.units import mm
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont
    from reportlab.pdfgen import canvas

    if "IPAexMincho" not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont("IPAexMincho", str(font_path())))
    wording = config.load("notices")["letters"]
    names = {code: rule.name for code, rule in programmes.exam_types().items()}
    c = canvas.Canvas(str(path), pagesize=A4, pageCompression=1)
    c.setTitle(path.stem)
    width, height = A4
    for notice_id, kind, _aid, name, postal, address, exam_types, deadline, _, numbers in rows:
        text = wording[kind]
        c.setFont("IPAexMincho", 11)
        y = height - 30 * mm
        for line in (f"〒{postal}", address, f"{name} 様"):
            c.drawString(25 * mm, y, line)
            y -= 7 * mm
        c.setFont("IPAexMincho", 16)
        c.drawString(25 * mm, height - 90 * mm, text["title"])
        c.setFont("IPAexMincho", 11)
        y = height - 105 * mm
        for line in text["body"]:
            c.drawString(25 * mm, y, line.format(deadline=_wareki(deadline)))
            y -= 7 * mm
        y -= 4 * mm
        voucher = dict(zip((n[2:4] for n in numbers), numbers, strict=True))
        for code in exam_types:
            line = f"・{names.get(code, code)}"
            if code in voucher:
                line += f"　受診券番号 {voucher[code]}（{_wareki(deadline)}まで有効）"
            c.drawString(30 * mm, y, line)
            y -= 7 * mm
        c.setFont("IPAexMincho", 9)
        c.drawString(25 * mm, 20 * mm, f"{wording['sender']}　通知番号 {notice_id}")
        c.showPage()
    c.save()
    return len(rows)
