"""What every inbound source declares, and the row-to-COPY formatting they share.

A source (one per layout of LAYOUTS.md) says which file names it owns, which
landing table receives its rows, how one CSV record becomes a landing row
(raw fields as received plus the parsed `_value` columns, or a RowError naming
the field), and how accepted rows are promoted into `core`.
"""

from __future__ import annotations

import abc
import datetime as dt
import functools
import operator
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

import psycopg

from kenshin.ingest import normalize as nz
from kenshin.ledger import PromotionRefused  # noqa: F401  (sources raise it from here)
from kenshin.platform import config
from kenshin.platform.envelope import FileRejected


class RowError(Exception):
    """One row refused by a row rule; `reason` never contains the value."""

    def __init__(self, field: str, reason: str):
        super().__init__(f"field {field}: {reason}")
        self.field, self.reason = field, reason


@dataclass
class FileMeta:
    """What the header (and name) of a file say about it."""

    file_date: dt.date | None
    period: str | None
    variant: str | None = None
    sender: str | None = None  # who sent it (a clinic's code), from the header
    extra: dict[str, Any] = field(default_factory=dict)


class Source(abc.ABC):
    """Base of the per-layout parsers (sources/*.py)."""

    name: ClassVar[str]              # e.g. "jumin"
    kind: ClassVar[str]              # header kind, e.g. "JUMIN"
    pattern: ClassVar[re.Pattern[str]]
    fields: ClassVar[tuple[str, ...]]  # names of a D record's fields, as LAYOUTS.md gives them
    table: ClassVar[str]             # landing table
    accepted_view: ClassVar[str]     # its accepted rows in promotable form (gate + promotion read it)
    n_fields: ClassVar[int]          # fields of a D record, record_type included
    raw_columns: ClassVar[tuple[str, ...]]
    value_columns: ClassVar[tuple[str, ...]]
    suite: ClassVar[str]             # expectations/{suite}.json
    has_review: ClassVar[bool] = False
    encoding: ClassVar[str] = "cp932"      # the layout's encoding when the file has no BOM

    def matches(self, file_name: str) -> bool:
        return self.pattern.fullmatch(file_name) is not None

    @abc.abstractmethod
    def read_header(self, header: list[str], file_name: str) -> FileMeta:
        """What the header says (date, period); FileRejected when it is wrong."""

    # Position of a field that never reaches landing as text (an identifier the
    # source keeps only encrypted or hashed, among its value columns).
    withheld_field: ClassVar[int | None] = None

    def raw(self, f: list[str]) -> list[str | None]:
        """Landing raw columns for record `f` (record type and any withheld field dropped)."""
        if len(f) != self.n_fields:
            # Fields cannot be told apart: keep none, so a withheld identifier
            # never lands in another column's place. The row is quarantined.
            return [None] * len(self.raw_columns)
        w = self.withheld_field
        kept = f[1:w] + f[w + 1:] if w is not None else f[1:]
        raw: list[str | None] = list(kept[: len(self.raw_columns)])
        raw += [None] * (len(self.raw_columns) - len(raw))
        return raw

    def require_field_count(self, f: list[str]) -> None:
        if len(f) != self.n_fields:
            raise RowError("record", f"expected {self.n_fields} fields, found {len(f)}")

    def row_values(self, f: list[str], meta: FileMeta) -> tuple:
        """Every row rule of one record (行単位チェック): the field count and each
        field's length (include/config/layouts.yaml, before any value is parsed
        or reaches an index), then the layout's own rules (`values`). Raises
        RowError only: a conversion the rules did not foresee quarantines the
        row naming its exception's type (never its message, which may quote
        the value), instead of failing the file.

        A line break inside a quoted field is part of the value as RFC 4180
        reads it (kept as received, LAYOUTS.md); the field's own rule decides
        (a code or date with one is not digits, a name's matching form folds it
        like a space)."""
        self.require_field_count(f)
        bounds = _max_chars(type(self))
        if any(map(operator.gt, map(len, f), bounds)):
            for name, value, most in zip(self.fields, f, bounds, strict=True):
                # surrounding spaces are not the value: the rules trim them
                if len(value) > most and len(value.strip()) > most:
                    raise RowError(name, f"longer than {most} characters")
        try:
            return self.values(f, meta)
        except RowError:
            raise
        except Exception as exc:  # the row is refused; the file and the files after it go on
            raise RowError("record", f"row rules failed ({type(exc).__name__})") from None

    @abc.abstractmethod
    def values(self, f: list[str], meta: FileMeta) -> tuple:
        """Parsed `_value` columns; raises RowError for a row rule that fails."""

    def check_order(self, conn: psycopg.Connection, meta: FileMeta, file_name: str) -> None:
        """Refuse (FileRejected) a file that may not load after what is loaded.
        Optional: a source whose files commute has no order to keep."""
        return None

    def available_from(self, stamp: dt.date) -> dt.date:
        """The first business date a file whose name carries `stamp` is due
        (a daily extract at once; a month's results once the month is over)."""
        return stamp

    def loaded_count(self, conn: psycopg.Connection, load_id: int) -> int:
        """Rows of this load that promotion wrote into core (reconciliation).
        Sources with a review step count their linked records instead."""
        return conn.execute(f"select count(*) from {self.accepted_view} where load_id = %s",
                            (load_id,)).fetchone()[0]

    def lock_name(self, file_name: str) -> str:
        """The advisory lock a load of this file holds from start to end: one
        load per source at a time, so order checks and promotion see each
        other's results. Sources whose files from different senders commute
        narrow it (and lock what they share only while promoting)."""
        return f"kenshin:source:{self.name}"

    def stage_rejects(self, conn: psycopg.Connection, load_id: int) -> None:
        """Row rules across the rows of one file (run in the staging transaction,
        before the gate). Optional: a source whose rows stand alone has none."""
        return None

    def late_rejects(self, conn: psycopg.Connection, load_id: int) -> None:
        """Row rules that need the ledger (run in the promote transaction).
        Optional: a source whose rows stand alone has none."""
        return None

    def after_load(self, conn: psycopg.Connection, load_id: int) -> None:
        """Work after the load committed (files for people, e.g. a return list).
        Optional: most sources have none."""
        return None

    @abc.abstractmethod
    def promote(self, conn: psycopg.Connection, load_id: int, meta: FileMeta) -> dict[str, int]:
        """Move this load's accepted rows into core; returns counts for the summary."""

    # Sources whose files repeat what is already loaded (a monthly full
    # snapshot) land a keyed fingerprint of each line; a line whose fingerprint
    # is already known is landed narrow (`unchanged`) instead of parsed again.
    fingerprinted: ClassVar[bool] = False

    def fingerprinter(self, meta: FileMeta, encoding: str) -> Callable[[bytes], bytes] | None:
        """The function fingerprinting a raw line of this file (bytes in
        `encoding`), or None when the file's lines are not fingerprinted."""
        return None

    def known_fingerprints(self, conn: psycopg.Connection, meta: FileMeta) -> set[bytes]:
        """Fingerprints of lines whose content is already promoted and current."""
        return set()

    def unchanged_raw(self, fields: list[str]) -> list[str | None]:
        """Raw columns landed for an unchanged line: only what identifies it."""
        return [fields[1], *[None] * (len(self.raw_columns) - 1)]

    def suite_name(self, meta: FileMeta) -> str:
        """The GX suite (expectations/{name}.json) for this file."""
        return self.suite

    def gate_parameters(self, conn: psycopg.Connection, load_id: int, meta: FileMeta) -> dict[str, Any]:
        """Run-time parameters of the GX suite (e.g. a minimum row count)."""
        return {}

    @property
    def landing_columns(self) -> tuple[str, ...]:
        fingerprint = ("line_fingerprint", "unchanged") if self.fingerprinted else ()
        return ("load_id", "line_no", *self.raw_columns, *self.value_columns, *fingerprint,
                "reject_field", "reject_reason")


