"""The access review (kenshin audit report): per staff member, accesses and
distinct persons read, with volume far above the usual, protected persons and
access outside office hours flagged (include/config/audit.yaml)."""

from __future__ import annotations

import datetime as dt
import json
from zoneinfo import ZoneInfo

import psycopg
import pytest
from click.testing import CliRunner

from builders import fixture_load, insert_person, insert_screening
from kenshin.cli import main
from kenshin.platform import db

pytestmark = pytest.mark.integration

LOG = """insert into audit.access_log (accessed_at, db_role, login, app_user, purpose, object, person_key, protected,
                                   xact)
         values (%s, 'kenshin_staff', 'login', %s, %s, 'core.screening', %s, %s, %s)"""


def at(day: str, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.fromisoformat(f"{day}T{hour:02d}:{minute:02d}:00+09:00")


def test_the_report_flags_volume_protected_persons_and_hours(db_url, monkeypatch):
    with psycopg.connect(db_url) as conn:
        xact = 0
        # 2026-11-02 is a Monday, 2026-11-05 a Thursday, 2026-11-07 a Saturday
        for i in range(80):          # a bulk reader, in office hours
            xact += 1
            conn.execute(LOG, (at("2026-11-02", 10), "staff10", "受診勧奨", f"pk-{i}", False, xact))
        for i in range(6):           # usual work
            xact += 1
            conn.execute(LOG, (at("2026-11-05", 9), "staff11", "精検確認", f"pk-{i}", False, xact))
            xact += 1
            conn.execute(LOG, (at("2026-11-05", 14), "staff12", "精検確認", f"pk-{i + 10}", False, xact))
        xact += 1                    # a protected person, on a Saturday night
        conn.execute(LOG, (at("2026-11-07", 22), "staff12", "DV対応", "pk-p", True, xact))
        xact += 1                    # before the period: not counted
        conn.execute(LOG, (at("2026-10-30", 10), "staff13", "x", "pk-0", True, xact))
        xact += 1                    # 17:15 is after hours, 08:30 is in them
        conn.execute(LOG, (at("2026-11-04", 17, 15), "staff11", "精検確認", "pk-1", False, xact))
        xact += 1
        conn.execute(LOG, (at("2026-11-04", 8, 30), "staff11", "精検確認", "pk-2", False, xact))
    monkeypatch.setenv("KENSHIN_DATABASE_URL", db_url)
    result = CliRunner().invoke(main, ["audit", "report", "--since", "2026-11-01", "--until", "2026-12-01"])
    assert result.exit_code == 0, result.output
    entries = {e["staff"]: e for e in map(json.loads, result.output.splitlines()[:-1])}
    assert set(entries) == {"staff10", "staff11", "staff12"}
    assert entries["staff10"]["persons"] == 80 and entries["staff10"]["flags"] == [
        "volume: 80 persons, above 50 (3.0x the median 7)"]
    assert entries["staff11"]["accesses"] == 8 and entries["staff11"]["flags"] == [
        "outside office hours: 1 accesses"]
    assert entries["staff12"]["protected_persons"] == 1 and entries["staff12"]["flags"] == [
        "protected persons: 1", "outside office hours: 1 accesses"]
    assert "2 staff members" not in result.output and "3 staff members, 3 flagged" in result.output
    assert "pk-" not in result.output  # persons only as counts


def test_a_real_staff_read_reaches_the_report(db_url):
    with psycopg.connect(db_url) as conn:
        fixture_load(conn)
        insert_person(conn, "0000000301", 2, dt.date(1950, 1, 1), protection_flag=True)
        insert_screening(conn, "0000000301", "07", dt.date(2026, 10, 1), 1)
    with db.connect(db_url, role="kenshin_staff", user="staff21", purpose="resident_inquiry",
                    purpose_note="マンモ結果確認") as conn:
        assert len(conn.execute("select * from staff.screening").fetchall()) == 1
        conn.commit()
    from kenshin.governance import access_review

    today = dt.datetime.now(ZoneInfo("Asia/Tokyo")).date()
    [entry] = access_review.report(today - dt.timedelta(days=1), today + dt.timedelta(days=1), url=db_url)
    assert (entry["staff"], entry["role"], entry["persons"], entry["protected_persons"]) == (
        "staff21", "kenshin_staff", 1, 1)
    assert "protected persons: 1" in entry["flags"]


def test_public_holidays_and_closing_days_are_no_office_hours(db_url, monkeypatch):
    """Weekdays by hand: 2026-11-03 (Tue) 文化の日 and 2026-11-23 (Mon) 勤労感謝の日
    are public holidays, 2026-12-29 (Tue) the offices' year-end closing, 2026-11-24
    (Tue) an ordinary working day; each read at 10:00, within the hours' clock."""
    with psycopg.connect(db_url) as conn:
        for xact, (day, staff) in enumerate([("2026-11-03", "staff20"), ("2026-11-23", "staff20"),
                                             ("2026-12-29", "staff21"), ("2026-11-24", "staff22")], start=1):
            conn.execute(LOG, (at(day, 10), staff, "精検確認", f"pk-{xact}", False, xact))
    monkeypatch.setenv("KENSHIN_DATABASE_URL", db_url)
    result = CliRunner().invoke(main, ["audit", "report", "--since", "2026-11-01", "--until", "2027-01-01"])
    assert result.exit_code == 0, result.output
    entries = {e["staff"]: e for e in map(json.loads, result.output.splitlines()[:-1])}
    assert {s: e["outside_office_hours"] for s, e in entries.items()} == {"staff20": 2, "staff21": 1, "staff22": 0}
    assert entries["staff20"]["flags"] == ["outside office hours: 2 accesses"]


def test_days_off_are_the_calendars_and_the_configured_closings():
    from kenshin.governance.access_review import days_off

    hours = {"public_holidays": "JP", "closed_days": ["12-29", "12-30", "12-31", "01-01", "01-02", "01-03"]}
    assert days_off(dt.date(2026, 12, 28), dt.date(2027, 1, 12), hours) == [
        dt.date(2026, 12, 29), dt.date(2026, 12, 30), dt.date(2026, 12, 31), dt.date(2027, 1, 1),
        dt.date(2027, 1, 2), dt.date(2027, 1, 3), dt.date(2027, 1, 11)]   # 1-11: 成人の日 (second Monday)
    assert days_off(dt.date(2026, 11, 1), dt.date(2026, 12, 1), {"public_holidays": None}) == []
