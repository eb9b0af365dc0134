# One image for every Airflow service in docker-compose.yml (api-server,
# scheduler, dag-processor, triggerer, Celery workers, the one-shot init) and for
# running the `kenshin` command line by hand:
#
#   docker compose run --rm airflow-worker kenshin --help
#
# Dependencies come only from uv.lock (the project's own constraint file: Airflow's
# published constraints are not reachable, see STACK.md).
FROM python:3.11-slim-bookworm

# uv is pinned to the version the lock file was written with.
ARG UV_VERSION=0.13.9

ENV PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    UV_PROJECT_ENVIRONMENT=/opt/venv \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PYTHON=/usr/local/bin/python3.11 \
    PATH=/opt/venv/bin:$PATH

# postgresql-client: psql/pg_dump for operators and `kenshin` (Debian 12 ships 15,
# the server's major version). fonts-ipaexfont: Japanese font for the PDF letters.
RUN apt-get update \
    && apt-get install -y --no-install-recommends postgresql-client fonts-ipaexfont \
    && rm -rf /var/lib/apt/lists/*

# uid 50000 is the uid of the official Airflow image, so volumes and Helm charts
# made for that image keep working.
RUN groupadd --gid 50000 airflow \
    && useradd --uid 50000 --gid airflow --create-home --home-dir /home/airflow \
        --shell /bin/bash airflow

RUN pip install "uv==${UV_VERSION}"

WORKDIR /app

# Dependencies first, from the lock only, so this (slow, ~840 MB) layer is reused
# until pyproject.toml or uv.lock change. Bytecode is compiled once here instead
# of on every process start.
COPY pyproject.toml uv.lock ./
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-group lab --extra fab --no-install-project --compile-bytecode

# Then the project. `uv sync` installs `kenshin` in editable mode on purpose:
# the package finds include/config and include/sql relative to its source
# (kenshin.platform.paths.PROJECT_ROOT), which a built wheel would not contain.
COPY include ./include
COPY dags ./dags
COPY plugins ./plugins
COPY dbt_project ./dbt_project
COPY expectations ./expectations
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-group lab --extra fab --compile-bytecode \
    && python -m compileall -q include dags plugins
# The Cosmos manifest is built here (`dbt parse`, no database needed), so DAG
# parsing never runs `dbt ls` (ARCHITECTURE.md, STACK.md).
RUN kenshin marts parse

# /app stays owned by root: the running code cannot change itself. What the
# airflow user writes: AIRFLOW_HOME (logs) and /data (the kenshin-data volume;
# a new named volume takes this ownership and these folders from the image).
# KENSHIN_HOME is deliberately left unset: its default (/app/.local) is not
# writable here, so a container started without KENSHIN_MY_NUMBER_KEY /
# KENSHIN_HMAC_KEY fails instead of generating a throwaway development key.
RUN mkdir -p /opt/airflow/logs /data/inbox /data/outbox /data/notices /data/reports \
    && chown -R airflow:airflow /opt/airflow /data

ENV AIRFLOW_HOME=/opt/airflow \
    AIRFLOW__CORE__DAGS_FOLDER=/app/dags \
    AIRFLOW__CORE__PLUGINS_FOLDER=/app/plugins \
    KENSHIN_DATA_DIR=/data

USER airflow

# docker-compose.yml gives each service its own command.
CMD ["airflow", "version"]
