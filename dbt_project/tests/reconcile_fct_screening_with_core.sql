-- fct_screening holds every screening of core, once, as of the build: the
-- build's change watermark W (the start of the oldest transaction open when
-- int_screening_enriched's build began, macro record_change_watermark) is the line. A
-- screening of core changed before W must be in the facts; a fact must be in
-- core unless deleted after W. A clinic load committing while marts_build
-- runs (the scheduler runs them side by side) is the next build's, not a
-- failed reconciliation. A fact twice (under another id) has no core row.
{{ config(severity='error') }}
with watermark as (
    select {{ build_change_watermark(ref('int_screening_enriched')) }} as w
)

select 'missing from the facts' as side, s.screening_id
from {{ source('core', 'screening') }} as s
where s.updated_at < (select w.w from watermark as w)
  and not exists (select 1 from {{ ref('fct_screening') }} as f where f.screening_id = s.screening_id)
union all
select 'not in core' as side, f.screening_id
from {{ ref('fct_screening') }} as f
where not exists (select 1 from {{ source('core', 'screening') }} as s where s.screening_id = f.screening_id)
  and not exists (select 1 from {{ source('ops', 'deletion_log') }} as d
                  where d.table_name = 'core.screening' and d.record_id = f.screening_id
                    and d.deleted_at >= (select w.w from watermark as w))
