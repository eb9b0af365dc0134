"""The deployment files agree with each other and with the code (no Docker needed).

Checks docker-compose.yml, the Dockerfile, .dockerignore, .env.example and
docker/postgres-init.sql as text: the services of the scaled-out shape
(ARCHITECTURE.md, "Runtime pieces"), one image for all of Airflow, healthchecks,
secrets only from .env, and every environment variable the code reads reaching
the Airflow containers.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
ENV_EXAMPLE = ROOT / ".env.example"
POSTGRES_INIT = ROOT / "docker" / "postgres-init.sql"

ONE_SHOT = "airflow-init"
AIRFLOW_SERVICES = {
    "airflow-apiserver",
    "airflow-scheduler",
    "airflow-dag-processor",
    "airflow-triggerer",
    "airflow-worker",
}
SERVICES = {"postgres", "redis", ONE_SHOT, *AIRFLOW_SERVICES}

# What each service's healthcheck must run (a substring of its command).
HEALTHCHECKS = {
    "postgres": "pg_isready",
    "redis": "redis-cli ping",
    "airflow-apiserver": "/api/v2/monitor/health",
    "airflow-scheduler": "http://localhost:8974/health",
    "airflow-dag-processor": "/api/v2/monitor/health', timeout=10)); sys.exit((h.get('dag_processor')",
    "airflow-triggerer": "/api/v2/monitor/health', timeout=10)); sys.exit(h['triggerer']",
    "airflow-worker": "airflow.providers.celery.executors.celery_executor.app inspect ping",
}

# Settings every Airflow container needs whatever the code does.
AIRFLOW_SETTINGS = {
    "AIRFLOW__CORE__EXECUTOR",
    "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN",
    "AIRFLOW__CELERY__BROKER_URL",
    "AIRFLOW__CELERY__RESULT_BACKEND",
    "AIRFLOW__CORE__LOAD_EXAMPLES",
    "AIRFLOW__CORE__DEFAULT_TIMEZONE",
    "AIRFLOW__COSMOS__ENABLE_TELEMETRY",
    "AIRFLOW__CORE__PARALLELISM",
    "AIRFLOW__CORE__EXECUTION_API_SERVER_URL",
    "AIRFLOW__CORE__FERNET_KEY",
    "AIRFLOW__API_AUTH__JWT_SECRET",
    "AIRFLOW__API__SECRET_KEY",
}

# Variables the application is known to read. The source scan below finds new
# ones; this list keeps the check meaningful while the code is still being written.
APP_ENV = {
    "KENSHIN_DATABASE_URL",
    "KENSHIN_MY_NUMBER_KEY",
    "KENSHIN_HMAC_KEY",
    "KENSHIN_DATA_DIR",
    "KENSHIN_HOME",
    "AIRFLOW_CONN_KENSHIN",
    "AIRFLOW_CONN_KENSHIN_DBT",
    # the alert channels' connections (kenshin_airflow.notify SMTP_CONN_ID, CHAT_CONN_ID)
    "AIRFLOW_CONN_KENSHIN_ALERT_SMTP",
    "AIRFLOW_CONN_KENSHIN_ALERT_CHAT",
}

# Read by the code but deliberately NOT given to the containers: each has a
# documented default that only matters in development.
DEV_ONLY_ENV = {
    # Forces progress bars or plain lines (kenshin.platform.progress); containers' logs
    # are never a terminal, so they always get plain lines.
    "KENSHIN_PROGRESS",
    # The local work folder (embedded PostgreSQL cluster, development keys);
    # containers use a real server and keys from .env (kenshin.platform.db.work_dir).
    "KENSHIN_HOME",
    # Where the embedded cluster of a checkout the postgres user cannot enter
    # lives (kenshin.platform.db.cluster_dir); containers use a real server.
    "KENSHIN_PG_ROOT",
    # Size of the `make demo` city; the demo runs on a developer's machine only.
    "KENSHIN_DEMO_RESIDENTS",
    # Another folder of policy files than the ones the image carries
    # (include/config); unset, the image's policy applies.
    "KENSHIN_CONFIG_DIR",
    # Who runs a CLI command by hand (a purge's requester or approver); the DAGs
    # take the Airflow user instead.
    "KENSHIN_USER",
    # The demo's database names and log level (the log-scan test runs it on databases of its own).
    "KENSHIN_DEMO_DB", "KENSHIN_DEMO_AIRFLOW_DB", "KENSHIN_DEMO_LOG_LEVEL",
    # The new key of a rotation (kenshin keys rotate), set by hand only for that command.
    "KENSHIN_MY_NUMBER_KEY_NEW",
}

# Variables kenshin sets itself for a child tool rather than reads: dbt's
# profiles.yml takes its connection from these, derived by kenshin.reporting.marts.dbt_env
# from the warehouse URL already provided (in Airflow, Cosmos builds dbt's profile
# from the `kenshin` connection instead).
DERIVED_ENV = {
    "KENSHIN_DBT_HOST", "KENSHIN_DBT_PORT", "KENSHIN_DBT_USER", "KENSHIN_DBT_PASSWORD", "KENSHIN_DBT_DBNAME",
}

# Names of variables that hold secrets: passwords, keys, tokens.
SECRET_NAME = re.compile(r"PASSWORD|SECRET|TOKEN|FERNET|(^|_)KEY$")

# Compose interpolation: `$$` is a literal dollar; `${VAR}`, `${VAR:?msg}`,
# `${VAR:-default}` ... and bare `$VAR` read the variable.
INTERPOLATION = re.compile(
    r"\$\$|\$\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)(?P<modifier>[^}]*)\}|\$(?P<bare>[A-Za-z_][A-Za-z0-9_]*)"
)
# The whole value is one interpolation of a variable that must be set.
REQUIRED_INTERPOLATION = re.compile(r"^\$\{[A-Za-z_][A-Za-z0-9_]*:?\?[^}]*\}$")


# --------------------------------------------------------------- helpers ---


@pytest.fixture(scope="module")
def compose() -> dict:
    # safe_load resolves the anchors and `<<` merge keys of x-airflow-common.
    return yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def services(compose) -> dict:
    return compose["services"]


def environment(service: dict) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):  # the `- KEY=value` form
        env = dict(item.split("=", 1) if "=" in item else (item, None) for item in env)
    return {k: ("" if v is None else str(v)) for k, v in env.items()}


def command_text(value) -> str:
    return " ".join(value) if isinstance(value, list) else str(value or "")


def healthcheck_text(service: dict) -> str:
    test = (service.get("healthcheck") or {}).get("test")
    if isinstance(test, list) and test and test[0] in ("CMD", "CMD-SHELL"):
        test = test[1:]
    return command_text(test)


def strings(node):
    """Every string (keys and values) in a loaded YAML document."""
    if isinstance(node, dict):
        for k, v in node.items():
            yield from strings(k)
            yield from strings(v)
    elif isinstance(node, list):
        for v in node:
            yield from strings(v)
    elif isinstance(node, str):
        yield node


def interpolations(text: str):
    """(variable, modifier) for every interpolation in `text`."""
    for m in INTERPOLATION.finditer(text):
        if m.group("braced"):
            yield m.group("braced"), m.group("modifier")
        elif m.group("bare"):
            yield m.group("bare"), ""


def env_example() -> dict[str, str]:
    values = {}
    for line in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.removeprefix("export ").partition("=")
        assert sep, f".env.example: not KEY=value: {line!r}"
        values[key.strip()] = value.strip()
    return values


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined, comments dropped."""
    instructions, current = [], ""
    for raw in DOCKERFILE.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if line.startswith("#"):  # also dropped inside a continuation
            continue
        if line.endswith("\\"):
            current += line[:-1] + " "
            continue
        current += line
        if current.strip():
            word, _, args = current.strip().partition(" ")
            instructions.append((word.upper(), " ".join(args.split())))
        current = ""
    return instructions


