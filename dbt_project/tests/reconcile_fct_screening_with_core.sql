-- fct_screening holds every screening of core, once.
{{ config(severity='error') }}
select 'core' as side, count(*) as n from {{ source('core', 'screening') }}
having count(*) <> (select count(*) from {{ ref('fct_screening') }})
