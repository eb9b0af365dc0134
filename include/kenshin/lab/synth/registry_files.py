"""The synthetic city's state and its rendering into the LAYOUTS.md records.

`Registry` keeps every person ever created as numpy columns (one index per
person, never reused), households and addresses as parallel tables, and
renders rows for the resident registry (住民記録, §1), public assistance
(生活保護, §2) and NHI (国保, §3) files, and the ground-truth tables.

Dates are proleptic Gregorian ordinals (`datetime.date.toordinal()`); 0 means
"no date". Strings are built a column at a time with numpy object arrays,
which is what makes a 1.5-million-row snapshot fast.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import numpy as np
import pyarrow as pa

from kenshin.ingest.normalize import to_era
from kenshin.lab.synth.names import Names

RELATIONSHIPS = ("世帯主", "妻", "夫", "子", "父", "母", "孫", "同居人", "子の妻")
HEAD, WIFE, HUSBAND, CHILD, FATHER, MOTHER, GRANDCHILD, LODGER, DAUGHTER_IN_LAW = range(9)

RESIDENT, MOVED_OUT, DECEASED, REMOVED = 1, 2, 3, 4  # 住民, 転出, 死亡, 職権消除
NO_DAY = 0
CHUNK = 200_000  # rows rendered at a time, to bound memory

# column name -> (dtype, value of a row appended without one)
PERSON_COLUMNS = {
    "aid": (np.int64, 0),          # 宛名番号
    "my_number": (np.int64, -1),   # 個人番号, -1 when the registry holds none
    "hh": (np.int32, 0),           # household row
    "surname": (np.int32, 0),      # index into Names.surnames
    "given": (np.int32, 0),        # index into Names.given
    "half_kana": (np.bool_, False),  # kana printed half-width
    "sex": (np.int8, 1),
    "birth": (np.int32, NO_DAY),
    "rel": (np.int8, HEAD),        # index into RELATIONSHIPS
    "addr": (np.int32, 0),         # address row
    "since": (np.int32, NO_DAY),   # 市民となった日
    "prev": (np.int32, -1),        # previous-address row, -1 for none
    "status": (np.int8, RESIDENT),
    "status_day": (np.int32, NO_DAY),  # day of the last status change
    "protection": (np.int8, 0),    # 支援措置
    "wf_case": (np.int32, -1),     # welfare case row, -1 never on welfare
    "wf_from": (np.int32, NO_DAY),
    "wf_to": (np.int32, NO_DAY),
    "nhi_no": (np.int64, 0),       # NHI 記号 * 10**7 + household number, 0 never insured
    "nhi_branch": (np.int16, 0),   # 枝番
    "nhi_from": (np.int32, NO_DAY),
    "nhi_to": (np.int32, NO_DAY),
}
HOUSEHOLD_COLUMNS = {
    "hh_id": (np.int64, 0),        # 世帯番号
    "head": (np.int32, 0),         # person row of the 世帯主
    "size": (np.int32, 0),         # resident members
    "case": (np.int32, -1),        # welfare case row of the household, -1 none
    "nhi_no": (np.int64, 0),       # NHI number of the household, 0 none
    "nhi_next": (np.int16, 1),     # next 枝番
}
CASE_COLUMNS = {"case_no": (np.int64, 0), "benefit": (np.int8, 1)}


class Table:
    """Numpy columns that grow by appending rows (capacity grows by half when full)."""

    def __init__(self, columns: dict[str, tuple[type, int]], capacity: int = 1024) -> None:
        self.n = 0
        self._defaults = {name: default for name, (_, default) in columns.items()}
        self._cols = {name: np.zeros(capacity, dtype=t) for name, (t, _) in columns.items()}

    def __getattr__(self, name: str) -> np.ndarray:
        try:
            return self.__dict__["_cols"][name][: self.__dict__["n"]]
        except KeyError:
            raise AttributeError(name) from None

    def append(self, k: int, **values) -> np.ndarray:
        """Append k rows with the given column values; returns their row numbers."""
        need = self.n + k
        cap = len(next(iter(self._cols.values())))
        if need > cap:
            cap = max(need, int(cap * 1.5))
            for name, arr in self._cols.items():
                grown = np.zeros(cap, dtype=arr.dtype)
                grown[: self.n] = arr[: self.n]
                self._cols[name] = grown
        rows = np.arange(self.n, need)
        self.n = need
        for name, default in self._defaults.items():
            self._cols[name][rows] = values.pop(name, default)
        if values:
            raise KeyError(f"unknown columns {sorted(values)}")
        return rows


def _day_strings(days: np.ndarray, fmt) -> np.ndarray:
    """Format day ordinals through their distinct values (0 -> empty)."""
    uniq, inv = np.unique(days, return_inverse=True)
    text = np.array([fmt(dt.date.fromordinal(int(d))) if d else "" for d in uniq], dtype=object)
    return text[inv.reshape(-1)]


def ymd(days: np.ndarray) -> np.ndarray:
    return _day_strings(days, lambda d: d.strftime("%Y%m%d"))


def iso(days: np.ndarray) -> np.ndarray:
    return _day_strings(days, dt.date.isoformat)


def era(days: np.ndarray) -> np.ndarray:
    return _day_strings(days, to_era)


def _zfill(values: np.ndarray, width: int) -> np.ndarray:
    return np.array([f"{v:0{width}d}" for v in values.tolist()], dtype=object)


class Registry:
    """Everyone the city has ever registered, with households and addresses."""

    def __init__(self, names: Names) -> None:
        self.names = names
        self.people = Table(PERSON_COLUMNS, 1 << 16)
        self.households = Table(HOUSEHOLD_COLUMNS, 1 << 15)
        self.cases = Table(CASE_COLUMNS, 1 << 10)
        # address rows (in the city) and previous-address rows (elsewhere)
        self.addr_postal: list[str] = []
        self.addr_ward: list[str] = []
        self.addr_text: list[str] = []
        self.prev_code: list[str] = []
        self.prev_text: list[str] = []
        self._surname_kanji = np.array(names.surnames.kanji, dtype=object)
        self._surname_kana = np.array(names.surnames.kana, dtype=object)
        self._surname_half = np.array(names.surname_kana_half, dtype=object)
        self._given_kanji = np.array(names.given.kanji, dtype=object)
        self._given_kana = np.array(names.given.kana, dtype=object)
        self._given_half = np.array(names.given_kana_half, dtype=object)
        self.rel_text = np.array(RELATIONSHIPS, dtype=object)

    # -- tables -------------------------------------------------------------
    def add_addresses(self, postal: list[str], ward: list[str], text: list[str]) -> np.ndarray:
        first = len(self.addr_text)
        self.addr_postal += postal
        self.addr_ward += ward
        self.addr_text += text
        return np.arange(first, len(self.addr_text), dtype=np.int32)

    def add_previous(self, code: list[str], text: list[str]) -> np.ndarray:
        first = len(self.prev_text)
        self.prev_code += code
        self.prev_text += text
        return np.arange(first, len(self.prev_text), dtype=np.int32)

    # -- rendering ----------------------------------------------------------
    def name_kanji(self, idx: np.ndarray) -> np.ndarray:
        p = self.people
        return self._surname_kanji[p.surname[idx]] + "\u3000" + self._given_kanji[p.given[idx]]

    def name_kana(self, idx: np.ndarray) -> np.ndarray:
        p = self.people
        s, g, half = p.surname[idx], p.given[idx], p.half_kana[idx]
        full = self._surname_kana[s] + "\u3000" + self._given_kana[g]
        return np.where(half, self._surname_half[s] + " " + self._given_half[g], full)

    def household_ids(self, idx: np.ndarray) -> np.ndarray:
        return _zfill(self.households.hh_id[self.people.hh[idx]], 10)

    def my_numbers(self, idx: np.ndarray) -> np.ndarray:
        return np.array([f"{v:012d}" if v >= 0 else "" for v in self.people.my_number[idx].tolist()],
                        dtype=object)

    def jumin_rows(self, idx: np.ndarray, codes: list[str] | None = None,
                   day: dt.date | None = None) -> Iterator[tuple[str, ...]]:
        """D records of LAYOUTS.md §1 for people `idx`, in that order.

        Without `codes` the rows are snapshot rows (event 00, no event date);
        otherwise each row carries its event code and `day` as event date.
        Names and addresses never contain a comma, a quote or a line break, so
        the csv writer never needs to quote them.
        """
        p = self.people
        postal = np.array(self.addr_postal, dtype=object)
        ward = np.array(self.addr_ward, dtype=object)
        text = np.array(self.addr_text, dtype=object)
        prev_code = np.array([*self.prev_code, ""], dtype=object)  # row -1 is "none"
        prev_text = np.array([*self.prev_text, ""], dtype=object)
        digit = np.array([str(i) for i in range(10)], dtype=object)
        event_day = day.strftime("%Y%m%d") if day else ""
        for lo in range(0, len(idx), CHUNK):
            i = idx[lo: lo + CHUNK]
            n = len(i)
            head = self.households.head[p.hh[i]]
            addr, prev = p.addr[i], p.prev[i]
            cols = (
                ["D"] * n,
                _zfill(p.aid[i], 10),
                self.my_numbers(i),
                self.household_ids(i),
                self.name_kanji(i),
                self.name_kana(i),
                digit[p.sex[i]],
                era(p.birth[i]),
                self.rel_text[p.rel[i]],
                self.name_kanji(head),
                postal[addr],
                ward[addr],
                text[addr],
                ymd(p.since[i]),
                prev_text[prev],
                prev_code[prev],
                digit[p.status[i]],
                codes[lo: lo + n] if codes is not None else ["00"] * n,
                [event_day if codes is not None else ""] * n,
                digit[p.protection[i]],
            )
            yield from zip(*cols, strict=True)

    def seiho_rows(self, idx: np.ndarray) -> Iterator[tuple[str, ...]]:
        """D records of LAYOUTS.md §2: addressee, case, benefit type, start, end."""
        p, c = self.people, self.cases
        case = p.wf_case[idx]
        digit = np.array([str(i) for i in range(10)], dtype=object)
        yield from zip(["D"] * len(idx), _zfill(p.aid[idx], 10), _zfill(c.case_no[case], 8),
                       digit[c.benefit[case]], ymd(p.wf_from[idx]), ymd(p.wf_to[idx]), strict=True)

    def kokuho_rows(self, idx: np.ndarray) -> Iterator[tuple[str, ...]]:
        """D records of LAYOUTS.md §3: addressee, 記号番号, qualified from/to."""
        p = self.people
        numbers = [f"{no // 10_000_000:04d}-{no % 10_000_000:07d}-{b:02d}"
                   for no, b in zip(p.nhi_no[idx].tolist(), p.nhi_branch[idx].tolist(), strict=True)]
        yield from zip(["D"] * len(idx), _zfill(p.aid[idx], 10), numbers,
                       ymd(p.nhi_from[idx]), ymd(p.nhi_to[idx]), strict=True)

    def truth_table(self) -> pa.Table:
        """One row per person ever created, as of now (ground truth)."""
        p = self.people
        idx = np.arange(p.n)
        addr = p.addr
        columns = {
            "addressee_id": lambda: _zfill(p.aid, 10),
            "my_number": lambda: self.my_numbers(idx),
            "household_id": lambda: self.household_ids(idx),
            "name_kanji": lambda: self.name_kanji(idx),
            "name_kana": lambda: self.name_kana(idx),
            "sex": lambda: p.sex,
            "birth_date": lambda: iso(p.birth),
            "ward_code": lambda: np.array(self.addr_ward, dtype=object)[addr],
            "postal_code": lambda: np.array(self.addr_postal, dtype=object)[addr],
            "address": lambda: np.array(self.addr_text, dtype=object)[addr],
            "status": lambda: p.status,
            "protection_flag": lambda: p.protection,
            "welfare": lambda: (p.wf_case >= 0) & (p.wf_to == NO_DAY),
            "nhi": lambda: (p.nhi_no > 0) & (p.nhi_to == NO_DAY),
        }
        # one column at a time, so that only one column of Python strings is alive
        return pa.table({name: pa.array(make()) for name, make in columns.items()})