# -------------------------------------------------------------- services ---


def test_services_of_the_scaled_out_shape_exist(services):
    assert SERVICES <= set(services), f"missing: {sorted(SERVICES - set(services))}"


def test_all_airflow_services_share_one_image_and_build(services):
    built = {name: services[name] for name in AIRFLOW_SERVICES | {ONE_SHOT}}
    images = {s.get("image") for s in built.values()}
    assert len(images) == 1 and None not in images, images
    contexts = set()
    for name, service in built.items():
        build = service.get("build")
        assert build, f"{name} has no build section"
        context = build if isinstance(build, str) else build.get("context", ".")
        dockerfile = (
            "Dockerfile" if isinstance(build, str) else build.get("dockerfile", "Dockerfile")
        )
        contexts.add(((ROOT / context).resolve(), dockerfile))
    assert contexts == {(ROOT, "Dockerfile")}
    for name in ("postgres", "redis"):
        assert services[name].get("image") not in images, f"{name} must not run the Airflow image"


def test_every_service_has_a_healthcheck_except_the_one_shot_init(services):
    for name, service in services.items():
        if name == ONE_SHOT:
            # A string: a bare `no` in YAML would be the boolean false.
            assert service.get("restart") == "no", "airflow-init must be a one-shot"
            continue
        healthcheck = service.get("healthcheck") or {}
        assert healthcheck.get("test") and not healthcheck.get("disable"), (
            f"{name} has no healthcheck"
        )


