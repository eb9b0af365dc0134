"""Fuzzing the row rules and the envelope (issue 21, build item 6): whatever a
field or a file holds, nothing but the loader's own verdicts leaves them — a
RowError naming a field for a row, a FileRejected for a file, a BadValue from
normalization — and every record becomes exactly one landing row.

Hypothesis starts from valid records of each layout (tests/builders.py) and
replaces some fields with hostile text (circled and other scripts' digits,
quotes, line breaks, NUL, tabs, backslashes, runaway lengths), so the rules deep
in a layout are reached too. Bounded: a few hundred examples per property,
no deadline, well under a minute in all (`make test` runs it)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from builders import CLINIC, jumin_file, kenshin_row, people, seiken_row
from kenshin.ingest import normalize as nz
from kenshin.ingest.loading import _format_chunk
from kenshin.ingest.sources import (
    JuminSource,
    KenshinSource,
    KokuhoSource,
    SeihoSource,
    SeikenSource,
    ShokaiResSource,
)
from kenshin.ingest.sources.base import FileMeta, RowError
from kenshin.platform.envelope import FileRejected, iter_records, read_envelope

# No example database: a run leaves no files behind (.hypothesis/).
FUZZ = settings(max_examples=250, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])

# what str.isdigit admits but int() or the database does not read as digits,
# in the widths of the layouts' codes, dates and ids
numeric_text = st.sampled_from([1, 2, 6, 7, 8, 10, 12]).flatmap(
    lambda n: st.text(alphabet="0123456789０９①②⑳٣²", min_size=n, max_size=n))
NASTY = ("0123456789０１２９①②⑳٣Ⅳ²" "ｱｲﾃｽアイ山髙﨑邊齋" " \u3000\t" '",\\' "\r\n\x00" "-ー〒/.:" "😀\ufeff")
nasty_text = st.one_of(
    st.text(alphabet=NASTY, max_size=24),
    numeric_text,
    numeric_text,
    st.text(max_size=12),                                   # any code point
    st.builds(lambda c, n: c * n, st.sampled_from(["長", "9", " ", "ｱ"]), st.integers(0, 400)),
)

P = people(1)[0]
MONTH_FIRST, MONTH_LAST = dt.date(2026, 10, 1), dt.date(2026, 10, 31)
CLINIC_META = FileMeta(dt.date(2026, 11, 5), "202610", sender=CLINIC,
                       extra={"month_first": MONTH_FIRST, "month_last": MONTH_LAST})
LIST_META = FileMeta(dt.date(2026, 10, 5), "202610", extra={"month_start": MONTH_FIRST})

# (source, a valid record of its layout, the header's meta)
LAYOUTS = {
    "jumin_full": (JuminSource(), P.jumin_row(), FileMeta(dt.date(2026, 10, 1), "20261001", variant="full")),
    "jumin_diff": (JuminSource(), P.jumin_row("02", "20261001"),
                   FileMeta(dt.date(2026, 10, 1), "20261001", variant="diff")),
    "seiho": (SeihoSource(), ["D", P.addressee_id, "12345678", "1", "20261001", ""], LIST_META),
    "kokuho": (KokuhoSource(), ["D", P.addressee_id, "記号123-456", "20200401", ""], LIST_META),
    "kenshin": (KenshinSource(), kenshin_row(P, "20261015"), CLINIC_META),
    "seiken": (SeikenSource(), seiken_row(P, "20260915", "20261010"), CLINIC_META),
    "shokai_res": (ShokaiResSource(), ["D", "123e4567-e89b-12d3-a456-426614174000", "00", "131016", "04",
                                       "20250610", "1", ""], FileMeta(dt.date(2026, 10, 1), None)),
}


@st.composite
def mutated(draw, layout: str) -> list[str]:
    """A valid record of `layout` with some fields replaced, sometimes one field more or less."""
    _, record, _ = LAYOUTS[layout]
    # one field replaced (so rules late in a layout are reached with every
    # field before valid), or each field kept or replaced on its own draw
    fields = list(record)
    if draw(st.booleans()):
        fields[draw(st.integers(0, len(fields) - 1))] = draw(nasty_text)
    else:
        fields = [draw(nasty_text) if draw(st.integers(0, 3)) == 0 else value for value in record]
    shape = draw(st.sampled_from(["same", "same", "same", "more", "fewer"]))
    if shape == "more":
        fields.append(draw(nasty_text))
    elif shape == "fewer":
        fields.pop()
    return fields


def csv_line(fields: list[str]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="").writerow(fields)
    return out.getvalue()


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
@FUZZ
@given(data=st.data())
def test_row_rules_raise_nothing_but_a_row_error(layout, data):
    source, _, meta = LAYOUTS[layout]
    fields = data.draw(mutated(layout))
    for rules in (source.values, source.row_values):
        try:
            rules(fields, meta)
        except RowError as exc:
            assert exc.field in (*source.fields, "record")
            assert exc.reason and "\n" not in exc.reason


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
@FUZZ
@given(data=st.data())
def test_every_record_becomes_exactly_one_landing_row(layout, data):
    """What a record's bytes are (CSV quoting of hostile fields, or any bytes at
    all), it is one COPY row of the landing table's width."""
    source, _, meta = LAYOUTS[layout]
    encoding = data.draw(st.sampled_from(["utf-8", "cp932"]))
    raw = data.draw(st.one_of(
        st.builds(lambda f: csv_line(f).encode(encoding, errors="replace"), mutated(layout)),
        st.binary(max_size=200).map(lambda b: b"D," + b)))
    out = _format_chunk(source, meta, encoding, 7, [(2, raw)], known=set())
    assert out.endswith("\n") and out.count("\n") == 1
    row = out[:-1].split("\t")
    assert len(row) == len(source.landing_columns) and row[:2] == ["7", "2"]


