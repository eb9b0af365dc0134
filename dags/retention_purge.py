"""
### retention_purge — 保管期間経過データの消去 (retention purges)

On the 5th of every month at 02:00 Asia/Tokyo, deletes everything past its
retention period (`include/config/retention.yaml`, versioned) as of the end
of the run's data interval, everywhere: raw rows in `landing`, screenings,
detailed exams, external records, letters, vouchers and ledger entries in
`core`, bookkeeping in `ops`, scrubbed values in `audit`, the files the
platform holds; the marts forget the purged rows on their next build, which
this run's Assets trigger.

1. `plan` counts per table and category (no personal data) and records the
   plan in `ops.purge_run`; an unfinished run of the same day is continued.
2. `approve` (only when the plan exceeds `purge.approval_threshold_rows`):
   an Airflow Required Action (human-in-the-loop) that someone other than the
   requester (the triggering user, or `scheduler`) must approve; the
   requester's own approval is refused. "Reject" refuses the plan. The
   approvers (`purge.approvers`, else anyone allowed) are told through the
   alert channels (alerts.yaml), with the link to the Required Actions page.
3. `execute` deletes in bounded transactions (`purge.batch_rows`); killed, a
   retry finishes the job.
4. `verify` scans every category again: nothing may remain past retention.
5. `record` logs the counts, the policy version, requester, approver and times.

By hand: `kenshin purge plan|run [--dry-run] --as-of 2026-12-05`,
`kenshin purge approve RUN_ID` (by another person).
"""

from __future__ import annotations

from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import CronDataIntervalTimetable, dag, task

from kenshin_airflow.approval import (
    ApprovalRequestNotifier,
    FourEyesApprovalOperator,
    approvers,
    plan_markdown,
)
from kenshin_airflow.assets import EXTERNAL_SCREENINGS, PERSON_LEDGER, SCREENINGS
from kenshin_airflow.periods import PARAMS, run_day
from kenshin_airflow.policy import DEFAULT_ARGS, GATE_RETRIES, START_DATE, TIMEZONE


@dag(
    schedule=CronDataIntervalTimetable("0 2 5 * *", timezone=TIMEZONE),
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=["kenshin", "retention", "purge"],
    doc_md=__doc__,
    params=PARAMS,
    user_defined_macros={"plan_markdown": plan_markdown},
)
def retention_purge():
    @task
    def plan(data_interval_end=None, dag_run=None, params=None) -> dict:
        """Record the plan as of the interval's end (or continue that day's unfinished run)."""
        from kenshin.governance import retention
        from kenshin_airflow.approval import requester
        from kenshin_airflow.connection import warehouse_url

        as_of = run_day(data_interval_end=data_interval_end, dag_run=dag_run, params=params)
        return retention.summary(retention.create_run(as_of, requester(dag_run), dag_run_id=dag_run.run_id,
                                                      url=warehouse_url()))

    @task.branch
    def approval_needed(plan: dict) -> str:
        return "approve" if plan["state"] == "planned" and plan["needs_approval"] else "under_threshold"

    approve = FourEyesApprovalOperator(
        task_id="approve",
        plan_task_id="plan",
        subject="Retention purge: approve the deletion (消去の承認)",
        body="{{ plan_markdown(ti.xcom_pull(task_ids='plan')) }}",
        notifiers=[ApprovalRequestNotifier(plan_task_id="plan")],
        assigned_users=approvers() or None,
        retries=GATE_RETRIES,
    )

    @task(trigger_rule="none_failed_min_one_success")
    def execute(plan: dict) -> dict:
        """Delete in bounded transactions; a retry continues where a killed one stopped."""
        from kenshin.governance import retention
        from kenshin_airflow.connection import warehouse_url

        run = retention.execute(plan["run_id"], url=warehouse_url())
        return {"deleted_rows": run["deleted_rows"]}

    @task(retries=GATE_RETRIES, outlets=[SCREENINGS, EXTERNAL_SCREENINGS, PERSON_LEDGER])
    def verify(plan: dict, executed: dict) -> dict:
        """The gate: nothing past retention anywhere; fails (no retry) otherwise."""
        from kenshin.governance import retention
        from kenshin_airflow.connection import warehouse_url

        run = retention.verify(plan["run_id"], url=warehouse_url())
        return {"state": run["state"], "deleted_rows": run["deleted_rows"]}

    @task
    def record(plan: dict, verified: dict) -> dict:
        """The purge log's entry for this run, as counts (no personal data)."""
        from kenshin.governance import retention
        from kenshin_airflow.connection import warehouse_url

        return retention.record(plan["run_id"], url=warehouse_url())

    under_threshold = EmptyOperator(task_id="under_threshold")
    planned = plan()
    executed = execute(planned)
    approval_needed(planned) >> [approve, under_threshold] >> executed
    record(planned, verify(planned, executed))


retention_purge()