@pytest.mark.parametrize("name", sorted(HEALTHCHECKS))
def test_healthcheck_runs_the_right_probe(services, name):
    assert HEALTHCHECKS[name] in healthcheck_text(services[name])


def test_workers_run_celery_and_can_be_replicated(services):
    worker = services["airflow-worker"]
    assert "airflow celery worker" in command_text(worker.get("command"))
    assert "replicas" in (worker.get("deploy") or {})
    # Either would make a second replica fail to start.
    assert "container_name" not in worker
    assert not worker.get("ports")


def test_init_migrates_both_databases_once(services):
    init = services[ONE_SHOT]
    script = command_text(init.get("command"))
    assert "airflow db migrate" in script
    assert "kenshin db migrate" in script
    assert ONE_SHOT not in (init.get("depends_on") or {}), "airflow-init would wait for itself"


def test_airflow_services_wait_for_the_database_broker_and_init(services):
    for name in AIRFLOW_SERVICES:
        depends = services[name].get("depends_on") or {}
        assert depends.get("postgres", {}).get("condition") == "service_healthy", name
        assert depends.get("redis", {}).get("condition") == "service_healthy", name
        assert depends.get(ONE_SHOT, {}).get("condition") == "service_completed_successfully", name
    depends = services[ONE_SHOT].get("depends_on") or {}
    assert depends.get("postgres", {}).get("condition") == "service_healthy"


# ----------------------------------------------------------- environment ---


