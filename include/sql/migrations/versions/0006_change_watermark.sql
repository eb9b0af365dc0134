-- Every row a transaction writes carries updated_at = now() = that
-- transaction's start. A build of the incremental marts that records the start
-- of the oldest transaction still open when it began (or its own start) sees,
-- on its next run, every row committed after it with updated_at at or after
-- that mark: no fixed time margin, no load missed because it committed during
-- a build. Reading other sessions' start times needs pg_read_all_stats; the
-- function holds it so that its callers see one timestamp, not others' queries.
GRANT pg_read_all_stats TO kenshin_owner;

SET ROLE kenshin_owner;

CREATE FUNCTION ops.change_watermark() RETURNS timestamptz
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog
AS $$
    SELECT least(now(), min(xact_start))
      FROM pg_stat_activity
     WHERE datname = current_database() AND backend_type = 'client backend'
$$;
COMMENT ON FUNCTION ops.change_watermark() IS
'Start of the oldest transaction open in this database, or now(): '
'rows committed later carry an updated_at at or after it.';
REVOKE EXECUTE ON FUNCTION ops.change_watermark() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION ops.change_watermark() TO kenshin_loader;

RESET ROLE;
