"""Four-eyes approval of a retention purge as an Airflow human-in-the-loop task
(消去の承認: checked by someone other than the person who asked for it).

The task shows the plan (counts per table and category, never personal data)
under Airflow's Required Actions and waits. "Approve" by anyone but the
requester records the approval in the purge log and lets the purge go on;
"Reject" refuses the plan and skips the rest; an approval by the requester is
refused and the task fails, leaving the plan waiting for a proper approver
(clear the task to ask again).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from airflow.providers.standard.operators.hitl import ApprovalOperator
from airflow.sdk.exceptions import AirflowFailException

SCHEDULER = "scheduler"


def requester(dag_run) -> str:
    """Who asked for the run: the user who triggered it, or the scheduler."""
    return getattr(dag_run, "triggering_user_name", None) or SCHEDULER


def approval_timeout() -> dt.timedelta:
    """How long a plan waits for its approver (retention.yaml
    `purge.approval_timeout_days`); unanswered, the task fails and the plan stays."""
    from kenshin.platform import config

    return dt.timedelta(days=config.load("retention")["purge"]["approval_timeout_days"])


def plan_markdown(plan: dict) -> str:
    """The plan as a Markdown table for the approver (counts only)."""
    lines = [f"Purge run {plan['run_id']} as of {plan['as_of']} under retention policy {plan['policy_version']}, "
             f"requested by {plan['requested_by']}: {plan['planned_rows']:,} rows and files.", "",
             "| category | rows |", "|---|---:|"]
    lines += [f"| {name} | {count:,} |" for name, count in plan["planned"].items() if count]
    return "\n".join(lines)


class FourEyesApprovalOperator(ApprovalOperator):
    """ApprovalOperator whose approval counts only from someone other than the
    requester; the decision is written to the purge log (`kenshin.governance.retention`)."""

    def __init__(self, *, plan_task_id: str, **kwargs: Any) -> None:
        kwargs.setdefault("response_timeout", approval_timeout())
        super().__init__(**kwargs)
        self.plan_task_id = plan_task_id

    def execute_complete(self, context, event: dict[str, Any]) -> Any:
        from kenshin.governance import retention
        from kenshin_airflow.connection import warehouse_url

        result = super().execute_complete(context=context, event=event)
        plan = context["ti"].xcom_pull(task_ids=self.plan_task_id)
        user = (event.get("responded_by_user") or {}).get("name") or "unknown"
        rejected = result["chosen_options"] != [self.APPROVE]
        try:
            retention.approve(plan["run_id"], airflow_user=user, reject=rejected, url=warehouse_url())
        except retention.PurgeError as exc:
            raise AirflowFailException(str(exc)) from None
        return result
