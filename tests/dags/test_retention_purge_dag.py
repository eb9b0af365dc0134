"""retention_purge run with dag.test() on twelve fiscal years of history: a
small plan goes through on its own; a large one waits in Airflow's
human-in-the-loop (Required Actions) until someone answers, through the same
function the REST API's endpoint runs: a different user's approval lets it
proceed, the requester's own is refused and nothing is deleted."""

from __future__ import annotations

import threading
import time

import pendulum
import psycopg
import pytest

import history
from alert_sinks import mail_parts, self_signed_certificate, smtp_connection, smtp_server
from kenshin.governance import retention
from kenshin.platform import config

pytestmark = pytest.mark.dag

AS_OF = pendulum.datetime(2026, 12, 5, 2, tz="Asia/Tokyo")   # the run of December 5 purges as of that day


@pytest.fixture
def purge_dag(db_url, airflow_db, inbox, monkeypatch, airflow_connections):
    from airflow.dag_processing.dagbag import DagBag

    from kenshin.platform.db import PROJECT_ROOT

    with psycopg.connect(db_url) as conn:
        history.write(conn, inbox.parent)
    airflow_connections(db_url)
    return DagBag(dag_folder=str(PROJECT_ROOT / "dags" / "retention_purge.py")).get_dag("retention_purge")


def _purge_runs(url: str) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return conn.execute("select state, requested_by, approved_by, planned_rows, deleted_rows "
                            "from ops.purge_run order by run_id").fetchall()


def _screenings(url: str) -> int:
    with psycopg.connect(url) as conn:
        return conn.execute("select count(*) from core.screening").fetchone()[0]


def test_a_plan_under_the_threshold_is_purged_verified_and_logged(purge_dag, db_url):
    run = purge_dag.test(logical_date=AS_OF)
    assert run.state == "success"
    states = {ti.task_id: ti.state for ti in run.get_task_instances()}
    assert states["approve"] == "skipped" and states["under_threshold"] == "success"
    assert states["verify"] == states["record"] == "success"
    [(state, requester, approver, planned, deleted)] = _purge_runs(db_url)
    assert (state, requester, approver) == ("verified", "dag_test", None)
    assert deleted == planned > 0


def _respond_when_waiting(dag_id: str, user: str, option: str, seen: dict, url: str) -> None:
    """Wait until the approval task asks, note what the database held then, and answer as `user`."""
    from airflow.api_fastapi.core_api.datamodels.hitl import UpdateHITLDetailPayload
    from airflow.api_fastapi.core_api.routes.public.hitl import update_hitl_detail
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session
    from airflow.utils.state import TaskInstanceState

    class Staff:
        def get_id(self) -> str:
            return user

        def get_name(self) -> str:
            return user

    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        with create_session() as session:
            # the metadata database is the session's: other tests' runs of the DAG are there too
            ti = session.query(TaskInstance).filter_by(dag_id=dag_id, task_id="approve",
                                                       state=TaskInstanceState.AWAITING_INPUT).one_or_none()
            if ti is not None:
                seen.update(runs=_purge_runs(url), screenings=_screenings(url), run_id=ti.run_id)
                update_hitl_detail(dag_id=dag_id, dag_run_id=ti.run_id, task_id="approve",
                                   update_hitl_detail_payload=UpdateHITLDetailPayload(chosen_options=[option]),
                                   user=Staff(), session=session)
                return
        time.sleep(0.5)
    seen["timeout"] = True


def _run_with_answer(dag, url: str, user: str, option: str = "Approve"):
    seen: dict = {}
    answer = threading.Thread(target=_respond_when_waiting, args=(dag.dag_id, user, option, seen, url), daemon=True)
    answer.start()
    run = dag.test(logical_date=AS_OF)
    answer.join(timeout=5)
    assert "timeout" not in seen, "the approval task never asked"
    return run, seen


@pytest.fixture
def large_plans(monkeypatch, db_url):
    policy = {**config.load("retention"), "purge": {"approval_threshold_rows": 100, "batch_rows": 1000}}
    monkeypatch.setattr(retention, "policy", lambda: policy)
    # the staff members behind two Airflow users (dag.test() runs as `dag_test`)
    with psycopg.connect(db_url) as conn:
        conn.execute("insert into ops.staff_member (staff_id, airflow_user) values ('staff02', 'staff02'), "
                     "('dag_test', 'dag_test')")


def test_a_large_plan_waits_for_approval_and_proceeds_once_another_user_approves(purge_dag, db_url, large_plans):
    before = _screenings(db_url)
    run, seen = _run_with_answer(purge_dag, db_url, "staff02")
    # while it waited: planned, nothing deleted
    [(state, requester, approver, planned, deleted)] = seen["runs"]
    assert (state, requester, approver, deleted) == ("planned", "dag_test", None, 0) and planned > 100
    assert seen["screenings"] == before
    assert run.state == "success"
    [(state, requester, approver, planned, deleted)] = _purge_runs(db_url)
    assert (state, requester, approver) == ("verified", "dag_test", "staff02")
    assert deleted == planned
    assert _screenings(db_url) < before


