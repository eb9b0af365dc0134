"""A real Airflow as the city runs it, for the tests that operate it as a user
would: its processes started from this checkout's virtual environment, its
metadata in a database of its own, driven over the REST API.

- `http`, `free_port`, `stop`: the small pieces the browser and scale-out
  tests share.
- `Cluster`: api-server, scheduler, dag-processor, triggerer and N Celery
  workers (CeleryExecutor, Redis broker), each a process of its own session
  (so each can be killed by its id, as the scale-out test kills a worker).

Only synthetic data goes through it; the processes' logs stay in the test's
temporary folder.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http(url: str, data: bytes | None = None, headers: dict | None = None, timeout: float = 10,
         method: str | None = None) -> tuple[int, str]:
    request = urllib.request.Request(url, data=data, headers=headers or {}, method=method)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as reply:
            return reply.status, reply.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode("utf-8", "replace")


def stop(proc: subprocess.Popen, grace: float = 30) -> None:
    """SIGTERM the process group, then SIGKILL what is left."""
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)
    except ProcessLookupError:
        pass


def _parent(pid: int) -> int:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0
    return int(stat.rsplit(")", 1)[1].split()[1])


def _all_pids() -> list[int]:
    return [int(p.name) for p in Path("/proc").iterdir() if p.name.isdigit()]


def redis_url(work: Path) -> tuple[str, subprocess.Popen | None]:
    """The machine's Redis on 127.0.0.1:6379 when it answers, else a
    `redis-server` of our own on a free port (no persistence)."""
    with socket.socket() as s:
        s.settimeout(1)
        if s.connect_ex(("127.0.0.1", 6379)) == 0:
            # a database number of its own, so parallel runs do not share queues
            return f"redis://127.0.0.1:6379/{os.getpid() % 15 + 1}", None
    binary = shutil.which("redis-server")
    if binary is None:
        raise RuntimeError("no Redis on 127.0.0.1:6379 and no redis-server to start (Debian package redis-server)")
    port = free_port()
    proc = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                             "--dir", str(work)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    deadline = time.monotonic() + 20
    while True:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return f"redis://127.0.0.1:{port}/0", proc
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError("redis-server did not start")
        time.sleep(0.2)


@dataclass
class Cluster:
    """Airflow's components as separate processes on loopback, CeleryExecutor."""

    work: Path                   # logs, the Airflow home
    metadata_url: str            # SQLAlchemy URL of a metadata database of its own
    broker_url: str              # Redis
    result_backend: str          # db+postgresql://... (Celery's task states)
    env_extra: dict = field(default_factory=dict)
    workers: int = 2
    user: str = "ops-admin"
    password: str = "synthetic-test-password"
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.home = self.work / "airflow-home"
        self.home.mkdir(parents=True, exist_ok=True)
        (self.home / "passwords.json").write_text(json.dumps({self.user: self.password}))
        secret = base64.urlsafe_b64encode(os.urandom(32)).decode()
        self.env = {
            **os.environ,
            "AIRFLOW_HOME": str(self.home),
            "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": self.metadata_url,
            "AIRFLOW__CELERY__BROKER_URL": self.broker_url,
            "AIRFLOW__CELERY__RESULT_BACKEND": self.result_backend,
            # one task at a time per worker: a killed worker takes exactly its task with it
            "AIRFLOW__CELERY__WORKER_CONCURRENCY": "1",
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.base}/execution/",
            # the same in every component, as docker-compose.yml sets them from .env
            "AIRFLOW__CORE__FERNET_KEY": secret,
            "AIRFLOW__API_AUTH__JWT_SECRET": secret,
            "AIRFLOW__API__SECRET_KEY": secret,
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__API__PORT": str(self.port),
            "AIRFLOW__API__BASE_URL": self.base,
            "AIRFLOW__API__WORKERS": "1",
            "AIRFLOW__CORE__AUTH_MANAGER":
                "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{self.user}:admin",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(self.home / "passwords.json"),
            "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(ROOT / "plugins"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
            "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(self.home / "logs"),
            "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(free_port()),
            # the scheduler looks for work often, as a test that waits for it wants
            "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "2",
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "30",
            "PYTHONPATH": os.pathsep.join([str(ROOT / "plugins"), os.environ.get("PYTHONPATH", "")]),
            "PATH": os.pathsep.join([str(BIN), os.environ["PATH"]]),
            **self.env_extra,
        }
        self.token: str | None = None

    # --- processes ---------------------------------------------------------

    def _start(self, name: str, *args: str, env: dict | None = None) -> subprocess.Popen:
        log = open(self.work / f"{name}.log", "wb")
        proc = subprocess.Popen([str(BIN / "airflow"), *args], env={**self.env, **(env or {})},
                                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        self.processes[name] = proc
        return proc

    def log(self, name: str, tail: int = 4000) -> str:
        return (self.work / f"{name}.log").read_text(errors="replace")[-tail:]

    def start(self, timeout: float = 240) -> None:
        subprocess.run([str(BIN / "airflow"), "db", "migrate"], env=self.env, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self._start("api-server", "api-server", "--port", str(self.port))
        self._start("scheduler", "scheduler")
        self._start("dag-processor", "dag-processor")
        self._start("triggerer", "triggerer")
        for i in range(1, self.workers + 1):
            self.start_worker(f"worker{i}")
        deadline = time.monotonic() + timeout
        while True:
            for name, proc in self.processes.items():
                assert proc.poll() is None, f"{name} ended:\n{self.log(name)}"
            try:
                if http(self.base + "/api/v2/monitor/health", timeout=2)[0] == 200:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, f"the api-server was not healthy in {timeout} s"
            time.sleep(1)
        status, body = http(self.base + "/auth/token",
                            json.dumps({"username": self.user, "password": self.password}).encode(),
                            {"Content-Type": "application/json"})
        assert status == 201, body
        self.token = json.loads(body)["access_token"]

    def start_worker(self, name: str) -> subprocess.Popen:
        return self._start(name, "celery", "worker", "--celery-hostname", f"{name}@%h",
                           env={"AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port())})

    def owner_of(self, pid: int) -> str | None:
        """The component that `pid` descends from (task processes start their
        own sessions, so the process group does not tell)."""
        roots = {proc.pid: name for name, proc in self.processes.items()}
        while pid > 1:
            if pid in roots:
                return roots[pid]
            pid = _parent(pid)
        return None

    def kill(self, name: str) -> None:
        """kill -9 the component and every process descending from it, task
        processes in sessions of their own included: a machine that dies."""
        proc = self.processes[name]
        doomed = [pid for pid in _all_pids() if self.owner_of(pid) == name]
        os.killpg(proc.pid, signal.SIGKILL)
        for pid in doomed:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        proc.wait(10)

    def close(self) -> None:
        for proc in reversed(list(self.processes.values())):
            stop(proc, grace=20)

    # --- the REST API, as the UI uses it --------------------------------

    def api(self, method: str, path: str, body: dict | None = None) -> dict:
        status, text = http(self.base + "/api/v2" + path, None if body is None else json.dumps(body).encode(),
                            {"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"},
                            timeout=30, method=method)
        assert 200 <= status < 300, f"{method} {path}: {status} {text[:500]}"
        return json.loads(text) if text else {}

    def wait_for_dags(self, dag_ids: list[str], timeout: float = 240) -> None:
        """Until the dag-processor has serialized every one of them."""
        deadline = time.monotonic() + timeout
        while True:
            known = {d["dag_id"] for d in self.api("GET", "/dags?limit=100")["dags"]}
            if set(dag_ids) <= known:
                return
            assert time.monotonic() < deadline, f"DAGs not parsed: {set(dag_ids) - known}\n{self.log('dag-processor')}"
            time.sleep(2)

    def unpause(self, dag_id: str) -> None:
        self.api("PATCH", f"/dags/{dag_id}", {"is_paused": False})

    def trigger(self, dag_id: str, conf: dict | None = None) -> str:
        """A run as the Trigger button makes it: no logical date."""
        run = self.api("POST", f"/dags/{dag_id}/dagRuns", {"logical_date": None, "conf": conf or {}})
        assert run["logical_date"] is None
        return run["dag_run_id"]

    def runs(self, dag_id: str) -> list[dict]:
        return self.api("GET", f"/dags/{dag_id}/dagRuns?limit=100&order_by=run_after")["dag_runs"]

    def wait_for_run(self, dag_id: str, run_id: str, timeout: float = 600) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            run = self.api("GET", f"/dags/{dag_id}/dagRuns/{run_id}")
            if run["state"] in ("success", "failed"):
                return run
            assert time.monotonic() < deadline, f"{dag_id} {run_id} still {run['state']} after {timeout} s"
            time.sleep(2)

    def task_instances(self, dag_id: str, run_id: str) -> list[dict]:
        return self.api("GET", f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances?limit=1000")["task_instances"]