def test_airflow_services_get_the_common_environment(compose, services):
    common = environment(compose["x-airflow-common"])
    assert AIRFLOW_SETTINGS <= set(common), f"missing: {sorted(AIRFLOW_SETTINGS - set(common))}"
    assert common["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    assert common["AIRFLOW__CORE__DEFAULT_TIMEZONE"] == "Asia/Tokyo"
    assert common["AIRFLOW__CORE__LOAD_EXAMPLES"].lower() == "false"
    assert common["AIRFLOW__COSMOS__ENABLE_TELEMETRY"].lower() == "false"
    for name in AIRFLOW_SERVICES | {ONE_SHOT}:
        missing = set(common) - set(environment(services[name]))
        assert not missing, f"{name} lacks {sorted(missing)}"


def test_no_service_reads_the_whole_env_file(compose, services):
    """.env holds the superuser's password: a service gets only what it names."""
    assert "env_file" not in compose["x-airflow-common"]
    for name, service in services.items():
        assert not service.get("env_file"), f"{name} reads every variable of .env"


def test_the_superuser_password_stays_in_the_postgres_service(services):
    holders = {name for name, service in services.items()
               for text in strings(service) for var, _ in interpolations(text) if var == "POSTGRES_PASSWORD"}
    assert holders == {"postgres"}, sorted(holders)
    # the migrations reach the server over its socket, a volume of those two services only
    init_url = environment(services[ONE_SHOT])["KENSHIN_DATABASE_URL"]
    assert re.fullmatch(r"postgresql://\$\{POSTGRES_USER:\?[^}]*\}@/kenshin\?host=/var/run/postgresql", init_url), init_url
    socket_mounts = {name for name, service in services.items()
                     for volume in service.get("volumes", []) if str(volume).endswith(":/var/run/postgresql")}
    assert socket_mounts == {"postgres", ONE_SHOT}


def test_airflow_works_in_the_warehouse_through_two_logins(compose):
    """Loads and reports as `airflow`, dbt as `kenshin_dbt` (docker/postgres-init.sql)."""
    from kenshin_airflow.connection import CONN_ID, DBT_CONN_ID

    common = environment(compose["x-airflow-common"])
    # (not urlsplit: the `?` of ${VAR:?...} in the password would start a query)
    logins = {conn: re.match(r"\w+://([^:@/]+)", common[f"AIRFLOW_CONN_{conn.upper()}"]).group(1)
              for conn in (CONN_ID, DBT_CONN_ID)}
    assert logins == {CONN_ID: "airflow", DBT_CONN_ID: "kenshin_dbt"}
    sql = POSTGRES_INIT.read_text(encoding="utf-8")
    assert re.search(r"(?m)^CREATE ROLE kenshin_dbt LOGIN PASSWORD :'\w+' IN ROLE kenshin_owner;$", sql)
    assert re.search(r"(?m)^\\getenv \w+ KENSHIN_DBT_DB_PASSWORD$", sql)


def test_the_alert_channels_connections_reach_the_airflow_services(compose):
    """Optional (empty: that channel off), and under the ids kenshin_airflow.notify reads."""
    from kenshin_airflow.notify import CHAT_CONN_ID, SMTP_CONN_ID

    common = environment(compose["x-airflow-common"])
    for conn in (SMTP_CONN_ID, CHAT_CONN_ID):
        name = f"AIRFLOW_CONN_{conn.upper()}"
        assert common[name] == f"${{{name}:-}}", name
        assert env_example()[name] == "", name


def test_workers_reach_the_execution_api_of_the_api_server(compose, services):
    url = urlsplit(
        environment(compose["x-airflow-common"])["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"]
    )
    assert url.hostname == "airflow-apiserver" and url.path.rstrip("/") == "/execution"
    command = command_text(services["airflow-apiserver"].get("command"))
    assert f"--port {url.port}" in command, "the api-server listens on another port"


def test_data_folder_is_the_named_volume(compose, services):
    assert "kenshin-data" in (compose.get("volumes") or {})
    for name in AIRFLOW_SERVICES | {ONE_SHOT}:
        assert environment(services[name])["KENSHIN_DATA_DIR"] == "/data"
        mounts = [str(v) for v in services[name].get("volumes", [])]
        assert any(m.split(":")[:2] == ["kenshin-data", "/data"] for m in mounts), name


def app_env_reads() -> dict[str, set[str]]:
    """Environment variables the code reads, each with the files that read it.

    In Python under include/, dags/, plugins/: every string literal that is
    exactly a KENSHIN_* or AIRFLOW_CONN_* name. That covers
    `os.environ.get("X")`, `os.environ["X"]`, `os.getenv("X")` and a name passed
    through a helper (kenshin.platform.crypto reads its keys as `_load_key("X")`).
    Also every connection id the code names (`conn_id="kenshin"`, which in this
    deployment only an AIRFLOW_CONN_KENSHIN variable provides), and dbt's
    required `env_var('X')` (no default) under dbt_project/.
    """
    found: dict[str, set[str]] = {}
    literal = re.compile(r"""["']((?:KENSHIN|AIRFLOW_CONN)_[A-Z0-9_]+)["']""")
    conn_id = re.compile(r"""\b\w*conn_id\s*=\s*["']([A-Za-z0-9_]+)["']""")
    dbt_env = re.compile(r"""env_var\(\s*["']((?:KENSHIN|AIRFLOW_CONN)_[A-Z0-9_]+)["']\s*\)""")
    skip = {".local", ".venv", "__pycache__", "target", "dbt_packages", "logs"}

    def files(folder: str, suffixes: tuple[str, ...]):
        for path in sorted((ROOT / folder).rglob("*")):
            if (
                path.suffix in suffixes
                and path.is_file()
                and not skip & set(path.relative_to(ROOT).parts)
            ):
                yield path, path.read_text(encoding="utf-8", errors="replace")

    for folder in ("include", "dags", "plugins"):
        for path, text in files(folder, (".py",)):
            names = set(literal.findall(text))
            names |= {"AIRFLOW_CONN_" + c.upper() for c in conn_id.findall(text)}
            for name in names:
                found.setdefault(name, set()).add(str(path.relative_to(ROOT)))
    for path, text in files("dbt_project", (".yml", ".yaml", ".sql")):
        for name in dbt_env.findall(text):
            found.setdefault(name, set()).add(str(path.relative_to(ROOT)))
    return found


def test_every_variable_the_app_reads_reaches_the_airflow_services(compose):
    common = set(environment(compose["x-airflow-common"]))
    reads = app_env_reads()
    needed = (set(reads) | APP_ENV) - DEV_ONLY_ENV - DERIVED_ENV
    missing = {
        name: sorted(reads.get(name, {"(APP_ENV in this test)"})) for name in needed - common
    }
    assert not missing, (
        f"read by the code but not in x-airflow-common's environment: {missing}; "
        "add them there (secrets as ${VAR:?set in .env} plus .env.example), or to "
        "DEV_ONLY_ENV with a reason"
    )


# --------------------------------------------------------------- secrets ---


def test_every_interpolated_variable_is_in_env_example(compose):
    defined = set(env_example())
    used = {name for text in strings(compose) for name, _ in interpolations(text)}
    assert used, "no ${VAR} found: has the compose file lost its .env interpolation?"
    assert not used - defined, f"not in .env.example: {sorted(used - defined)}"


def test_no_literal_secrets_in_the_compose_file(compose):
    problems = []
    for text in strings(compose):
        # A secret variable must be required, never given a default here.
        for name, modifier in interpolations(text):
            if SECRET_NAME.search(name) and not modifier.lstrip(":").startswith("?"):
                problems.append(f"${{{name}{modifier}}} must be ${{{name}:?...}}")
        # Passwords inside URLs (user:password@host).
        for password in re.findall(r"://[^/:@\s]+:([^@\s]*)@", text):
            if not REQUIRED_INTERPOLATION.match(password):
                problems.append(f"literal password in URL {text!r}")
    for scope in [compose["x-airflow-common"], *compose["services"].values()]:
        for key, value in environment(scope).items():
            if SECRET_NAME.search(key) and not REQUIRED_INTERPOLATION.match(value):
                problems.append(f"{key} is not ${{VAR:?...}} from .env")
    assert not problems, "\n".join(sorted(set(problems)))


def test_env_example_holds_no_secret_values():
    # Left empty so that compose refuses to start until someone generates them.
    filled = {k for k, v in env_example().items() if SECRET_NAME.search(k) and v}
    assert not filled, f"secrets with a value in .env.example: {sorted(filled)}"


def test_env_file_stays_out_of_git_and_images():
    gitignore = {line.strip() for line in (ROOT / ".gitignore").read_text().splitlines()}
    assert ".env" in gitignore
    dockerignore = {line.strip().rstrip("/") for line in DOCKERIGNORE.read_text().splitlines()}
    assert {".env", ".venv", ".local", ".git", "out"} <= dockerignore


def test_postgres_init_creates_the_databases_and_reads_its_password(services):
    mounts = [str(v) for v in services["postgres"].get("volumes", [])]
    assert any(
        m.startswith("./docker/postgres-init.sql:/docker-entrypoint-initdb.d/") for m in mounts
    )
    assert services["postgres"]["image"].split(":")[0] == "postgres"
    sql = POSTGRES_INIT.read_text(encoding="utf-8")
    assert re.search(r"(?im)^CREATE DATABASE airflow\b", sql)
    assert re.search(r"(?im)^CREATE DATABASE kenshin\b", sql)
    assert re.search(r"(?im)^CREATE ROLE airflow LOGIN PASSWORD :'\w+';", sql), (
        "password not from a psql variable"
    )
    assert re.search(r"(?m)^\\getenv \w+ AIRFLOW_DB_PASSWORD$", sql)
    assert "AIRFLOW_DB_PASSWORD" in environment(services["postgres"])
    assert "KENSHIN_DBT_DB_PASSWORD" in environment(services["postgres"])


def test_the_fab_auth_manager_installs_from_the_lock():
    """Production sign-in: the FAB provider is locked (extra `fab`) and the image installs it."""
    import tomllib

    lock = tomllib.loads((ROOT / "uv.lock").read_text(encoding="utf-8"))
    names = {package["name"] for package in lock["package"]}
    assert "apache-airflow-providers-fab" in names
    kenshin = next(package for package in lock["package"] if package["name"] == "kenshin")
    assert "apache-airflow-providers-fab" in {d["name"] for d in kenshin["optional-dependencies"]["fab"]}
    for args in (a for w, a in dockerfile_instructions() if w == "RUN" and "uv sync" in a):
        assert "--extra fab" in args, args


# ------------------------------------------------------------ Dockerfile ---


def test_dockerfile_installs_from_the_lock():
    instructions = dockerfile_instructions()
    assert instructions[0] == ("FROM", "python:3.11-slim-bookworm")
    runs = [args for word, args in instructions if word == "RUN"]
    syncs = [args for args in runs if "uv sync" in args]
    assert len(syncs) >= 2, "dependencies, then the project"
    for args in syncs:
        assert "--frozen" in args.split() or "--locked" in args.split(), args
        assert "--no-dev" in args.split(), args
    assert "--no-install-project" in syncs[0]
    # The lock reaches the image before the first sync.
    first_sync = next(i for i, (w, a) in enumerate(instructions) if w == "RUN" and "uv sync" in a)
    copies = [a for w, a in instructions[:first_sync] if w == "COPY"]
    assert any("uv.lock" in a.split() and "pyproject.toml" in a.split() for a in copies)
    # pip only bootstraps uv; nothing else bypasses the lock.
    for args in runs:
        for match in re.finditer(r"pip install ((?:[^&;|])*)", args):
            packages = [p for p in match.group(1).split() if not p.startswith("-")]
            assert all(re.match(r"""["']?uv([=<>~!].*)?["']?$""", p) for p in packages), args


def test_dockerfile_does_not_run_as_root():
    instructions = dockerfile_instructions()
    users = [(i, args) for i, (word, args) in enumerate(instructions) if word == "USER"]
    assert users, "no USER: the image would run as root"
    last_index, last_user = users[-1]
    assert last_user.split(":")[0] not in ("root", "0")
    # Nothing after USER that needs root, such as installing packages.
    assert not [
        a
        for w, a in instructions[last_index:]
        if w == "RUN" and re.search(r"apt-get|pip install|uv sync", a)
    ]
    text = DOCKERFILE.read_text(encoding="utf-8")
    assert re.search(r"useradd\b.*--uid 50000\b.*\bairflow\b", " ".join(text.split()))


def test_the_database_server_keeps_row_values_out_of_its_log(services):
    """The production server starts with the settings the embedded one has."""
    from kenshin.platform.db import SERVER_LOG_SETTINGS

    command = command_text(services["postgres"].get("command"))
    for key, value in SERVER_LOG_SETTINGS.items():
        assert f"-c {key}={value}" in command, key
