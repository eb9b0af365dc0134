"""Alerts (障害通知): one clear message for a failed task or a failed gate.

`next_step(kind)` is the configured advice for a kind of failure or request
(the message for a rejected file is composed by `kenshin.ingest.rejections`).
`deadline_minutes(dag_id)` is a DAG's deadline (締切), if it has one.
`send(subject, text)` delivers a message to every configured
channel (include/config/alerts.yaml, overridden by the environment): the log
always, a chat webhook and e-mail when configured. A channel that fails is
logged and never raises: an alert must not fail the callback that sends it.

Messages carry no personal data: kenshin's own messages name files, lines,
fields and counts, never values.
"""

from __future__ import annotations

import json
import logging
import os
import smtplib
import urllib.request
from email.message import EmailMessage
from typing import Any

from kenshin.platform import config

log = logging.getLogger("kenshin.alerts")


def settings() -> dict[str, Any]:
    """alerts.yaml with the environment's overrides applied."""
    try:
        base = config.load("alerts")
    except FileNotFoundError:  # a deployment's policy folder without alerts.yaml: the log only
        base = {}
    webhook, email = dict(base.get("webhook") or {}), dict(base.get("email") or {})
    env = os.environ
    if env.get("KENSHIN_ALERT_WEBHOOK_URL"):
        webhook["url"] = env["KENSHIN_ALERT_WEBHOOK_URL"]
    if env.get("KENSHIN_ALERT_EMAIL_TO"):
        email["to"] = [a.strip() for a in env["KENSHIN_ALERT_EMAIL_TO"].split(",") if a.strip()]
    for key, var in (("sender", "KENSHIN_ALERT_EMAIL_FROM"), ("smtp_host", "KENSHIN_ALERT_SMTP_HOST"),
                     ("smtp_port", "KENSHIN_ALERT_SMTP_PORT")):
        if env.get(var):
            email[key] = env[var]
    return {**base, "webhook": webhook, "email": email}


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


def send(subject: str, text: str) -> list[str]:
    """Deliver to every configured channel; returns the channels that took it."""
    conf = settings()
    log.error("%s\n%s", subject, text)
    delivered = ["log"]
    webhook = conf["webhook"]
    if webhook.get("url"):
        try:
            body = json.dumps({"text": f"{subject}\n{text}"}, ensure_ascii=False).encode("utf-8")
            request = urllib.request.Request(webhook["url"], data=body, method="POST",
                                             headers={"Content-Type": "application/json; charset=utf-8"})
            with urllib.request.urlopen(request, timeout=float(webhook.get("timeout_seconds", 10))) as reply:
                reply.read()
            delivered.append("webhook")
        except OSError as exc:  # URLError, HTTPError and timeouts are OSErrors
            log.warning("alert webhook failed: %s", type(exc).__name__)
    email = conf["email"]
    if email.get("to"):
        try:
            message = EmailMessage()
            message["Subject"], message["From"], message["To"] = subject, email["sender"], ", ".join(email["to"])
            message.set_content(text)
            with smtplib.SMTP(email["smtp_host"], int(email["smtp_port"]),
                              timeout=float(email.get("timeout_seconds", 10))) as smtp:
                smtp.send_message(message)
            delivered.append("email")
        except (OSError, smtplib.SMTPException) as exc:
            log.warning("alert e-mail failed: %s", type(exc).__name__)
    return delivered
