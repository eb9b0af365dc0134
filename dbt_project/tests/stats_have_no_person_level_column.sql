-- Statistics carry no person-level column (DOMAIN.md): no key, id, name, number or address.
{{ config(severity='error') }}
select table_name, column_name
from information_schema.columns
where table_schema in ('stats', 'stats_build')
  and (column_name ~ '(person|addressee|name|number|address|birth|postal|my_number|screening_id)'
       and column_name not in ('exam_type'))
