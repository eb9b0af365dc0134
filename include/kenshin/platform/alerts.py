"""Alerts (障害通知): one clear message for a failed task or a failed gate.

`next_step(kind)` is the configured advice for a kind of failure or request
(the message for a rejected file is composed by `kenshin.ingest.rejections`).
`deadline_minutes(dag_id)` is a DAG's deadline (締切), if it has one.
`settings()` is include/config/alerts.yaml with the environment's overrides
(who gets the e-mail, from which address); `log_message` writes a message to
the log, the channel that is always there.

The sending itself (e-mail through the SMTP provider, chat through Apprise,
both configured by Airflow connections) is Airflow's: `kenshin_airflow.notify`.
This package composes the texts and never imports Airflow.

Messages carry no personal data: kenshin's own messages name files, lines,
fields and counts, never values.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from kenshin.platform import config

log = logging.getLogger("kenshin.alerts")


def settings() -> dict[str, Any]:
    """alerts.yaml with the environment's overrides applied (the recipients and
    the sender of the e-mail: production keeps addresses in its secrets)."""
    try:
        base = config.load("alerts")
    except FileNotFoundError:  # a deployment's policy folder without alerts.yaml: the log only
        base = {}
    email = dict(base.get("email") or {})
    env = os.environ
    if env.get("KENSHIN_ALERT_EMAIL_TO"):
        email["to"] = [a.strip() for a in env["KENSHIN_ALERT_EMAIL_TO"].split(",") if a.strip()]
    if env.get("KENSHIN_ALERT_EMAIL_FROM"):
        email["sender"] = env["KENSHIN_ALERT_EMAIL_FROM"]
    return {**base, "email": email}


def next_step(kind: str) -> str:
    text = (settings().get("next_steps") or {}).get(kind) or "see the task log and the Screening operations page."
    return " ".join(str(text).split())


def deadline_minutes(dag_id: str) -> int | None:
    """Minutes within which a run of `dag_id` must be done after it was due
    (alerts.yaml `deadlines`), or None when the DAG has no deadline. A value
    that is not a positive whole number is refused: a deadline that can never
    pass, or always has, would be an alert nobody gets or everybody ignores."""
    entry = (settings().get("deadlines") or {}).get(dag_id)
    if entry is None:
        return None
    minutes = entry.get("finish_within_minutes") if isinstance(entry, dict) else None
    if isinstance(minutes, bool) or not isinstance(minutes, int) or minutes <= 0:
        raise ValueError(f"alerts.yaml: deadlines.{dag_id}.finish_within_minutes must be a positive whole "
                         f"number of minutes, not {minutes!r}")
    return minutes


def log_message(subject: str, text: str) -> None:
    """The log's copy of an alert (every alert goes there, whatever else is configured)."""
    log.error("%s\n%s", subject, text)
