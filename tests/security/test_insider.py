"""The privacy assessment's promises tried as an insider would: real login
roles (CREATE ROLE ... LOGIN IN ROLE ...), ordinary SQL and the project's own
commands. Each class of attempt is refused or leaves its trace.

Expected values are worked out from DOMAIN.md ("Sensitive persons") and the
issue's rules, not read from the code: a protected person's address is the
household's and the building's, so it is hidden with every row that shows it.
"""

from __future__ import annotations

import csv
import datetime as dt
import subprocess
import time

import psycopg
import pytest

from builders import fixture_load, insert_person, jumin_file, people
from kenshin.ingest.loading import ingest_file
from kenshin.letters import notices
from kenshin.letters import print_files as letters
from kenshin.platform import db

pytestmark = pytest.mark.integration

D = dt.date
SHE = "0000000301"          # under a support measure (支援措置)
CHILD = "0000000302"        # her newborn: same household, same address
NEIGHBOUR = "0000000303"    # another household at her address (a relative's flat)
OTHER = "0000000304"        # unrelated, elsewhere
HER_ADDRESS = "川崎市幸区秘匿町9番9号"


@pytest.fixture
def household(db_url):
    with psycopg.connect(db_url) as conn:
        fixture_load(conn)
        # all four women of 40 on 2026-04-01 (a breast-cancer coupon each, DOMAIN.md)
        insert_person(conn, SHE, 2, D(1986, 4, 2), line_no=1, protection_flag=True, household_id="9000000001",
                      address=HER_ADDRESS, name_kanji="秘匿　花子")
        insert_person(conn, CHILD, 2, D(1986, 4, 2), line_no=2, household_id="9000000001", address=HER_ADDRESS,
                      name_kanji="秘匿　若葉")
        insert_person(conn, NEIGHBOUR, 2, D(1986, 4, 2), line_no=3, household_id="9000000002",
                      address=HER_ADDRESS, name_kanji="同居　親族")
        insert_person(conn, OTHER, 2, D(1986, 4, 2), line_no=4, name_kanji="無関係　三子")
    return db_url


def _staff_sees(url: str, role: str = "kenshin_staff") -> set[tuple]:
    with db.connect(url, role=role, purpose="eligibility_check") as conn:
        return {row for row in conn.execute(
            "select addressee_id, address from staff.person union all "
            "select addressee_id, previous_address from staff.person_event")}


def test_no_staff_relation_shows_her_address_or_her_households(household, logins):
    clerk = logins("clerk01", "kenshin_staff")
    handler = logins("dv01", "kenshin_protection")
    seen = _staff_sees(clerk)
    assert {aid for aid, _ in seen} == {OTHER}
    assert not any(HER_ADDRESS == address for _, address in seen)
    # the designated role sees them all
    assert {aid for aid, _ in _staff_sees(handler, "kenshin_protection")} == {SHE, CHILD, NEIGHBOUR, OTHER}
    # by name or household head: the rows are not there to be searched
    with db.connect(clerk, role="kenshin_staff", purpose="eligibility_check") as conn:
        assert conn.execute("select count(*) from staff.person where household_head_name like '秘匿%%' "
                            "or household_id = '9000000001' or address like '%%秘匿町%%'").fetchone()[0] == 0


def test_letters_to_anyone_at_her_address_never_reach_the_vendor(household, inbox):
    result = notices.run("VOUCHER", D(2026, 4, 1), url=household)
    assert (result["bulk"], result["manual"]) == (1, 3)
    vendor = letters.notices_dir() / "20260401_VOUCHER.csv"
    with vendor.open(encoding="cp932", newline="") as f:
        assert [r["addressee_id"] for r in csv.DictReader(f)] == [OTHER]
    pdf = subprocess.run(["pdftotext", result["files"]["pdf"], "-"], capture_output=True, text=True,
                         check=True).stdout
    for text in (vendor.read_text(encoding="cp932"), pdf):
        assert "秘匿" not in text and "同居" not in text
    with (letters.notices_dir() / "20260401_VOUCHER_manual.csv").open(encoding="cp932", newline="") as f:
        assert sorted(r["addressee_id"] for r in csv.DictReader(f)) == [SHE, CHILD, NEIGHBOUR]