# --- field bounds (include/config/layouts.yaml) --------------------------------

@functools.cache
def _max_chars(source: type[Source]) -> tuple[int, ...]:
    """The most characters each field of the layout may hold, in field order."""
    bounds = config.load("layouts")["max_chars"][source.name]
    missing = [f for f in source.fields if f not in bounds]
    if missing or len(source.fields) != source.n_fields:
        raise RuntimeError(f"layouts.yaml max_chars.{source.name} must bound every field of the layout "
                           f"(missing: {', '.join(missing) or 'none'})")
    return tuple(int(bounds[f]) for f in source.fields)


def field_limits(source: Source) -> dict[str, int]:
    """The bound of each field of `source`'s layout, by name (part of what a
    registry line's fingerprint vouches for)."""
    return dict(zip(source.fields, _max_chars(type(source)), strict=True))


# --- field rules shared by the sources ----------------------------------------

def require_digits(value: str, n: int, field: str) -> str:
    s = nz.digits(value)
    if len(s) != n or not nz.is_digits(s):
        raise RowError(field, f"expected {n} digits")
    return s


def require_date(value: str, field: str) -> dt.date:
    try:
        return nz.parse_date(value)
    except nz.BadValue as exc:
        raise RowError(field, str(exc)) from None


def optional_date(value: str, field: str) -> dt.date | None:
    return require_date(value, field) if nz.digits(value) else None


def require_choice(value: str, choices: frozenset[str], field: str) -> str:
    s = nz.digits(value)
    if s not in choices:
        raise RowError(field, "not one of the allowed codes")
    return s


def require_text(value: str, field: str) -> str:
    s = value.strip()
    if not s:
        raise RowError(field, "empty")
    return s


def header_date(header: list[str], index: int, file_name: str, field: str) -> dt.date:
    try:
        return nz.parse_date(header[index])
    except (IndexError, nz.BadValue):
        raise FileRejected(file_name, "header date is not a valid date", line=1, field=field) from None


def header_month(header: list[str], index: int, file_name: str) -> str:
    try:
        value = nz.digits(header[index])
        if len(value) != 6 or not nz.is_digits(value):
            raise ValueError
        dt.date(int(value[:4]), int(value[4:6]), 1)
    except (IndexError, ValueError):
        raise FileRejected(file_name, "header period is not YYYYMM", line=1, field="period") from None
    return value


# --- COPY text format -------------------------------------------------------

_COPY_ESCAPE = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def copy_field(value: object) -> str:
    """One value in PostgreSQL's COPY text format."""
    if value is None:
        return "\\N"
    if isinstance(value, bytes):
        return "\\\\x" + value.hex()
    if isinstance(value, str):
        return value.translate(_COPY_ESCAPE)
    return str(value)
