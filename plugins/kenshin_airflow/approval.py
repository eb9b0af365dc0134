"""Four-eyes approval of a retention purge as an Airflow human-in-the-loop task
(消去の承認: checked by someone other than the person who asked for it).

The task shows the plan (counts per table and category, never personal data)
under Airflow's Required Actions and waits. "Approve" by anyone but the
requester records the approval in the purge log and lets the purge go on;
"Reject" refuses the plan and skips the rest; an approval by the requester is
refused and the task fails, leaving the plan waiting for a proper approver
(clear the task to ask again).

When the task starts waiting, `ApprovalRequestNotifier` (an Airflow notifier,
承認依頼) tells the approvers through the alert channels (kenshin_airflow.notify):
which run, as of when, how many rows, by when, and the Required Actions page.
The approvers (retention.yaml `purge.approvers`) become the task's assigned
users: only they may answer in Airflow.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from airflow.providers.standard.operators.hitl import ApprovalOperator, HITLOperator
from airflow.sdk.bases.notifier import BaseNotifier
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


def approvers() -> list[dict[str, str]]:
    """The Airflow users who may answer the approval (retention.yaml
    `purge.approvers`) as HITL assigned users `{"id", "name"}`; a bare name
    stands for both. Empty: any user Airflow lets answer Required Actions."""
    from kenshin.platform import config

    out = []
    for entry in config.load("retention")["purge"].get("approvers") or []:
        if isinstance(entry, str):
            entry = {"id": entry, "name": entry}
        if not (isinstance(entry, dict) and set(entry) == {"id", "name"}
                and all(isinstance(v, str | int) and str(v).strip() for v in entry.values())):
            raise ValueError(f"retention.yaml: purge.approvers entries are user names or {{id, name}}, not {entry!r}")
        out.append({"id": str(entry["id"]), "name": str(entry["name"])})
    return out


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


def approval_request(plan: dict, *, dag_id: str, run_id: str, link: str, answer_by: dt.datetime | None,
                     assigned: list[dict] | None) -> tuple[str, str]:
    """Subject and text telling the approvers a plan waits (counts, names of
    staff users and links only: never personal data)."""
    from kenshin.governance import retention
    from kenshin.platform import alerts, vocabulary

    threshold = retention.policy()["purge"]["approval_threshold_rows"]
    who = (", ".join(u["name"] for u in assigned) + " (retention.yaml purge.approvers)" if assigned
           else "any Airflow user allowed to answer Required Actions")
    by = (f"{answer_by.astimezone(vocabulary.business_tz()):%Y-%m-%d %H:%M %Z} (purge.approval_timeout_days); "
          "unanswered, the task fails and the plan stays" if answer_by else "no time limit")
    lines = [f"plan: purge run {plan.get('run_id')} as of {plan.get('as_of')}, retention policy "
             f"{plan.get('policy_version')}: {plan.get('planned_rows', 0):,} rows and files to delete "
             f"(approval needed over {threshold:,}), requested by {plan.get('requested_by')}",
             f"approvers: {who}, never the requester",
             f"answer by: {by}",
             f"next: {alerts.next_step('approval')}",
             f"approve: {link}",
             f"run: {dag_id} {run_id}, task approve"]
    return (f"[kenshin] {dag_id}: purge run {plan.get('run_id')} as of {plan.get('as_of')} waits for approval",
            "\n".join(lines))


class ApprovalRequestNotifier(BaseNotifier):
    """Notifier of a HITL approval task (承認依頼): when the task starts waiting,
    ONE message through the alert channels (the log; e-mail and chat when their
    Airflow connections are configured) with the plan's counts and the Required Actions page."""

    def __init__(self, *, plan_task_id: str) -> None:
        super().__init__()
        self.plan_task_id = plan_task_id

    def notify(self, context) -> None:
        from airflow.sdk.timezone import utcnow

        from kenshin_airflow import notify
        from kenshin_airflow.policy import ui_base_url

        ti, task = context["ti"], context["task"]
        plan = ti.xcom_pull(task_ids=self.plan_task_id) or {}
        link = HITLOperator.generate_link_to_ui_from_context(context=context, base_url=ui_base_url())
        timeout = getattr(task, "response_timeout", None)
        subject, text = approval_request(plan, dag_id=ti.dag_id, run_id=ti.run_id, link=link,
                                         answer_by=utcnow() + timeout if timeout else None,
                                         assigned=getattr(task, "assigned_users", None))
        notify.send(subject, text, context)