def test_a_measure_begun_after_the_letter_was_recorded_keeps_it_from_the_vendor(household, inbox):
    notices.run("VOUCHER", D(2026, 4, 1), url=household)
    with psycopg.connect(household) as conn:
        conn.execute("update core.person_version set protection_flag = true where addressee_id = %s", (OTHER,))
        rows = letters.batch_rows(conn, "20260401_VOUCHER")
    assert {r[2]: r[8] for r in rows}[OTHER] == "manual"


def _review_item(url: str, candidate: str) -> int:
    with psycopg.connect(url) as conn:
        load = conn.execute("insert into ops.load_manifest (file_name, source, sha256, size_bytes, status) "
                            "values ('kenshin_x.csv', 'kenshin', repeat('1', 64), 0, 'loaded') "
                            "returning load_id").fetchone()[0]
        conn.execute("""insert into landing.kenshin (load_id, line_no, name_kanji_value, name_kana_value,
                               address, address_key, exam_type, sex, birth_date_value)
                        values (%s, 1, '秘匿　花子', 'ヒトク　ハナコ', %s, %s, '07', '2', '1986-04-02')""",
                     (load, HER_ADDRESS, HER_ADDRESS))
        return conn.execute("""insert into ops.review_item (load_id, line_no, source, reason, candidates)
                               values (%s, 1, 'kenshin', 'two candidates', %s::jsonb) returning review_id""",
                            (load, f'[{{"addressee_id": "{candidate}", "score": 0.9}}]')).fetchone()[0]


@pytest.mark.parametrize("candidate", [SHE, CHILD, OTHER])
def test_a_review_record_at_her_address_is_withheld_from_staff(household, logins, candidate):
    item = _review_item(household, candidate)
    clerk, handler = logins("clerk02", "kenshin_staff"), logins("dv02", "kenshin_protection")
    columns = "name_kanji, name_kana, postal_code, address, withheld"
    with db.connect(clerk, role="kenshin_staff", purpose="review_queue") as conn:
        # the record's own address is hers, whoever the candidate
        assert conn.execute(f"select {columns} from staff.review_record(%s)", (item,)).fetchone() == (
            None, None, None, None, True)
    with db.connect(handler, role="kenshin_protection", purpose="review_queue") as conn:
        assert conn.execute("select address, withheld from staff.review_record(%s)", (item,)).fetchone() == (
            HER_ADDRESS, False)


def test_the_loader_cannot_lift_a_support_measure_by_hand(household, logins):
    loader = logins("etl01", "kenshin_loader", register=False)
    with db.connect(loader) as conn:
        for statement in (
            f"update core.person_version set protection_flag = false where addressee_id = '{SHE}'",
            # an unflagged version beside the flagged one (history the predicate could be fooled by)
            f"""insert into core.person_version (addressee_id, valid_from, valid_to, household_id, name_kanji, name_kana,
                    name_kanji_key, name_kana_key, sex, birth_date, relationship, postal_code, ward_code, address,
                    address_key, status, protection_flag, attrs_hash, change_event, load_id, line_no)
                select addressee_id, '2019-05-01', '2020-04-01', household_id, name_kanji, name_kana, name_kanji_key,
                       name_kana_key, sex, birth_date, relationship, postal_code, ward_code, address, address_key,
                       status, false, 'y', '00', 1, 9 from core.person_version where addressee_id = '{SHE}'"""):
            with pytest.raises(psycopg.errors.InsufficientPrivilege, match="protection request"):
                conn.execute(statement)
            conn.rollback()
    with psycopg.connect(household) as conn:
        assert conn.execute("select bool_and(protection_flag) from core.person_version where addressee_id = %s",
                            (SHE,)).fetchone() == (True,)


