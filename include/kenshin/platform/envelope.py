"""The record-file envelope shared by every inbound layout (LAYOUTS.md, conventions).

CSV, `"` quoting, CRLF, no column-name row; `H` header first, `D` data, `T`
trailer last with the count of `D` records. CP932 unless the file starts with a
UTF-8 BOM. This module reads and writes that envelope; what the fields mean
belongs to each source's module.
"""

from __future__ import annotations

import codecs
import csv
import io
import os
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from kenshin.platform.files import atomic_path

BOM = b"\xef\xbb\xbf"


class FileRejected(Exception):
    """The whole file is refused (truncated, corrupt, wrong layout); nothing loads.

    `line` and `field` locate the problem; the message never holds personal data.
    """

    def __init__(self, file: str, reason: str, line: int | None = None, field: str | None = None):
        self.file, self.reason, self.line, self.field = file, reason, line, field
        where = file + (f":{line}" if line else "") + (f" field {field}" if field else "")
        super().__init__(f"{where}: {reason}")


def detect_encoding(head: bytes, default: str = "cp932") -> str:
    """UTF-8 with a BOM, else the layout's own encoding (CP932 unless it says UTF-8)."""
    return "utf-8-sig" if head.startswith(BOM) else default


@dataclass
class Envelope:
    """Header fields, trailer count and the physical line numbers of data records."""

    header: list[str]
    trailer_count: int
    data_count: int
    encoding: str


def iter_raw_lines(path: str | os.PathLike) -> Iterator[tuple[int, bytes]]:
    """(line number, raw bytes without the line end), streamed: a 1.56M-row
    snapshot is never held in memory whole. A UTF-8 BOM is dropped."""
    with open(path, "rb") as fh:
        for i, line in enumerate(fh, start=1):
            if i == 1 and line.startswith(BOM):
                line = line[len(BOM):]
            yield i, line.rstrip(b"\r\n")


# A physical line starting like this begins a record of its own, even while a
# quote is open: one unbalanced quote then spoils one record, not every
# record after it up to the trailer.
_RECORD_START = (b"H,", b"D,", b"T,")


def iter_records(path: str | os.PathLike) -> Iterator[tuple[int, bytes]]:
    """(line number where the record starts, raw bytes of the record without
    its final line end), streamed.

    RFC 4180 lets a quoted field hold a line break, so a record may span
    physical lines: while a record's quotes are unbalanced the next physical
    line is part of it (its line break kept as received), unless that line
    starts a record itself. `"` is one byte in CP932 and UTF-8 and never a
    trail byte of a CP932 character, so counting it in bytes is exact.
    A UTF-8 BOM is dropped."""
    start, record, open_quote = 0, b"", False
    with open(path, "rb") as fh:
        for i, line in enumerate(fh, start=1):
            if i == 1 and line.startswith(BOM):
                line = line[len(BOM):]
            if open_quote and not line.startswith(_RECORD_START):
                record += line
                if line.count(b'"') % 2:
                    open_quote = False
                continue
            if start:
                yield start, record.rstrip(b"\r\n")
            start, record = i, line
            open_quote = b'"' in line and line.count(b'"') % 2 == 1
        if start:
            yield start, record.rstrip(b"\r\n")


# Kana, kanji and full-width forms: text a Japanese file's names are made of.
_JAPANESE = re.compile("[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uff01-\uffef]")


class Utf8Sniffer:
    """Whether bytes fed in order are UTF-8 text holding Japanese (a file sent
    as UTF-8 without the BOM LAYOUTS.md asks for, which CP932 would read as
    mojibake instead of refusing it).

    CP932 names are practically never valid UTF-8: the first kana or kanji of
    a CP932 file fails to decode, after which nothing more is decoded, so the
    check costs a CP932 file almost nothing. Feed it the bytes as they are read
    for the hash (the file is read once)."""

    def __init__(self) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")()
        self._valid, self._japanese = True, False

    def feed(self, chunk: bytes, final: bool = False) -> None:
        # ASCII is UTF-8 and CP932 alike: skipped unless it must end a sequence
        # a previous chunk began.
        if not self._valid or (chunk.isascii() and not final and not self._decoder.getstate()[0]):
            return
        try:
            text = self._decoder.decode(chunk, final)
        except UnicodeDecodeError:
            self._valid = False
            return
        if not self._japanese and _JAPANESE.search(text):
            self._japanese = True

    @property
    def utf8_japanese(self) -> bool:
        """Valid UTF-8 (so far) that holds Japanese text; call after feeding the end with final=True."""
        return self._valid and self._japanese