def test_the_requester_may_not_approve_their_own_purge(purge_dag, db_url, large_plans):
    before = _screenings(db_url)
    run, _ = _run_with_answer(purge_dag, db_url, "dag_test")
    assert run.state == "failed"
    states = {ti.task_id: ti.state for ti in run.get_task_instances()}
    assert states["approve"] == "failed" and states["execute"] == "upstream_failed"
    [(state, _, approver, _, deleted)] = _purge_runs(db_url)
    assert (state, approver, deleted) == ("planned", None, 0)   # still waiting for a proper approver
    assert _screenings(db_url) == before


def test_an_airflow_user_who_is_no_registered_staff_member_cannot_approve(purge_dag, db_url, large_plans):
    before = _screenings(db_url)
    run, _ = _run_with_answer(purge_dag, db_url, "admin")
    assert run.state == "failed"
    [(state, _, approver, _, deleted)] = _purge_runs(db_url)
    assert (state, approver, deleted) == ("planned", None, 0)
    assert _screenings(db_url) == before


@pytest.fixture
def staff02_approves(monkeypatch):
    """retention.yaml with `purge.approvers: [staff02]` (before the DAG is parsed)."""
    load = config.load

    def with_approvers(name: str):
        doc = load(name)
        return {**doc, "purge": {**doc["purge"], "approvers": ["staff02"]}} if name == "retention" else doc

    monkeypatch.setattr(config, "load", with_approvers)


def test_a_waiting_plan_tells_its_approvers_through_the_alert_channels(staff02_approves, purge_dag, db_url,
                                                                      large_plans, monkeypatch, tmp_path):
    """The approval task's notifier: ONE e-mail (the SMTP provider through the
    connection kenshin_alert_smtp, to a mail server on loopback that demands
    STARTTLS and a login) naming
    the run, the as-of date, the planned rows and the Required Actions page, and
    nothing of the people whose records go; the approvers are the task's assigned users."""
    from airflow.api_fastapi.app import init_auth_manager
    from airflow.models.hitl import HITLDetail
    from airflow.utils.session import create_session

    init_auth_manager()   # the answer checks the assigned users through it, as in the api-server
    with psycopg.connect(db_url) as conn:
        people = conn.execute("select addressee_id, name_kanji, name_kana, address, birth_date "
                              "from core.person_version").fetchall()
    certificate = self_signed_certificate(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate[0]))   # the client trusts the test server's certificate
    with smtp_server(certificate=certificate, login=("kenshin-alerts", "s3cret")) as (port, mails):
        monkeypatch.setenv("KENSHIN_ALERT_EMAIL_TO", "purge-approvers@example.invalid")
        monkeypatch.setenv("AIRFLOW_CONN_KENSHIN_ALERT_SMTP", smtp_connection(port, ("kenshin-alerts", "s3cret")))
        run, seen = _run_with_answer(purge_dag, db_url, "staff02")
    assert run.state == "success"

    with psycopg.connect(db_url) as conn:
        [(run_id, planned)] = conn.execute("select run_id, planned_rows from ops.purge_run").fetchall()
    assert len(mails) == 1   # when the task began to wait, not again when it resumed
    assert (mails[0].tls, mails[0].user) == (True, "kenshin-alerts")
    mail, text = mail_parts(mails[0])
    assert mail["To"] == "purge-approvers@example.invalid"
    assert " ".join(mail["Subject"].split()) == f"[kenshin] retention_purge: purge run {run_id} as of 2026-12-05 waits for approval"
    assert (f"plan: purge run {run_id} as of 2026-12-05, retention policy {config.load('retention')['version']}: "
            f"{planned:,} rows and files to delete (approval needed over 100), requested by dag_test") in text
    assert "approvers: staff02 (retention.yaml purge.approvers), never the requester" in text
    assert "(purge.approval_timeout_days); unanswered, the task fails and the plan stays" in text
    assert "next: Open the Required Actions page (link below)" in text
    assert (f"approve: http://localhost:8080/dags/retention_purge/runs/{seen['run_id']}/tasks/approve/"
            "required_actions?map_index=-1") in text
    # no personal data: no addressee id, name, address or birth date of the ledger
    for person in people:
        for value in person:
            assert str(value) not in text and str(value).replace("-", "") not in text, value

    # Airflow holds staff02 as the only one who may answer (HITL assigned users)
    with create_session() as session:
        detail = session.query(HITLDetail).filter(HITLDetail.task_instance.has(run_id=seen["run_id"])).one()
        assert detail.assigned_users == [{"id": "staff02", "name": "staff02"}]


def test_approvers_are_user_names_or_ids_with_names(monkeypatch):
    from kenshin_airflow.approval import approvers

    def given(entries):
        monkeypatch.setattr(config, "load", lambda name: {"purge": {"approvers": entries}})
        return approvers()

    assert given([]) == [] and given(None) == []
    assert given(["staff02", {"id": 7, "name": "staff03"}]) == [{"id": "staff02", "name": "staff02"},
                                                                {"id": "7", "name": "staff03"}]
    for bad in ([""], [{"id": "7"}], [{"id": "7", "name": "x", "role": "admin"}], [3]):
        with pytest.raises(ValueError, match="purge.approvers"):
            given(bad)
