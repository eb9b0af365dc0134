"""Real receivers for the alert channels on loopback (kenshin.platform.alerts):
a chat webhook (HTTP) and a mail server (just enough of RFC 5321 for smtplib),
each on a free port of 127.0.0.1, collecting what they are sent."""

from __future__ import annotations

import contextlib
import json
import socketserver
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer


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


@contextlib.contextmanager
def smtp_server() -> Iterator[tuple[int, list[str]]]:
    """(port, each message as received: headers and body)."""
    mails: list[str] = []

    class Smtp(socketserver.StreamRequestHandler):
        def handle(self):
            self.wfile.write(b"220 test\r\n")
            while line := self.rfile.readline():
                verb = line[:4].upper()
                if verb == b"DATA":
                    self.wfile.write(b"354 go on\r\n")
                    body = b"".join(iter(lambda: self.rfile.readline(), b".\r\n"))
                    mails.append(body.decode("utf-8", "replace"))
                    self.wfile.write(b"250 queued\r\n")
                elif verb == b"QUIT":
                    self.wfile.write(b"221 bye\r\n")
                    return
                else:
                    self.wfile.write(b"250 ok\r\n")

    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Smtp)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server.server_address[1], mails
    finally:
        server.shutdown()
        server.server_close()