def test_a_registry_line_without_the_measure_keeps_it_until_a_second_person_approves(db_url, tmp_path, logins):
    she, other = people(2, start=401)
    she = she.but(protection_flag="1")
    ingest_file(jumin_file(tmp_path, "20261001", "full", [she.jumin_row(), other.jumin_row()]), url=db_url)
    lifted = she.but(protection_flag="0")
    ingest_file(jumin_file(tmp_path, "20261101", "full", [lifted.jumin_row(), other.jumin_row()]), url=db_url)

    def state():
        with psycopg.connect(db_url) as conn:
            return (conn.execute("select bool_or(protection_flag), count(*) from core.person_version "
                                 "where addressee_id = %s", (she.addressee_id,)).fetchone(),
                    conn.execute("select request_id, source, state, requested_by from ops.protection_request"
                                 ).fetchall())
    (flag, versions), requests = state()
    # kept, no new version for the flag alone, one request from the registry
    assert (flag, versions) == (True, 1)
    [(request, source, status, requester)] = requests
    assert (source, status, requester) == ("registry", "requested", "registry")
    # the same line next month files no second request
    ingest_file(jumin_file(tmp_path, "20261201", "full", [lifted.jumin_row(), other.jumin_row()]), url=db_url)
    assert len(state()[1]) == 1

    clerk = logins("clerk03", "kenshin_staff")
    with db.connect(clerk, role="kenshin_staff") as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute("select ops.decide_protection_lift(%s, true)", (request,))
    handler = logins("dv03", "kenshin_protection")
    with db.connect(handler, role="kenshin_protection") as conn:
        assert conn.execute("select ops.decide_protection_lift(%s, true)", (request,)).fetchone() == ("applied",)
        conn.commit()
    (flag, _), [(_, _, status, _)] = state()
    assert (flag, status) == (False, "applied")
    with psycopg.connect(db_url) as conn:
        trail = conn.execute("select operation, db_role from audit.change_log where table_name = "
                             "'ops.protection_request' order by change_id").fetchall()
    assert trail == [("insert", "kenshin_loader"), ("update", "kenshin_protection")]


def test_a_staff_lift_needs_another_member_of_the_protection_role(household, logins):
    first, second = logins("dv04", "kenshin_protection"), logins("dv05", "kenshin_protection")
    with db.connect(first, role="kenshin_protection", user="dv04") as conn:
        request = conn.execute("select ops.request_protection_lift(%s, %s)",
                               (SHE, "支援措置の期間満了（住民記録係より連絡）")).fetchone()[0]
        conn.commit()
        for name in ("dv04", "dv05"):
            conn.execute("select set_config('kenshin.app_user', %s, false)", (name,))
            with pytest.raises(psycopg.errors.InsufficientPrivilege, match="other than its requester"):
                conn.execute("select ops.decide_protection_lift(%s, true)", (request,))
            conn.rollback()
            conn.execute("set role kenshin_protection")
    with pytest.raises(psycopg.errors.CheckViolation), psycopg.connect(household) as conn:
        conn.execute("update ops.protection_request set state = 'applied', decided_by = requested_by, "
                     "decided_at = now()")
    with db.connect(second, role="kenshin_protection") as conn:
        assert conn.execute("select ops.decide_protection_lift(%s, true)", (request,)).fetchone() == ("applied",)
        conn.commit()
    with psycopg.connect(household) as conn:
        assert conn.execute("select requested_by, decided_by, reason from ops.protection_request").fetchone() == (
            "dv04", "dv05", "支援措置の期間満了（住民記録係より連絡）")
        assert not conn.execute("select bool_or(protection_flag) from core.person_version").fetchone()[0]


# --- reads leave a trace a rollback cannot undo --------------------------------

def _logged(url: str) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return conn.execute("select login, purpose, purpose_note, object, person_key from audit.access_log "
                            "order by access_id").fetchall()