def write_records(
    path: str | os.PathLike,
    header: Sequence[str],
    rows: Iterable[Sequence[str]],
    *,
    encoding: str = "cp932",
    bom: bool = False,
    trailer: bool = True,
) -> int:
    """Write a layout file atomically (temporary name, then rename). Returns the D count."""
    n = 0
    with atomic_path(path) as tmp, open(tmp, "w", encoding=encoding, newline="") as fh:
        if bom:
            fh.write("\ufeff")
        w = csv.writer(fh, lineterminator="\r\n")
        w.writerow(header)
        for row in rows:
            w.writerow(row)
            n += 1
        if trailer:
            w.writerow(["T", str(n)])
    return n


def decode_line(line: bytes, encoding: str) -> str | None:
    """Decoded text, or None when the line is not valid in the file's encoding."""
    try:
        return line.decode(encoding)
    except UnicodeDecodeError:
        return None


def parse_line(text: str) -> list[str]:
    """One CSV record; raises csv.Error for a malformed one (e.g. an oversized field)."""
    return next(csv.reader(io.StringIO(text)), [])


def read_envelope(path: str | os.PathLike, file: str, expected_kind: str, default_encoding: str = "cp932") -> Envelope:
    """Check the header and trailer of a whole file before anything is staged.

    Rejects: empty file, header not of `expected_kind`, no trailer, trailer count
    different from the number of D records, a record type other than H/D/T.
    Records are counted as RFC 4180 reads them (`iter_records`): a quoted line
    break does not start a record.
    """
    with open(path, "rb") as fh:
        encoding = detect_encoding(fh.read(3), default_encoding)
    header_line: bytes | None = None
    last_no, last = 0, b""
    data = 0
    for i, line in iter_records(path):
        if i == 1:
            header_line = line
            continue
        if last_no:
            # the previous line was not the last one: it must be a D record
            if last.startswith(b"D"):
                data += 1
            elif last.startswith((b"H", b"T")):
                raise FileRejected(file, "header or trailer inside the data", line=last_no, field="record_type")
            else:
                raise FileRejected(file, "unknown record type", line=last_no, field="record_type")
        last_no, last = i, line
    if header_line is None or not header_line.strip():
        raise FileRejected(file, "empty file")
    text_encoding = "utf-8" if encoding == "utf-8-sig" else encoding
    header_text = decode_line(header_line, text_encoding)
    try:
        header = parse_line(header_text) if header_text else []
    except csv.Error:
        raise FileRejected(file, "header is not a valid CSV record", line=1, field="record_type") from None
    if not header or header[0] != "H":
        raise FileRejected(file, "first record is not a header (H)", line=1, field="record_type")
    if len(header) < 2 or header[1].strip() != expected_kind:
        raise FileRejected(file, f"header names another source (expected {expected_kind})", line=1, field="kind")
    if not last_no or not last.startswith(b"T"):
        raise FileRejected(file, "no trailer (T): truncated transfer", line=last_no or 1, field="record_type")
    try:
        trailer = parse_line(last.decode("ascii", errors="replace"))
        if not (len(trailer) > 1 and trailer[1].isascii() and trailer[1].isdigit()):
            raise ValueError
        count = int(trailer[1])
    except (csv.Error, ValueError):
        raise FileRejected(file, "trailer count is not a number", line=last_no, field="record_count") from None
    if count != data:
        raise FileRejected(
            file, f"trailer count {count} differs from {data} data records", line=last_no, field="record_count"
        )
    return Envelope(header=header, trailer_count=count, data_count=data, encoding=text_encoding)
