"""Failure alerts (障害通知) of every kenshin task: one clear message naming the
DAG, task, run, the error and what to do next, through the alert channels
(kenshin_airflow.notify: the log, and e-mail and chat by Airflow's notifiers), with no personal data (a database error's DETAIL lines are never passed on).
"""

from __future__ import annotations

from airflow.sdk.exceptions import AirflowFailException


def safe_error_text(exc: BaseException | None) -> str:
    """The type and first line of an error, without details a database error
    may carry (PostgreSQL's DETAIL lines can quote key values or whole rows).
    kenshin's own messages name files, lines and fields, never values."""
    if exc is None:
        return "unknown error"
    diag = getattr(exc, "diag", None)
    primary = getattr(diag, "message_primary", None) if diag is not None else None
    text = primary or (str(exc).splitlines() or [""])[0]
    return f"{type(exc).__name__}: {text}"


class AlertedFailure(AirflowFailException):
    """A final failure whose text is already a composed alert (kenshin.ingest.rejections:
    file, expectations or line and field, what to do next; no personal data).
    `notify_failure` passes it whole instead of cutting it to a first line."""


def notify_failure(context) -> None:
    """Failure callback: ONE clear message naming the DAG, task, run, the error and
    what to do next, through kenshin_airflow.notify (the log; e-mail and chat when
    their Airflow connections are configured)."""
    from kenshin.platform import alerts
    from kenshin_airflow import notify

    ti = context.get("task_instance")
    dag_id, task_id = getattr(ti, "dag_id", "?"), getattr(ti, "task_id", "?")
    map_index = getattr(ti, "map_index", -1)
    where = f"{dag_id}.{task_id}" + (f"[{map_index}]" if isinstance(map_index, int) and map_index >= 0 else "")
    exc = context.get("exception")
    if isinstance(exc, AlertedFailure):
        body = str(exc)
    else:
        body = f"error: {safe_error_text(exc)}\nnext: {alerts.next_step('task')}"
    lines = [body, f"run: {dag_id} {context.get('run_id')}, task {where}"]
    log_url = getattr(ti, "log_url", None)
    if log_url:
        lines.append(f"log: {log_url}")
    notify.send(f"[kenshin] {where} failed", "\n".join(lines), context)