def test_a_read_rolled_back_is_still_in_the_access_log(household, logins):
    clerk = logins("clerk04", "kenshin_staff")
    login = psycopg.conninfo.conninfo_to_dict(clerk)["user"]
    with db.connect(clerk, role="kenshin_staff", purpose="resident_inquiry", purpose_note="電話照会") as conn:
        conn.execute("select * from staff.person").fetchall()
        conn.rollback()
        # a savepoint rolled back, inside a transaction that is rolled back too
        conn.execute("set role kenshin_staff")
        with conn.transaction(), pytest.raises(psycopg.errors.DivisionByZero):
            with conn.transaction():
                conn.execute("select * from staff.person_event").fetchall()
                conn.execute("select * from staff.screening").fetchall()
                conn.execute("select 1 / 0")
        conn.rollback()
    with psycopg.connect(household) as conn:
        key = conn.execute("select person_key from core.person where addressee_id = %s", (OTHER,)).fetchone()[0]
    assert _logged(household) == [(login, "resident_inquiry", "電話照会", "core.person_version", key)]


@pytest.mark.parametrize("purpose", [" ", "なんとなく", "resident_inquiry; drop table x"])
def test_a_purpose_must_be_a_known_code(household, logins, purpose):
    clerk = logins("clerk05", "kenshin_staff")
    with db.connect(clerk, role="kenshin_staff") as conn:
        conn.execute("select set_config('kenshin.purpose', %s, false)", (purpose,))
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="purpose"):
            conn.execute("select * from staff.person").fetchall()
    assert _logged(household) == []


