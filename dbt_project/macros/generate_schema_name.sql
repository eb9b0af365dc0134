{# Schemas are the house's own (ARCHITECTURE.md: marts, stats): a model's
   +schema is used as it is, never prefixed with the target schema. #}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {{ custom_schema_name if custom_schema_name is not none else target.schema }}
{%- endmacro %}
