"""Real receivers for the alert channels on loopback (kenshin_airflow.notify):
a chat webhook (HTTP: Apprise's json://) and a mail server (just enough of
RFC 5321 for smtplib, with STARTTLS and a login when asked), each on a free
port of 127.0.0.1, collecting what they are sent."""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import email
import email.message
import email.policy
import html
import ipaddress
import json
import socket
import socketserver
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


@contextlib.contextmanager
def webhook_server() -> Iterator[tuple[str, list[dict]]]:
    """(url, the JSON bodies posted to it)."""
    received: list[dict] = []

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self):
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/hook", received
    finally:
        server.shutdown()
        server.server_close()


@dataclass
class Mail:
    """One message as the server received it, and how the session that sent it was secured."""

    text: str                 # headers and body, as sent
    tls: bool                 # sent after STARTTLS
    user: str | None          # the login it was sent under (AUTH PLAIN)


def self_signed_certificate(folder: Path, host: str = "127.0.0.1") -> tuple[Path, Path]:
    """(certificate, key) PEM files for `host` (an IP address in the subject
    alternative name, so a client that checks the host name accepts it once it
    trusts the certificate: SSL_CERT_FILE pointing at it)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(hours=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(host))]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_file, key_file = folder / "smtp-cert.pem", folder / "smtp-key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_file, key_file


@contextlib.contextmanager
def smtp_server(*, certificate: tuple[Path, Path] | None = None,
                login: tuple[str, str] | None = None) -> Iterator[tuple[int, list[Mail]]]:
    """(port, each message received). Just enough of RFC 5321 for smtplib, and
    of RFC 3207 (STARTTLS) and RFC 4954 (AUTH PLAIN) when given a certificate
    and a login: then a message is refused unless its session started TLS and
    logged in, so a delivered message proves both were used."""
    mails: list[Mail] = []
    tls_context = None
    if certificate:
        tls_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls_context.load_cert_chain(*map(str, certificate))

    class Smtp(socketserver.StreamRequestHandler):
        def handle(self):
            sock, tls, user = self.request, False, None
            rfile, wfile = self.rfile, self.wfile

            def reply(text: str) -> None:
                wfile.write(text.encode() + b"\r\n")
                wfile.flush()

            reply("220 test")
            try:
                while line := rfile.readline():
                    command = line.decode("ascii", "replace").strip()
                    verb = command.split(" ", 1)[0].upper()
                    if verb == "EHLO":
                        features = (["STARTTLS"] if tls_context and not tls else []) + (
                            ["AUTH PLAIN"] if login and (tls or not tls_context) else [])
                        for line_ in ["test", *features]:   # the first line names the server
                            reply(f"250-{line_}")
                        reply("250 8BITMIME")
                    elif verb == "STARTTLS" and tls_context and not tls:
                        reply("220 go ahead")
                        sock = tls_context.wrap_socket(sock, server_side=True)
                        rfile, wfile, tls, user = sock.makefile("rb"), sock.makefile("wb"), True, None
                    elif verb == "AUTH" and login:
                        mechanism, _, initial = command[5:].partition(" ")
                        if mechanism.upper() != "PLAIN" or (tls_context and not tls):
                            reply("504 5.5.4 PLAIN over TLS only")
                            continue
                        if not initial:
                            reply("334 ")
                            initial = rfile.readline().decode("ascii").strip()
                        _, name, password = base64.b64decode(initial).decode().split("\0")
                        if (name, password) == login:
                            user = name
                            reply("235 2.7.0 accepted")
                        else:
                            reply("535 5.7.8 bad login")
                    elif verb == "MAIL" and tls_context and not tls:
                        reply("530 5.7.0 STARTTLS first")
                    elif verb == "MAIL" and login and user is None:
                        reply("530 5.7.0 authentication required")
                    elif verb == "DATA":
                        reply("354 go on")
                        body = b"".join(iter(rfile.readline, b".\r\n"))
                        mails.append(Mail(body.decode("utf-8", "replace"), tls, user))
                        reply("250 queued")
                    elif verb == "QUIT":
                        reply("221 bye")
                        return
                    else:
                        reply("250 ok")
            except (OSError, ValueError):  # a client that drops the line (SmtpHook closes without QUIT)
                return

    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Smtp)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server.server_address[1], mails
    finally:
        server.shutdown()
        server.server_close()


def closed_port() -> int:
    """A port of 127.0.0.1 nothing listens on (bound, then let go)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def smtp_connection(port: int, login: tuple[str, str] | None = None, **extra) -> str:
    """AIRFLOW_CONN_KENSHIN_ALERT_SMTP for the mail server above: STARTTLS on a
    plain port (`disable_ssl`), the certificate checked (`ssl_context`
    default), no retries (a refusal is final in a test)."""
    user, password = login or (None, None)
    return json.dumps({"conn_type": "smtp", "host": "127.0.0.1", "port": port, "login": user,
                       "password": password,
                       "extra": {"disable_ssl": True, "ssl_context": "default", "timeout": 10,
                                 "retry_limit": 0, **extra}})


def chat_connection(url: str) -> str:
    """AIRFLOW_CONN_KENSHIN_ALERT_CHAT for a plain JSON webhook at `url`
    (Apprise's json:// is its http://)."""
    return json.dumps({"conn_type": "apprise",
                       "extra": {"config": {"path": url.replace("http://", "json://", 1)}}})


def mail_parts(mail: Mail) -> tuple[email.message.EmailMessage, str]:
    """The message's headers and its text (the SMTP provider sends HTML: the
    text inside <pre>, escaped)."""
    message = email.message_from_string(mail.text, policy=email.policy.default)
    # a quoted-printable body (another library may set that for utf-8) arrives with the mail's CRLF line ends
    body = message.get_body(("html",)).get_content().replace("\r\n", "\n")
    return message, html.unescape(body.strip().removeprefix("<pre>").removesuffix("</pre>"))
