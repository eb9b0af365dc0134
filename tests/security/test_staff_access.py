"""Staff read persons only through the staff views (security_invoker, row-level
security of core): never without a stated purpose, every person they are shown
recorded in audit.access_log (who, when, which person by pseudonymous key, the
purpose; no values), protected persons' addresses only for kenshin_protection."""

from __future__ import annotations

import datetime as dt

import psycopg
import pytest

from builders import fixture_load, insert_event, insert_person, insert_screening
from kenshin.platform import db
from kenshin.reporting import marts

pytestmark = pytest.mark.integration

OPEN, PROTECTED = "0000000101", "0000000102"


@pytest.fixture
def two_people(db_url):
    with psycopg.connect(db_url) as conn:
        fixture_load(conn)
        insert_person(conn, OPEN, 1, dt.date(1970, 1, 1), line_no=1, name_kanji="開示　一郎")
        insert_person(conn, PROTECTED, 2, dt.date(1975, 2, 2), line_no=2, protection_flag=True,
                      name_kanji="保護　花子")
        insert_event(conn, PROTECTED, "02", dt.date(2020, 4, 1), 3)
        insert_screening(conn, OPEN, "04", dt.date(2026, 10, 1), 4)
        insert_screening(conn, PROTECTED, "04", dt.date(2026, 10, 2), 5, result="3")
        keys = dict(conn.execute("select addressee_id, person_key from core.person"))
    return db_url, keys


def access_log(url):
    with psycopg.connect(url) as conn:
        return conn.execute("select db_role, app_user, purpose, object, person_key, protected, purpose_note, "
                            "access_log::text "
                            "from audit.access_log order by access_id").fetchall()


def test_no_purpose_no_record(two_people):
    url, _ = two_people
    with db.connect(url, role="kenshin_staff", user="staff042") as conn:
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="purpose"):
            conn.execute("select * from staff.screening").fetchall()
    assert access_log(url) == []


def test_staff_reach_core_only_through_the_views(two_people):
    url, _ = two_people
    with db.connect(url, role="kenshin_staff", purpose="followup") as conn:
        for table in ("core.screening", "core.person_version", "core.person_current", "ops.linkage_request"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(f"select 1 from {table}")
            conn.rollback()
        # the individual number and the insured number are not in any staff view
        with pytest.raises(psycopg.errors.UndefinedColumn):
            conn.execute("select my_number_enc from staff.person")


def test_every_person_shown_is_recorded_with_the_purpose(two_people):
    url, keys = two_people
    with db.connect(url, role="kenshin_staff", user="staff042", purpose="followup",
                    purpose_note="精検受診勧奨の確認") as conn:
        people = conn.execute("select addressee_id from staff.person").fetchall()
        screenings = conn.execute("select addressee_id, result_code from staff.screening order by 1").fetchall()
        # the same person read again in the same transaction: recorded once
        conn.execute("select * from staff.screening where addressee_id = %s", (OPEN,)).fetchall()
        conn.commit()
    assert people == [(OPEN,)]  # the protected person's address rows are not shown
    assert screenings == [(OPEN, "1"), (PROTECTED, "3")]
    log = access_log(url)
    assert [row[:6] for row in log] == [
        ("kenshin_staff", "staff042", "followup", "core.person_version", keys[OPEN], False),
        ("kenshin_staff", "staff042", "followup", "core.screening", keys[OPEN], False),
        ("kenshin_staff", "staff042", "followup", "core.screening", keys[PROTECTED], True),
    ]
    for row in log:
        assert not any(v in row[7] for v in (OPEN, PROTECTED, "開示", "保護", "川崎市"))


def test_the_designated_role_sees_protected_addresses_and_is_recorded(two_people):
    url, keys = two_people
    with db.connect(url, role="kenshin_protection", user="staff007", purpose="protection_case") as conn:
        people = conn.execute("select addressee_id, address from staff.person order by 1").fetchall()
        events = conn.execute("select addressee_id from staff.person_event").fetchall()
        conn.commit()
    assert [p[0] for p in people] == [OPEN, PROTECTED] and events == [(PROTECTED,)]
    assert ("kenshin_protection", "staff007", "core.person_version", keys[PROTECTED], True) in [
        (r[0], r[1], r[3], r[4], r[5]) for r in access_log(url)]


def test_screening_history_one_person_at_a_time(two_people):
    url, keys = two_people
    assert marts.build(url=url)
    with db.connect(url, role="kenshin_staff", user="staff042", purpose="resident_inquiry") as conn:
        rows = conn.execute("select exam_type, exam_date, result_code from staff.screening_history(%s)",
                            (PROTECTED,)).fetchall()
        conn.commit()
    assert rows == [("04", dt.date(2026, 10, 2), "3")]
    with db.connect(url, role="kenshin_staff", purpose="resident_inquiry") as conn:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("select * from marts.screening_history")
    assert [r[3:6] for r in access_log(url)] == [("marts.screening_history", keys[PROTECTED], True)]