def test_the_access_log_is_written_by_its_own_login_and_nobody_else(household, logins):
    clerk = logins("clerk06", "kenshin_staff")
    with db.connect(clerk, role="kenshin_staff", purpose="followup") as conn:
        conn.execute("select * from staff.person").fetchall()
        conn.commit()
        for statement in ("insert into audit.access_log (db_role, login, purpose, object, protected) "
                          "values ('x', 'x', 'followup', 'x', false)",
                          "select public.dblink_exec('kenshin_access_log', 'delete from audit.access_log')"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(statement)
            conn.rollback()
            conn.execute("set role kenshin_staff")
    with psycopg.connect(household) as conn:
        assert conn.execute("select usename from pg_stat_activity where application_name = 'kenshin_access_log'"
                            ).fetchall() in ([], [("kenshin_access_logger",)])
    assert len(_logged(household)) == 1


# --- the audit trail is append-only, and its chain shows what the grants cannot stop ---

def _verify(url: str) -> list[str]:
    from kenshin.governance import audit_trail

    return [p["problem"] for p in audit_trail.verify(url=url)["problems"]]


@pytest.fixture
def trail(household, logins):
    """A staff read and a correction's audit row: a trail with rows of three tables, sealed."""
    clerk = logins("clerk07", "kenshin_staff")
    with db.connect(clerk, role="kenshin_staff", purpose="followup") as conn:
        conn.execute("select * from staff.person").fetchall()
        conn.commit()
    with psycopg.connect(household) as conn:
        conn.execute("""insert into audit.record_correction (table_name, record_id, old_values, new_values,
                               old_load_id, old_line_no, new_load_id, new_line_no, changed_by)
                        values ('core.screening', 1, '{"result_code": "3"}', '{"result_code": "1"}', 1, 1, 1, 2,
                                'loader')""")
    # sealed once every transaction that may have written a row has ended (the
    # server's other sessions hold the horizon back while theirs are open)
    from kenshin.governance import audit_trail

    deadline = time.monotonic() + 120
    while (result := audit_trail.verify(url=household))["unsealed_rows"]:
        assert time.monotonic() < deadline, "the audit trail was never sealed"
        time.sleep(0.5)
    assert result["problems"] == [] and result["rows"] >= 3
    return household


@pytest.mark.parametrize("role", ["kenshin_purger", "kenshin_loader", "kenshin_auditor", "kenshin_protection"])
def test_no_role_may_delete_or_rewrite_the_audit_trail(trail, logins, role):
    insider = logins("insider", role, register=False)
    with db.connect(insider, role=role) as conn:
        for statement in ("delete from audit.change_log", "delete from audit.access_log",
                          "update audit.record_correction set new_values = '{}'", "truncate audit.change_log",
                          "delete from audit.seal") + (
                ("select audit.expire_rows('audit.change_log', array[1::bigint], now())",)
                if role != "kenshin_purger" else ()):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(statement)
            conn.rollback()
            conn.execute(f"set role {role}")
        if role == "kenshin_purger":
            # the purge's function removes nothing inside the audit period, whatever cutoff it is given
            assert conn.execute("select audit.expire_rows('audit.change_log', "
                                "array(select change_id from audit.change_log), now())").fetchone() == (0,)
    assert _verify(trail) == []


def test_the_owner_is_refused_too(trail):
    with psycopg.connect(trail) as conn:
        conn.execute("set role kenshin_owner")
        for statement in ("delete from audit.change_log", "update audit.access_log set purpose = 'followup'",
                          "truncate audit.record_correction"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege, match="append-only"):
                conn.execute(statement)
            conn.rollback()
            conn.execute("set role kenshin_owner")
        # nor can it borrow the purge's mark
        conn.execute("select set_config('kenshin.audit_expiry', txid_current()::text, true)")
        conn.execute("set local role kenshin_purger")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("delete from audit.change_log")


@pytest.mark.parametrize("tamper", [
    "delete from audit.change_log where change_id = (select min(change_id) from audit.change_log)",
    "delete from audit.access_log",
    "update audit.access_log set login = 'someone_else'",
    "update audit.record_correction set old_values = '{\"result_code\": \"2\"}'",
    # values scrubbed as if by the purge, without its log
    "update audit.record_correction set old_values = '{}', new_values = '{}', values_purged_at = now()",
    "insert into audit.change_log (db_role, login, operation, table_name, written_xact) "
    "select 'x', 'x', 'insert', 'core.person', min(written_xact) from audit.change_log",
    "delete from audit.seal where seal_id = (select min(seal_id) from audit.seal)",
])
def test_a_superuser_who_tampers_is_caught_by_audit_verify(trail, tamper, monkeypatch):
    from click.testing import CliRunner

    from kenshin.cli import main

    with psycopg.connect(trail) as conn:
        for table in ("change_log", "access_log", "record_correction", "seal"):
            conn.execute(f"alter table audit.{table} disable trigger append_only")
        conn.execute(tamper)
    assert _verify(trail) != []
    monkeypatch.setenv("KENSHIN_DATABASE_URL", trail)
    result = CliRunner().invoke(main, ["audit", "verify"])
    assert result.exit_code == 1 and "not whole" in result.stderr


def test_the_purge_expires_old_rows_and_the_chain_still_verifies(trail, logins):
    with psycopg.connect(trail) as conn:
        old = conn.execute("insert into audit.change_log (changed_at, db_role, login, operation, table_name) "
                           "values ('2001-05-01', 'kenshin_loader', 'airflow', 'insert', 'core.screening') "
                           "returning change_id").fetchone()[0]
        recent = conn.execute("select max(change_id) from audit.change_log where change_id <> %s",
                              (old,)).fetchone()[0]
    assert _verify(trail) == []
    purger = logins("purger01", "kenshin_purger", register=False)
    with db.connect(purger, role="kenshin_purger") as conn:
        # a recent row is not expired, whatever cutoff the caller gives
        n = conn.execute("select audit.expire_rows('audit.change_log', %s, now())", ([old, recent],)).fetchone()[0]
        conn.commit()
    assert n == 1
    with psycopg.connect(trail) as conn:
        assert conn.execute("select count(*) from audit.change_log where change_id = %s", (old,)).fetchone() == (0,)
        assert conn.execute("select row_id from audit.expired_row").fetchall() == [(old,)]
    assert _verify(trail) == []


def test_only_the_owner_registers_staff_and_the_command_line_does(db_url, logins, monkeypatch):
    from click.testing import CliRunner

    from kenshin.cli import main

    clerk = logins("clerk08", "kenshin_staff", "kenshin_protection", "kenshin_purger", "kenshin_auditor")
    for role in ("kenshin_staff", "kenshin_protection", "kenshin_purger", "kenshin_auditor"):
        with db.connect(clerk, role=role) as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("update ops.staff_member set db_login = session_user where staff_id = 'clerk08'")
    monkeypatch.setenv("KENSHIN_DATABASE_URL", db_url)
    result = CliRunner().invoke(main, ["staff", "register", "tanaka", "--login", "tanaka_login",
                                       "--airflow-user", "tanaka"])
    assert result.exit_code == 0, result.output
    with psycopg.connect(db_url) as conn:
        assert conn.execute("select db_login, airflow_user, active from ops.staff_member where staff_id = 'tanaka'"
                            ).fetchone() == ("tanaka_login", "tanaka", True)


# --- pseudonyms the auditor cannot reverse ---------------------------------------

IDENTIFYING = ("addressee_id", "linked_addressee_id", "candidates", "changes", "old_values", "new_values",
               "my_number_enc", "my_number_hmac", "name_kanji", "name_kana", "address")


def test_nothing_the_auditor_reads_maps_a_person_key_back(trail, logins):
    with psycopg.connect(trail) as conn:
        readable = conn.execute(
            """select n.nspname || '.' || c.relname || '.' || a.attname from pg_class c
                 join pg_namespace n on n.oid = c.relnamespace
                 join pg_attribute a on a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
                where c.relkind in ('r', 'v', 'm') and a.attname = any(%s)
                  and has_schema_privilege('kenshin_auditor', n.oid, 'USAGE')
                  and has_column_privilege('kenshin_auditor', c.oid, a.attnum, 'SELECT')""",
            (list(IDENTIFYING),)).fetchall()
    assert readable == []
    auditor = logins("audit01", "kenshin_auditor", register=False)
    with db.connect(auditor, role="kenshin_auditor") as conn:
        for statement in ("select addressee_id from ops.record_match", "select candidates from ops.review_item",
                          "select changes from ops.correction_request", "select old_values from audit.record_correction",
                          "select p.addressee_id from audit.change_log l join core.person p using (person_key)",
                          "select audit.identify_person('x')"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(statement)
            conn.rollback()
            conn.execute("set role kenshin_auditor")
        # what the review needs stays: keys, counts, states
        assert conn.execute("select count(distinct person_key) from audit.access_log").fetchone()[0] >= 1
        conn.execute("select state, requested_by, decided_by, reason from ops.correction_request").fetchall()


def test_identity_for_an_investigation_is_a_separate_logged_path(trail, logins):
    with psycopg.connect(trail) as conn:
        key = conn.execute("select person_key from core.person where addressee_id = %s", (SHE,)).fetchone()[0]
    investigator = logins("inv01", "kenshin_investigator", register=False)
    with db.connect(investigator, role="kenshin_investigator") as conn:
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="purpose"):
            conn.execute("select audit.identify_person(%s)", (key,))
    with db.connect(investigator, role="kenshin_investigator", purpose="investigation",
                    purpose_note="事案 2026-14") as conn:
        assert conn.execute("select audit.identify_person(%s)", (key,)).fetchone() == (SHE,)
        conn.rollback()
    with psycopg.connect(trail) as conn:
        assert conn.execute("select object, person_key, protected, purpose, purpose_note from audit.access_log "
                            "where object = 'audit.identify_person'").fetchall() == [
            ("audit.identify_person", key, True, "investigation", "事案 2026-14")]
