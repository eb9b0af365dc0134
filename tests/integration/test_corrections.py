"""Four-eyes corrections: a staff member's correction or deletion of screening
data takes effect only when another staff member approves it; the database
refuses the requester's own approval; every step is in the audit trail with no
value in it."""

from __future__ import annotations

import datetime as dt
import json

import psycopg
import pytest
from click.testing import CliRunner

from builders import fixture_load, insert_person, insert_screening
from kenshin.cli import main
from kenshin.governance import corrections

pytestmark = pytest.mark.integration

AID = "0000000201"


@pytest.fixture
def staff(logins):
    """Three staff members, each with a login of their own."""
    return {name: logins(name, "kenshin_staff") for name in ("staff01", "staff02", "staff03")}


@pytest.fixture
def screening(db_url):
    with psycopg.connect(db_url) as conn:
        fixture_load(conn)
        insert_person(conn, AID, 1, dt.date(1960, 6, 6), name_kanji="訂正　次郎")
        sid = insert_screening(conn, AID, "04", dt.date(2026, 10, 5), 1, result="3")
        key = conn.execute("select person_key from core.person").fetchone()[0]
    return db_url, sid, key


def one(url, query, *params):
    with psycopg.connect(url) as conn:
        return conn.execute(query, params).fetchone()


def cli(url, monkeypatch, *args):
    monkeypatch.setenv("KENSHIN_DATABASE_URL", url)
    return CliRunner().invoke(main, list(args))


def test_the_requester_cannot_apply_their_own_correction_another_staff_member_can(screening, staff, monkeypatch):
    url, sid, key = screening
    filed = cli(staff["staff01"], monkeypatch, "correct", "request", "--table", "screening", "--id", str(sid),
                "--set", "result_code=1", "--set", "result_detail=再読影で異常なし", "--reason", "読影結果の転記誤り",
                "--by", "staff01")
    assert filed.exit_code == 0, filed.output
    request_id = json.loads(filed.output)["request_id"]
    assert one(url, "select result_code from core.screening where screening_id = %s", sid) == ("3",)

    # her own login, whatever name she gives (--by, kenshin.app_user): refused
    for name in ("staff01", "staff02"):
        own = cli(staff["staff01"], monkeypatch, "correct", "approve", str(request_id), "--by", name)
        assert own.exit_code == 1 and "other than its requester" in own.output
    with psycopg.connect(staff["staff01"]) as conn:
        conn.execute("set role kenshin_staff")
        conn.execute("select set_config('kenshin.app_user', 'staff02', false)")
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="other than its requester"):
            conn.execute("select ops.decide_correction(%s, true)", (request_id,))
    assert one(url, "select result_code from core.screening where screening_id = %s", sid) == ("3",)
    # nor can anyone write the approval straight into the table
    with psycopg.connect(url) as conn:
        with pytest.raises(psycopg.errors.CheckViolation):
            conn.execute("update ops.correction_request set state = 'applied', decided_by = requested_by, "
                         "decided_at = now()")

    other = cli(staff["staff02"], monkeypatch, "correct", "approve", str(request_id), "--by", "staff02")
    assert other.exit_code == 0, other.output
    assert json.loads(other.output)["state"] == "applied"
    assert one(url, "select result_code, result_detail from core.screening where screening_id = %s",
               sid) == ("1", "再読影で異常なし")
    assert one(url, "select state, requested_by, decided_by, changes from ops.correction_request") == (
        "applied", "staff01", "staff02", {"result_code": None, "result_detail": None})

    with psycopg.connect(url) as conn:
        trail = conn.execute(
            """select operation, table_name, record_key, person_key, changed_columns, db_role, app_user, l::text
                 from audit.change_log l where table_name <> 'core.person' and table_name <> 'core.person_version'
                  and app_user like 'staff%%' order by change_id""").fetchall()
    assert [t[:7] for t in trail] == [
        ("insert", "ops.correction_request", str(request_id), key, None, "kenshin_staff", "staff01"),
        ("update", "core.screening", str(sid), key, ["result_code", "result_detail", "updated_at"],
         "kenshin_staff", "staff02"),
        ("update", "ops.correction_request", str(request_id), key, ["changes", "decided_at", "decided_by", "state"],
         "kenshin_staff", "staff02"),
    ]
    for row in trail:
        assert not any(v in row[7] for v in (AID, "訂正", "再読影", "転記誤り"))


def test_a_deletion_applies_on_approval_and_the_marts_learn_of_it(screening, staff):
    url, sid, _ = screening
    filed = corrections.request("screening", sid, by="staff01", reason="二重登録", delete=True,
                                url=staff["staff01"])
    assert filed["requested_by"] == "staff01"
    decided = corrections.decide(filed["request_id"], by="staff03", url=staff["staff03"])
    assert (decided["state"], decided["decided_by"]) == ("applied", "staff03")
    assert one(url, "select count(*) from core.screening") == (0,)
    assert one(url, "select table_name, record_id from ops.deletion_log") == ("core.screening", sid)
    assert one(url, "select operation, app_user from audit.change_log where table_name = 'core.screening' "
                    "and operation = 'delete'") == ("delete", "staff03")


def test_refused_requests_and_bad_requests_change_nothing(screening, staff):
    url, sid, _ = screening
    mine = staff["staff01"]
    filed = corrections.request("screening", sid, by="staff01", reason="誤り", changes={"result_code": "2"}, url=mine)
    # the requester may withdraw it
    assert corrections.decide(filed["request_id"], by="staff01", reject=True, url=mine)["state"] == "rejected"
    with pytest.raises(corrections.CorrectionError, match="is rejected, not waiting"):
        corrections.decide(filed["request_id"], by="staff02", url=staff["staff02"])
    with pytest.raises(corrections.CorrectionError, match="may change"):
        corrections.request("screening", sid, by="staff01", reason="x", changes={"addressee_id": "0000000999"},
                            url=mine)
    with pytest.raises(corrections.CorrectionError, match="does not exist"):
        corrections.request("detailed_exam", 999, by="staff01", reason="x", delete=True, url=mine)
    assert one(url, "select result_code from core.screening") == ("3",)


def test_staff_cannot_change_screenings_except_through_a_request(screening):
    url, sid, _ = screening
    from kenshin.platform import db

    with db.connect(url, role="kenshin_staff", user="staff01", purpose="correction") as conn:
        for statement in ("update staff.screening set result_code = '1'", "delete from staff.screening",
                          "select * from ops.correction_request"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(statement)
            conn.rollback()
