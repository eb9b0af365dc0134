-- First start of the postgres service (docker-compose.yml): the two databases
-- and Airflow's login role. The official postgres image runs this file with psql
-- as POSTGRES_USER, once, when the data directory is empty; later edits here do
-- not touch an existing volume.
--
-- Nothing secret is in this file: the password is read from the container's
-- environment (AIRFLOW_DB_PASSWORD, from .env) with \getenv (psql 15+).

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
