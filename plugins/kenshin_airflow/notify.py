"""Alert delivery through Airflow's notifiers (通知の送信): the message texts are
kenshin's own (kenshin.platform.alerts and the callers compose them, with no
personal data); the channels are Airflow's standard ones, configured by
Airflow connections (AIRFLOW_CONN_... or a secrets backend), never by code:

- e-mail: the SMTP provider's `SmtpNotifier` through connection
  `kenshin_alert_smtp` (host, port, login and password; STARTTLS or SSL and
  certificate checking in its extras: `disable_ssl`, `disable_tls`,
  `ssl_context`), to the recipients of alerts.yaml `email.to`
  (KENSHIN_ALERT_EMAIL_TO). No recipients: no e-mail.
- chat: the Apprise provider's `AppriseNotifier` through connection
  `kenshin_alert_chat`, whose `config` names the service by its Apprise URL
  (slack://, msteams://, mmost://, or json://host/path for a plain JSON
  webhook). No connection: no chat.

The log always gets the message (kenshin.platform.alerts.log_message). A
channel that fails is logged by its exception type only (never the text) and
never raises: an alert must not fail the callback that sends it.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Mapping
from typing import Any

import apprise
from airflow.providers.apprise.notifications.apprise import AppriseNotifier
from airflow.providers.smtp.notifications.smtp import SmtpNotifier
from airflow.sdk import BaseHook
from airflow.sdk.bases.notifier import BaseNotifier
from airflow.sdk.exceptions import AirflowNotFoundException
from apprise import NotifyType

log = logging.getLogger("kenshin.alerts")

# The connections' ids: compose passes them as AIRFLOW_CONN_KENSHIN_ALERT_SMTP
# and AIRFLOW_CONN_KENSHIN_ALERT_CHAT (docker-compose.yml, .env.example).
SMTP_CONN_ID = "kenshin_alert_smtp"
CHAT_CONN_ID = "kenshin_alert_chat"


class ChannelRefused(Exception):
    """A channel answered but did not take the message."""


class ChatNotifier(AppriseNotifier):
    """AppriseNotifier that reports a refused message: Apprise answers False
    instead of raising, and AppriseHook.notify drops that answer, so a chat
    server that is down would otherwise count as delivered. The services come
    from the connection, read by the provider's hook."""

    def notify(self, context) -> None:
        services = apprise.Apprise()
        self.hook.set_config_from_conn(conn=self.hook.get_connection(self.apprise_conn_id),
                                       apprise_obj=services)
        if not services.notify(body=self.body, title=self.title or "", notify_type=self.notify_type,
                               body_format=self.body_format, tag=self.tag):
            raise ChannelRefused("no chat service took the message")


def _has_connection(conn_id: str) -> bool:
    """Whether Airflow knows the connection (environment, secrets backend or metadata)."""
    try:
        BaseHook.get_connection(conn_id)
    except AirflowNotFoundException:
        return False
    return True


def as_html(text: str) -> str:
    """The plain text as the HTML body the SMTP provider sends: escaped, its
    lines kept (a failure's lines are read one by one)."""
    return f"<pre>{html.escape(text, quote=False)}</pre>"


def notifiers(subject: str, text: str) -> list[tuple[str, BaseNotifier]]:
    """The configured channels' notifiers carrying this message, each with the
    channel's name: ("email", SmtpNotifier) when alerts.yaml names recipients,
    ("chat", ChatNotifier) when the chat connection exists."""
    from kenshin.platform import alerts

    email = alerts.settings()["email"]
    channels: list[tuple[str, BaseNotifier]] = []
    if email.get("to"):
        channels.append(("email", SmtpNotifier(to=email["to"], from_email=email.get("sender") or None,
                                               subject=subject, html_content=as_html(text),
                                               smtp_conn_id=SMTP_CONN_ID)))
    try:
        chat = _has_connection(CHAT_CONN_ID)
    except Exception as exc:  # a lookup that breaks is a failed channel, logged, never raised
        log.warning("alert chat failed: %s", type(exc).__name__)
        chat = False
    if chat:
        channels.append(("chat", ChatNotifier(title=subject, body=text, notify_type=NotifyType.WARNING,
                                              apprise_conn_id=CHAT_CONN_ID)))
    return channels


def send(subject: str, text: str, context: Mapping[str, Any] | None = None) -> list[str]:
    """Deliver to the log and every configured channel; returns the channels
    that took it. `context` is the callback's Airflow context, when there is one.

    Each notifier's `notify` is called, not the notifier itself: calling it
    would render the message as a Jinja template, and a text is sent as composed."""
    from kenshin.platform import alerts

    alerts.log_message(subject, text)
    delivered = ["log"]
    for name, notifier in notifiers(subject, text):
        try:
            notifier.notify(dict(context or {}))
        except Exception as exc:  # any channel's failure: logged, never fails the callback
            log.warning("alert %s failed: %s", name, type(exc).__name__)
        else:
            delivered.append(name)
    return delivered