# Every reason normalization gives: fixed sentences, so none can carry a value.
BAD_VALUE_REASONS = {
    "not an existing date", "unknown era code", "era year must be at least 1 (元年)",
    "date before the start of its era", "date after the end of its era", "expected YYYYMMDD or GYYMMDD",
    "expected a postal code NNN-NNNN",
}


@FUZZ
@given(text=nasty_text)
def test_normalization_refuses_with_bad_value_only(text):
    for parse in (nz.parse_date, nz.postal_code):
        try:
            parse(text)
        except nz.BadValue as exc:
            assert str(exc) in BAD_VALUE_REASONS
    for fold in (nz.digits, nz.kana_key, nz.kanji_key, nz.address_key, nz.kana_display, nz.name_display):
        assert isinstance(fold(text), str)


@st.composite
def hostile_file(draw) -> bytes:
    """A layout file, then damaged: records with hostile fields, stray quotes,
    line ends of any kind, a BOM or none, a trailer right, wrong or missing."""
    records = [csv_line(draw(mutated("kenshin"))) for _ in range(draw(st.integers(0, 6)))]
    lines = [csv_line(["H", "KENSHIN", CLINIC, "202610", "20261105", "代表", "川崎市", "044"]), *records]
    trailer = draw(st.sampled_from(["right", "wrong", "missing", "garbage"]))
    if trailer != "missing":
        lines.append({"right": f"T,{len(records)}", "wrong": f"T,{len(records) + 1}",
                      "garbage": draw(nasty_text)}[trailer])
    end = draw(st.sampled_from(["\r\n", "\n", "\r"]))
    data = end.join(lines).encode(draw(st.sampled_from(["cp932", "utf-8"])), errors="replace")
    if draw(st.booleans()):
        data = b"\xef\xbb\xbf" + data
    for _ in range(draw(st.integers(0, 3))):  # bytes dropped or planted anywhere
        at = draw(st.integers(0, len(data)))
        data = data[:at] + draw(st.sampled_from([b"", b'"', b"\r\n", b"\x00", b"\x81", b"D,"])) + data[at + 1:]
    return data


@FUZZ
@given(data=hostile_file())
def test_the_envelope_refuses_with_file_rejected_only(data):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"kenshin_{CLINIC}_202610.csv"
        path.write_bytes(data)
        records = list(iter_records(path))
        try:
            envelope = read_envelope(path, path.name, "KENSHIN")
        except FileRejected as exc:
            assert str(exc).startswith(path.name)
            return
        # accepted: header first, trailer last, every record between them data
        assert envelope.data_count == len(records) - 2
        assert all(r.startswith(b"D") for _, r in records[1:-1])


def test_a_quoted_line_break_keeps_the_record_whole(tmp_path):
    """RFC 4180: the trailer counts records, not lines; a record's line is where it starts."""
    ps = people(3)
    path = jumin_file(tmp_path, "20261001", "full",
                      [ps[0].jumin_row(), ps[1].jumin_row(address="川崎市\r\n中原区"), ps[2].jumin_row()])
    assert read_envelope(path, path.name, "JUMIN").data_count == 3
    assert [line for line, _ in iter_records(path)] == [1, 2, 3, 5, 6]


@pytest.mark.parametrize(("layout", "field", "value", "reason"), [
    ("kenshin", "line_no", "①", "line_no: expected a number from 1 to 2147483647"),
    ("kenshin", "line_no", "9999999999", "line_no: expected a number from 1 to 2147483647"),
    ("kenshin", "birth_date", "4①10101", "birth_date: expected YYYYMMDD or GYYMMDD"),
    ("kenshin", "addressee_id", "00000000a1", "addressee_id: expected 10 digits or empty"),
    ("seiken", "line_no", "²", "line_no: expected a number from 1 to 2147483647"),
    ("jumin_full", "birth_date", "3①50312", "birth_date: expected YYYYMMDD or GYYMMDD"),
    ("jumin_full", "addressee_id", "000000000①", "addressee_id: expected 10 digits"),
    ("jumin_full", "address", "川" * 201, "address: longer than 200 characters"),
    ("kokuho", "insured_number", "1" * 17, "insured_number: longer than 16 characters"),
])
def test_the_values_that_crashed_or_refused_files_are_row_errors(layout, field, value, reason):
    """The cases issue 21 found, as fixed examples beside the fuzzing."""
    source, record, meta = LAYOUTS[layout]
    fields = list(record)
    fields[source.fields.index(field)] = value
    with pytest.raises(RowError) as caught:
        source.row_values(fields, meta)
    assert f"{caught.value.field}: {caught.value.reason}" == reason
    assert value not in str(caught.value)
