"""The "Screening operations" page in a real Airflow: `airflow standalone` on
loopback, a signed-in user, headless Chromium driven over the DevTools protocol.

A month of real CP932 files goes through the real loader into the test
database; the page must show this month's files and counts, refuse a request
without a sign-in, and a screenshot is kept in .local/test/artifacts/."""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from airflow_cluster import free_port as _free_port
from airflow_cluster import http as _http
from airflow_cluster import stop as _stop
from builders import operations_month
from kenshin_airflow.connection import development_connections

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / ".local" / "test" / "artifacts"
USER, PASSWORD = "ops-viewer", "synthetic-test-password"


@pytest.fixture
def airflow_metadata(server_url):
    """A metadata database of the server's own for the standalone Airflow (its
    scheduler and DAG processor must not touch the one the DAG tests share)."""
    import psycopg

    from kenshin.platform import db

    name = f"airflow_browser_{os.getpid()}"
    admin = db.with_database(server_url, "postgres")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'drop database if exists "{name}" with (force)')
        conn.execute(f'create database "{name}"')
    yield db.sqlalchemy_url(db.with_database(server_url, name))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'drop database if exists "{name}" with (force)')


@pytest.fixture
def airflow_server(db_url, airflow_metadata, tmp_path):
    """`airflow standalone` on loopback with one SimpleAuthManager user (viewer)."""
    port = _free_port()
    home = tmp_path / "airflow-home"
    home.mkdir()
    (home / "passwords.json").write_text(json.dumps({USER: PASSWORD}))
    empty_dags = tmp_path / "no-dags"  # the page needs no DAG parsed; spares the CPU
    empty_dags.mkdir()
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": airflow_metadata,  # standalone migrates it
        "AIRFLOW__CORE__PARALLELISM": "4",
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API__PORT": str(port),
        "AIRFLOW__API__BASE_URL": f"http://127.0.0.1:{port}",
        "AIRFLOW__API__WORKERS": "1",
        "AIRFLOW__CORE__DAGS_FOLDER": str(empty_dags),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(ROOT / "plugins"),
        "AIRFLOW__CORE__AUTH_MANAGER":
            "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{USER}:viewer",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(home / "passwords.json"),
        **development_connections(db_url),
        "PYTHONPATH": os.pathsep.join([str(ROOT / "plugins"), os.environ.get("PYTHONPATH", "")]),
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]]),
    }
    log = open(tmp_path / "standalone.log", "wb")
    proc = subprocess.Popen([str(Path(sys.executable).parent / "airflow"), "standalone"], env=env,
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            assert proc.poll() is None, (tmp_path / "standalone.log").read_text(errors="replace")[-3000:]
            try:
                if _http(base + "/api/v2/monitor/health", timeout=2)[0] == 200:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, "airflow standalone did not become healthy in 180 s"
            time.sleep(1)
        yield base
    finally:
        _stop(proc)
        log.close()


class Chromium:
    """Headless Chromium driven over the DevTools protocol (websockets)."""

    FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
             "--window-size=1400,1000", "--remote-debugging-port=0", "--remote-allow-origins=*"]

    def __init__(self, profile: Path):
        binary = shutil.which("chromium") or shutil.which("chromium-browser")
        assert binary, "Chromium is missing: make test installs the Debian package chromium"
        self.proc = subprocess.Popen([binary, *self.FLAGS, f"--user-data-dir={profile}", "about:blank"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        port_file = profile / "DevToolsActivePort"
        deadline = time.monotonic() + 30
        while not (port_file.exists() and port_file.read_text().strip()):
            assert time.monotonic() < deadline, "Chromium did not open its DevTools port"
            time.sleep(0.2)
        port = int(port_file.read_text().split()[0])
        pages = json.loads(_http(f"http://127.0.0.1:{port}/json/list")[1])
        target = next(p for p in pages if p["type"] == "page")
        from websockets.sync.client import connect

        self.ws = connect(target["webSocketDebuggerUrl"], max_size=64 * 2**20)
        self.next_id = 0

    def call(self, method: str, **params) -> dict:
        self.next_id += 1
        self.ws.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.ws.recv(timeout=60))
            if message.get("id") == self.next_id:
                assert "error" not in message, message
                return message.get("result", {})

    def open(self, url: str, settle: float = 0.5) -> None:
        self.call("Page.navigate", url=url)
        deadline = time.monotonic() + 30
        while self.call("Runtime.evaluate", expression="document.readyState",
                        returnByValue=True)["result"]["value"] != "complete":
            assert time.monotonic() < deadline
            time.sleep(0.2)
        time.sleep(settle)

    def text(self, expression: str = "document.body.innerText") -> str:
        return self.call("Runtime.evaluate", expression=expression, returnByValue=True)["result"].get("value")

    def screenshot(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(self.call("Page.captureScreenshot", format="png",
                                                    captureBeyondViewport=True)["data"]))

    def close(self) -> None:
        try:
            self.ws.close()
        finally:
            _stop(self.proc, grace=10)


def test_the_operations_page_shows_this_months_files_to_a_signed_in_user(db_url, tmp_path, monkeypatch,
                                                                        airflow_server):
    from kenshin.ingest.sources.clinic import KenshinSource

    # The month: a registry snapshot and the same bytes again, a clinic file with
    # records in review and returned, a truncated one, one that fails the GX gate.
    monkeypatch.setattr(KenshinSource, "stage_rejects", lambda self, conn, load_id: None)
    statuses = operations_month(db_url, tmp_path)
    base = airflow_server
    page = base + "/kenshin-ops/"

    # No sign-in, no page.
    status, body = _http(page)
    assert status == 401 and "kenshin" not in body
    assert _http(page, headers={"Authorization": "Bearer not-a-token"})[0] in (401, 403)

    # Sign in: the api-server's token endpoint (SimpleAuthManager user from the config).
    status, body = _http(base + "/auth/token", json.dumps({"username": USER, "password": PASSWORD}).encode(),
                         {"Content-Type": "application/json"})
    assert status == 201, body
    token = json.loads(body)["access_token"]
    assert _http(page, headers={"Authorization": f"Bearer {token}"})[0] == 200

    browser = Chromium(tmp_path / "chromium-profile")
    try:
        # The UI's own session cookie, as the sign-in form sets it.
        assert browser.call("Network.enable") == {}
        assert browser.call("Network.setCookie", name="_token", value=token, url=base, path="/",
                            httpOnly=True)["success"]
        browser.open(page)
        text = browser.text()
        browser.screenshot(ARTIFACTS / "operations_page.png")
        # and inside the Airflow UI (the external view's iframe)
        browser.open(base + "/plugin/screening-operations", settle=4)
        browser.screenshot(ARTIFACTS / "operations_page_in_airflow_ui.png")
        framed = browser.text("[...document.querySelectorAll('iframe')].map(f => f.src).join(' ')")
    finally:
        browser.close()

    assert "Screening operations" in text
    for name in statuses:
        assert name in text, name
    total = int(text.split("files received\n", 1)[1].split("\n", 1)[0])
    assert total == len(statuses) == 5
    assert "expect_column_values_to_be_unique on clinic_line_no (2 rows)" in text
    assert "no trailer (T)" in text  # the truncated file's reason: line and field, no value
    assert "no purge yet" in text and "No network query yet." in text
    assert (ARTIFACTS / "operations_page.png").stat().st_size > 10_000
    assert "/kenshin-ops/" in framed
