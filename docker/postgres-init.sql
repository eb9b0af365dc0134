-- First start of the postgres service (docker-compose.yml): the two databases
-- and the two logins of the platform. The official postgres image runs this
-- file with psql as POSTGRES_USER, once, when the data directory is empty;
-- later edits here do not touch an existing volume.
--
-- Nothing secret is in this file: the passwords are read from the container's
-- environment (AIRFLOW_DB_PASSWORD and KENSHIN_DBT_DB_PASSWORD, from .env) with
-- \getenv (psql 15+). The superuser's own password (POSTGRES_PASSWORD) stays in
-- this service: the one-shot airflow-init runs the warehouse migrations as the
-- superuser over this server's Unix socket (local trust in the official image),
-- which only that service mounts.
--
-- tests/integration/test_compose_logins.py applies this file and the
-- migrations as the services do, then loads, builds and reports as these logins.

\set ON_ERROR_STOP on

\getenv airflow_db_password AIRFLOW_DB_PASSWORD
\if :{?airflow_db_password}
    SELECT :'airflow_db_password' = '' AS airflow_db_password_empty \gset
\else
    \set airflow_db_password_empty true
\endif
\if :airflow_db_password_empty
    -- Stops here (ON_ERROR_STOP), and the container's first start fails.
    DO $$ BEGIN RAISE EXCEPTION 'AIRFLOW_DB_PASSWORD is not set in the postgres service environment'; END $$;
\endif

\getenv dbt_db_password KENSHIN_DBT_DB_PASSWORD
\if :{?dbt_db_password}
    SELECT :'dbt_db_password' = '' AS dbt_db_password_empty \gset
\else
    \set dbt_db_password_empty true
\endif
\if :dbt_db_password_empty
    DO $$ BEGIN RAISE EXCEPTION 'KENSHIN_DBT_DB_PASSWORD is not set in the postgres service environment'; END $$;
\endif

-- The login every Airflow component uses, for both databases.
CREATE ROLE airflow LOGIN PASSWORD :'airflow_db_password';
\unset airflow_db_password

-- Airflow's metadata database (and the Celery result backend).
CREATE DATABASE airflow OWNER airflow;
REVOKE ALL ON DATABASE airflow FROM PUBLIC;

-- The warehouse. Owned by the superuser: `kenshin db migrate` (the airflow-init
-- service) runs as the superuser, creates the group roles kenshin_owner,
-- kenshin_loader, ... and gives the schemas to kenshin_owner.
CREATE DATABASE kenshin;

-- Airflow works in the warehouse as kenshin_loader (kenshin.platform.db.connect() does
-- SET ROLE kenshin_loader), so its login must be a member. The role is made here
-- the same way migration 0001 makes it (NOLOGIN; 0001 creates it only when
-- missing) and gets its rights (CONNECT, schema grants) from the migrations.
CREATE ROLE kenshin_loader NOLOGIN;
GRANT kenshin_loader TO airflow;
-- It reads the published statistics as kenshin_stats (annual report, charts) and
-- the operations page reads ops as kenshin_auditor (never core): members too.
CREATE ROLE kenshin_stats NOLOGIN;
GRANT kenshin_stats TO airflow;
CREATE ROLE kenshin_auditor NOLOGIN;
GRANT kenshin_auditor TO airflow;
-- The retention purge runs as kenshin_purger. kenshin_scheduler marks Airflow's
-- login as the one whose word about an Airflow user (who approved a purge in
-- the UI) the database takes (migration 0020); no staff login is a member.
CREATE ROLE kenshin_purger NOLOGIN;
GRANT kenshin_purger TO airflow;
CREATE ROLE kenshin_scheduler NOLOGIN;
GRANT kenshin_scheduler TO airflow;
-- The ministry report's exact cells are read as kenshin_reporter, granted to
-- named logins only (migration 0028): the annual_report DAG's login is one.
CREATE ROLE kenshin_reporter NOLOGIN;
GRANT kenshin_reporter TO airflow;

-- dbt's login (Airflow connection `kenshin_dbt`): it builds marts, stats and
-- report as a member of kenshin_owner, the owner of the schemas the
-- migrations create; it creates its own schemas (marts_staging, stats_build,
-- report), hence CREATE, and dbt stages in temporary tables. Nothing else
-- connects with it; it is not a member of the working roles.
CREATE ROLE kenshin_owner NOLOGIN;
CREATE ROLE kenshin_dbt LOGIN PASSWORD :'dbt_db_password' IN ROLE kenshin_owner;
\unset dbt_db_password
GRANT CONNECT, CREATE, TEMPORARY ON DATABASE kenshin TO kenshin_dbt;
