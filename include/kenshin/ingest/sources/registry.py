"""Resident registry (住民記録), public assistance (生活保護) and NHI (国保) files.

LAYOUTS.md §1–3. Rows become landing rows here, with their row rules and the
checks across lines of a file; the accepted rows are applied to the person
ledger and the eligibility periods by `kenshin.ledger.persons`.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg

from kenshin.ingest import normalize as nz
from kenshin.ingest.sources.base import (
    FileMeta,
    PromotionRefused,
    RowError,
    Source,
    field_limits,
    header_date,
    header_month,
    optional_date,
    require_choice,
    require_date,
    require_digits,
    require_text,
)
from kenshin.ledger import persons
from kenshin.platform import config, vocabulary
from kenshin.platform.crypto import protector
from kenshin.platform.envelope import FileRejected

EVENT_CODES = frozenset(f"{i:02d}" for i in range(0, 9))


@functools.cache
def _rules_code_digest() -> str:
    """Digest of the code that decides what a registry line becomes: this module,
    the shared field rules, normalization and the shared codes (its landing
    values), and the person ledger's promotion (its effect on core). Any edit of
    one makes the next snapshot parse every line again, rather than trusting
    that it did not change what a line becomes."""
    from kenshin.ingest.sources import base

    h = hashlib.sha256()
    for module in (sys.modules[__name__], base, nz, persons, vocabulary):
        h.update(Path(module.__file__).read_bytes())
    return h.hexdigest()


def ward_codes() -> frozenset[str]:
    return frozenset(config.load("platform")["city"]["ward_codes"])


def city_code() -> str:
    return str(config.load("platform")["city"]["municipality_code"])


class JuminSource(Source):
    """住民記録 extract: `jumin_YYYYMMDD_{full|diff}.csv` (LAYOUTS.md §1)."""

    name = "jumin"
    kind = "JUMIN"
    pattern = re.compile(r"jumin_(?P<stamp>\d{8})_(full|diff)\.csv")
    table = "landing.jumin"
    accepted_view = "landing.jumin_accepted"
    suite = "landing_jumin_full"
    n_fields = 20
    fields = ("record_type", "addressee_id", "my_number", "household_id", "name_kanji", "name_kana", "sex",
              "birth_date", "relationship", "household_head_name", "postal_code", "ward_code", "address",
              "resident_since", "previous_address", "previous_municipality_code", "status", "event_code",
              "event_date", "protection_flag")
    withheld_field = 2  # 個人番号: only encrypted and HMAC'd
    raw_columns = (
        "addressee_id", "household_id", "name_kanji", "name_kana", "sex", "birth_date",
        "relationship", "household_head_name", "postal_code", "ward_code", "address",
        "resident_since", "previous_address", "previous_municipality_code", "status",
        "event_code", "event_date", "protection_flag",
    )
    value_columns = (
        "person_key", "my_number_hmac", "my_number_enc", "name_kana_value", "name_kanji_key", "name_kana_key",
        "address_key", "postal_code_value", "birth_date_value", "resident_since_value",
        "event_date_value",
    )

    fingerprinted = True
    # Part of every line fingerprint, beside the code of the row rules and
    # their configuration: bump it when what a line becomes changes elsewhere
    # (the accepted view, the promotion), so the next snapshot parses every line.
    row_rules_version = "2026.1"

    def __init__(self) -> None:
        self._wards = ward_codes()
        self._protector = protector()

    def fingerprinter(self, meta: FileMeta, encoding: str) -> Callable[[bytes], bytes] | None:
        """Full snapshots only: a diff line is an event, applied every time."""
        if meta.variant != "full":
            return None
        rules = json.dumps([self.row_rules_version, _rules_code_digest(), sorted(self._wards), city_code(),
                            sorted(nz.variant_map().items()), field_limits(self)], ensure_ascii=False)
        purpose = f"registry_line\x1f{hashlib.sha256(rules.encode()).hexdigest()}\x1f{encoding}"
        return self._protector.hasher(purpose)

    def known_fingerprints(self, conn: psycopg.Connection, meta: FileMeta) -> set[bytes]:
        known: set[bytes] = set()
        with conn.cursor(binary=True) as cur:
            cur.execute("select snapshot_fingerprint from core.person where snapshot_fingerprint is not null")
            while rows := cur.fetchmany(100_000):
                known.update(bytes(r[0]) for r in rows)
        return known

    def read_header(self, header: list[str], file_name: str) -> FileMeta:
        m = self.pattern.fullmatch(file_name)
        variant = header[2].strip() if len(header) > 2 else ""
        if variant not in ("full", "diff"):
            raise FileRejected(file_name, "header variant must be full or diff", line=1, field="variant")
        if m and m.group(2) != variant:
            raise FileRejected(file_name, "header variant differs from the file name", line=1, field="variant")
        extract = header_date(header, 3, file_name, "extract_date")
        if m and m.group(1) != extract.strftime("%Y%m%d"):
            raise FileRejected(file_name, "header extract date differs from the file name", line=1,
                               field="extract_date")
        if len(header) < 5 or nz.digits(header[4]) != city_code():
            raise FileRejected(file_name, "header municipality is not this city", line=1, field="municipality_code")
        return FileMeta(file_date=extract, period=extract.strftime("%Y%m%d"), variant=variant)

    def values(self, f: list[str], meta: FileMeta) -> tuple:
        self.require_field_count(f)
        (_, addressee_id, my_number, household_id, name_kanji, name_kana, sex, birth_date,
         relationship, _head, postal_code, ward_code, address, resident_since, _prev_addr,
         prev_municipality, status, event_code, event_date, protection_flag) = f
        owner = require_digits(addressee_id, 10, "addressee_id")
        mn_hmac = mn_enc = None
        number = nz.digits(my_number)
        if number:
            if not nz.valid_my_number(number):
                raise RowError("my_number", "check digit or format invalid")
            mn_hmac = self._protector.hmac(number, "my_number")
            mn_enc = self._protector.encrypt(number, owner)
        require_digits(household_id, 10, "household_id")
        kanji = require_text(name_kanji, "name_kanji")
        kana = nz.kana_display(require_text(name_kana, "name_kana"))
        require_choice(sex, vocabulary.SEX_CODES, "sex")
        birth = require_date(birth_date, "birth_date")
        require_text(relationship, "relationship")
        try:
            postal = nz.postal_code(postal_code)
        except nz.BadValue as exc:
            raise RowError("postal_code", str(exc)) from None
        if nz.digits(ward_code) not in self._wards:
            raise RowError("ward_code", "not a ward of this city")
        addr = require_text(address, "address")
        since = optional_date(resident_since, "resident_since")
        if nz.digits(prev_municipality):
            require_digits(prev_municipality, 6, "previous_municipality_code")
        require_choice(status, vocabulary.PERSON_STATUS_CODES, "status")
        code = require_choice(event_code, EVENT_CODES, "event_code")
        if (meta.variant == "full") != (code == "00"):
            raise RowError("event_code", "00 belongs to full snapshots only, and only 00 does")
        when = optional_date(event_date, "event_date")
        if (code == "00") != (when is None):
            raise RowError("event_date", "required for an event, empty otherwise")
        if when and meta.file_date and when > meta.file_date:
            raise RowError("event_date", "after the extract date")
        if birth > (meta.file_date or birth):
            raise RowError("birth_date", "after the extract date")
        require_choice(protection_flag, vocabulary.FLAG_CODES, "protection_flag")
        return (
            self._protector.hmac(owner, "person_key").hex(), mn_hmac, mn_enc, kana, nz.kanji_key(kanji),
            nz.kana_key(kana), nz.address_key(addr),
            postal, birth, since, when,
        )

    def suite_name(self, meta: FileMeta) -> str:
        return f"landing_jumin_{meta.variant}"

    def gate_parameters(self, conn: psycopg.Connection, load_id: int, meta: FileMeta) -> dict[str, Any]:
        policy = config.load("platform")["registry"]
        residents = conn.execute("select count(*) from core.person_current where status = %s",
                                 (vocabulary.RESIDENT,)).fetchone()[0]
        if meta.variant != "full":
            # A "diff" holding a large share of the city is a snapshot sent under the wrong name.
            return {"max_rows": max(int(residents * policy["max_diff_share"]), policy["max_diff_floor_rows"])}
        # A full snapshot lists every resident: far fewer rows than the ledger's
        # residents means a partial extract that happened to have a valid trailer.
        parsed = conn.execute("select exists (select 1 from landing.jumin where load_id = %s and not unchanged "
                              "and reject_reason is null)", (load_id,)).fetchone()[0]
        return {"min_rows": int(residents * policy["missing_check_min_coverage"]),
                "min_household_share": policy["min_household_unique_share"] if parsed else 0}

    def check_order(self, conn: psycopg.Connection, meta: FileMeta, file_name: str) -> None:
        """Registry files apply in date order: a file older than one already
        loaded would rewrite newer history, so it is refused (the next full
        snapshot reconciles whatever it carried)."""
        newest = conn.execute(
            "select max(file_date) from ops.load_manifest where source = 'jumin' and status = 'loaded'"
        ).fetchone()[0]
        if newest and meta.file_date < newest:
            raise FileRejected(file_name, f"extract date is older than the loaded registry file of {newest:%Y-%m-%d}; "
                               "registry files load in date order", line=1, field="extract_date")

    def late_rejects(self, conn: psycopg.Connection, load_id: int) -> None:
        # Grouped into a temporary table first: landing has no fresh statistics
        # right after COPY, and a guessed plan for an IN (subquery) can go quadratic.
        conn.execute(
            """
            create temp table shared_numbers on commit drop as
            select my_number_hmac from landing.jumin
             where load_id = %(load)s and reject_reason is null and my_number_hmac is not null
             group by 1
            having min(landing.ascii_digits(addressee_id)) <> max(landing.ascii_digits(addressee_id))
            """,
            {"load": load_id},
        )
        conn.execute(
            """
            update landing.jumin l
               set reject_field = 'my_number',
                   reject_reason = 'individual number given to more than one addressee in this file'
              from shared_numbers d
             where l.load_id = %(load)s and l.reject_reason is null and l.my_number_hmac = d.my_number_hmac
            """,
            {"load": load_id},
        )
        # An unchanged line lands without its number, so the gate's uniqueness
        # cannot see a parsed line sharing it; the file fails as it would there.
        # (Candidates first: usually none, so the unchanged rows are rarely scanned.)
        shared = conn.execute(
            """
            select count(*) from landing.jumin l
              join core.person p on p.my_number_hmac = l.my_number_hmac
                                and p.addressee_id <> landing.ascii_digits(l.addressee_id)
             where l.load_id = %(load)s and l.reject_reason is null
               and exists (select 1 from landing.jumin u
                            where u.load_id = %(load)s and u.unchanged and u.reject_reason is null
                              and landing.ascii_digits(u.addressee_id) = p.addressee_id)
            """, {"load": load_id}).fetchone()[0]
        if shared:
            raise PromotionRefused(f"individual number given to more than one addressee in this file "
                                   f"({shared} lines share the number of a person listed unchanged)")
        conn.execute(
            """
            update landing.jumin l
               set reject_field = 'my_number',
                   reject_reason = 'individual number already held by another addressee'
              from core.person p
             where l.load_id = %(load)s and l.reject_reason is null
               and p.my_number_hmac = l.my_number_hmac
               and p.addressee_id <> landing.ascii_digits(l.addressee_id)
            """,
            {"load": load_id},
        )

    def promote(self, conn: psycopg.Connection, load_id: int, meta: FileMeta) -> dict[str, int]:
        if meta.variant == "full":
            return persons.apply_snapshot(conn, load_id, meta.file_date)
        return persons.apply_diff(conn, load_id)


class _MonthlyListSource(Source):
    """Shared header handling of the monthly media-transfer lists."""

    def read_header(self, header: list[str], file_name: str) -> FileMeta:
        period = header_month(header, 2, file_name)
        m = self.pattern.fullmatch(file_name)
        if m and m.group(1) != period:
            raise FileRejected(file_name, "header period differs from the file name", line=1, field="period")
        created = header_date(header, 3, file_name, "created_date")
        first = dt.date(int(period[:4]), int(period[4:]), 1)
        return FileMeta(file_date=created, period=period, extra={"month_start": first})

    def check_order(self, conn: psycopg.Connection, meta: FileMeta, file_name: str) -> None:
        """A month's complete list may not follow a later month's: it would
        reopen periods the later list closed."""
        newest = conn.execute(
            "select max(period) from ops.load_manifest where source = %s and status = 'loaded'", (self.name,)
        ).fetchone()[0]
        if newest and meta.period < newest:
            raise FileRejected(file_name, f"period is older than the loaded list of {newest}; "
                               "monthly lists load in month order", line=1, field="period")

    def late_rejects(self, conn: psycopg.Connection, load_id: int) -> None:
        conn.execute(
            f"""
            update {self.table} l
               set reject_field = 'addressee_id', reject_reason = 'not in the person ledger'
             where l.load_id = %(load)s and l.reject_reason is null
               and not exists (select 1 from core.person p
                                where p.addressee_id = landing.ascii_digits(l.addressee_id))
            """,
            {"load": load_id},
        )


class SeihoSource(_MonthlyListSource):
    """生活保護 recipients: `seiho_YYYYMM.csv` (LAYOUTS.md §2)."""

    name = "seiho"
    kind = "SEIHO"
    pattern = re.compile(r"seiho_(?P<stamp>\d{6})\.csv")
    table = "landing.seiho"
    accepted_view = "landing.seiho_accepted"
    suite = "landing_seiho"
    n_fields = 6
    fields = ("record_type", "addressee_id", "case_number", "benefit_type", "start_date", "end_date")
    raw_columns = ("addressee_id", "case_number", "benefit_type", "start_date", "end_date")
    value_columns = ("start_date_value", "end_date_value")

    def values(self, f: list[str], meta: FileMeta) -> tuple:
        self.require_field_count(f)
        _, addressee_id, case_number, benefit_type, start, end = f
        require_digits(addressee_id, 10, "addressee_id")
        require_digits(case_number, 8, "case_number")
        require_choice(benefit_type, frozenset({"1", "2"}), "benefit_type")
        start_value = require_date(start, "start_date")
        end_value = optional_date(end, "end_date")
        if end_value and end_value < start_value:
            raise RowError("end_date", "before start_date")
        return (start_value, end_value)

    def promote(self, conn: psycopg.Connection, load_id: int, meta: FileMeta) -> dict[str, int]:
        return persons.promote_welfare_periods(conn, load_id, meta.extra["month_start"])


class KokuhoSource(_MonthlyListSource):
    """国保 members: `kokuho_YYYYMM.csv` (LAYOUTS.md §3)."""

    name = "kokuho"
    kind = "KOKUHO"
    pattern = re.compile(r"kokuho_(?P<stamp>\d{6})\.csv")
    table = "landing.kokuho"
    accepted_view = "landing.kokuho_accepted"
    suite = "landing_kokuho"
    n_fields = 5
    fields = ("record_type", "addressee_id", "insured_number", "qualified_from", "qualified_to")
    withheld_field = 2  # 記号番号: only HMAC'd
    raw_columns = ("addressee_id", "qualified_from", "qualified_to")
    value_columns = ("insured_number_hmac", "qualified_from_value", "qualified_to_value")

    def __init__(self) -> None:
        self._protector = protector()

    def values(self, f: list[str], meta: FileMeta) -> tuple:
        self.require_field_count(f)
        _, addressee_id, insured_number, qualified_from, qualified_to = f
        require_digits(addressee_id, 10, "addressee_id")
        number = nz.nfkc(insured_number).strip()
        if not number or len(number) > 16:
            raise RowError("insured_number", "empty or longer than 16 characters")
        start = require_date(qualified_from, "qualified_from")
        end = optional_date(qualified_to, "qualified_to")
        if end and end < start:
            raise RowError("qualified_to", "before qualified_from")
        return (self._protector.hmac(number, "nhi_insured_number"), start, end)

    def promote(self, conn: psycopg.Connection, load_id: int, meta: FileMeta) -> dict[str, int]:
        return persons.promote_nhi_periods(conn, load_id, meta.extra["month_start"])
