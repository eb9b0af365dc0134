"""The dbt project's own rules, read from its manifest (the checks
dbt-project-evaluator makes, written here: the package is not installable on
these machines). Every deliberate exception is listed with its reason in
dbt_project/policy_exceptions.yml; anything else breaking a rule fails.

Rules:
- every model has a primary-key test: `unique` and `not_null` on one column, a
  `unique_combination_of_columns` test, or a `primary_key` constraint;
- a public model (`access: public`) has an enforced contract;
- every source table declares freshness (`loaded_at_field` and `warn_after`);
- every model, source table and declared column has a description;
- a model lives in its layer's folder with its layer's name (`stg_` in
  staging, `int_` in intermediate) and depends only on layers below it;
- no hidden dependency: a warehouse relation is named through `source()` or
  `ref()` (or a `-- depends_on:` line), never written as `schema.table`, and
  every source is in some model's lineage (one read only inside
  `is_incremental()` is not, without a `-- depends_on:` line).
"""

from __future__ import annotations

import copy
import json
import re

import pytest
import yaml

from kenshin.reporting.marts import DBT_PROJECT, MANIFEST, ensure_manifest

EXCEPTIONS_FILE = DBT_PROJECT / "policy_exceptions.yml"

# folder -> (name prefix or None, layers it may depend on)
LAYERS = {
    "staging": ("stg_", set()),
    "intermediate": ("int_", {"staging", "intermediate"}),
    "marts": (None, {"staging", "intermediate", "marts"}),
    # the exact report's cells, then the same cells suppressed for publication
    "report": (None, {"intermediate", "marts"}),
    "stats": (None, {"intermediate", "marts", "report"}),
}
# the warehouse's schemas a model could name behind dbt's back
WAREHOUSE_SCHEMAS = ("landing", "core", "ops", "audit", "staff", "marts", "marts_staging", "stats", "stats_build",
                     "report")
HIDDEN = re.compile(rf"\b({'|'.join(WAREHOUSE_SCHEMAS)})\.([a-z_][a-z0-9_]*)\b")
# what is not SQL naming a relation: Jinja, comments, string literals
NOT_A_RELATION = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}|--[^\n]*|/\*.*?\*/|'(?:[^']|'')*'", re.S)
RULES = ("primary_key_test", "contract", "source_freshness", "description", "layer", "hidden_dependency")


def load_exceptions(section: str = "exceptions") -> dict[str, dict[str, str]]:
    """rule -> {node name: reason} of a section (`exceptions`: deliberate;
    `pending`: to be fixed); every entry must give a reason."""
    doc = yaml.safe_load(EXCEPTIONS_FILE.read_text(encoding="utf-8")) or {}
    out: dict[str, dict[str, str]] = {}
    for rule, entries in (doc.get(section) or {}).items():
        assert rule in RULES, f"{EXCEPTIONS_FILE.name}: unknown rule {rule!r}"
        for name, reason in (entries or {}).items():
            assert isinstance(reason, str) and reason.strip(), f"{EXCEPTIONS_FILE.name}: {rule}.{name} has no reason"
        out[rule] = dict(entries or {})
    return out


def _layer(node: dict) -> str | None:
    parts = node["original_file_path"].split("/")
    return parts[1] if len(parts) > 2 and parts[0] == "models" else None


def _undescribed(label: str, node: dict, kind: str) -> list[tuple[str, str, str]]:
    """A node and each of its declared columns without a description."""
    found = [] if (node.get("description") or "").strip() else [("description", label, f"{kind} has no description")]
    return found + [("description", f"{label}.{column}", "the column has no description")
                    for column, spec in node["columns"].items() if not (spec.get("description") or "").strip()]


def violations(manifest: dict, exceptions: dict[str, dict[str, str]]) -> list[str]:
    """Every rule broken in the manifest, as 'rule: node: why', minus the listed exceptions."""
    found: list[tuple[str, str, str]] = []
    nodes = manifest["nodes"]
    models = {uid: n for uid, n in nodes.items() if n["resource_type"] == "model"}
    tests = [n for n in nodes.values() if n["resource_type"] == "test"]

    for uid, model in models.items():
        name = model["name"]
        # primary key
        on_column: dict[str, set[str]] = {}
        keyed = any(c.get("type") == "primary_key" for c in model.get("constraints", [])) or any(
            c.get("type") == "primary_key" for col in model["columns"].values() for c in col.get("constraints", []))
        for test in tests:
            meta = test.get("test_metadata") or {}
            if test.get("attached_node") != uid:
                continue
            if meta.get("name") == "unique_combination_of_columns":
                keyed = True
            elif meta.get("name") in ("unique", "not_null") and test.get("column_name"):
                on_column.setdefault(test["column_name"], set()).add(meta["name"])
        if not keyed and not any(kinds == {"unique", "not_null"} for kinds in on_column.values()):
            found.append(("primary_key_test", name, "no unique + not_null column, key combination or primary_key"))
        # contract of a public model
        if model.get("access") == "public" and not model["config"].get("contract", {}).get("enforced"):
            found.append(("contract", name, "public without an enforced contract"))
        found += _undescribed(name, model, "the model")
        # layers
        layer = _layer(model)
        if layer not in LAYERS:
            found.append(("layer", name, f"outside the layers' folders ({model['original_file_path']})"))
        else:
            prefix, below = LAYERS[layer]
            if prefix and not name.startswith(prefix):
                found.append(("layer", name, f"a {layer} model not named {prefix}*"))
            for other in model["depends_on"]["nodes"]:
                if other in models and _layer(models[other]) not in below:
                    found.append(("layer", name, f"depends on {models[other]['name']} ({_layer(models[other])})"))
            for prefix_name, (prefix_other, _) in LAYERS.items():
                if prefix_other and name.startswith(prefix_other) and layer != prefix_name:
                    found.append(("layer", name, f"named {prefix_other}* outside {prefix_name}"))
        # hidden dependencies
        code = NOT_A_RELATION.sub(" ", model.get("raw_code") or "")
        for schema, table in sorted(set(HIDDEN.findall(code))):
            found.append(("hidden_dependency", name, f"names {schema}.{table} outside source()/ref()"))

    readers = [*models.values(), *manifest.get("exposures", {}).values()]
    used = {uid for reader in readers for uid in reader["depends_on"]["nodes"]}
    for uid, source in manifest["sources"].items():
        label = f"{source['source_name']}.{source['name']}"
        if uid not in used:
            # read only inside is_incremental(): dbt's lineage does not see it
            found.append(("hidden_dependency", label, "no model or exposure depends on it (a `-- depends_on:` line?)"))
        freshness = source.get("freshness") or {}
        if not source.get("loaded_at_field") or not (freshness.get("warn_after") or {}).get("count"):
            found.append(("source_freshness", label, "no loaded_at_field and warn_after"))
        found += _undescribed(label, source, "the source table")

    for exposure in manifest.get("exposures", {}).values():
        if not (exposure.get("owner") or {}).get("name") or not (exposure.get("description") or "").strip():
            found.append(("description", exposure["name"], "an exposure without an owner or a description"))

    return sorted(f"{rule}: {name}: {why}" for rule, name, why in set(found)
                  if name not in exceptions.get(rule, {}))


@pytest.fixture(scope="module")
def manifest() -> dict:
    ensure_manifest()
    return json.loads(MANIFEST.read_text(encoding="utf-8"))


def _excused(*sections: dict[str, dict[str, str]]) -> dict[str, dict[str, str]]:
    merged: dict[str, dict[str, str]] = {}
    for section in sections:
        for rule, entries in section.items():
            merged.setdefault(rule, {}).update(entries)
    return merged


def test_the_project_keeps_its_rules(manifest):
    """Nothing breaks a rule but the deliberate exceptions and the pending list."""
    assert violations(manifest, _excused(load_exceptions(), load_pending())) == []


@pytest.mark.parametrize("section", ["exceptions", "pending"])
def test_every_listed_entry_is_still_needed(manifest, section):
    """An entry that no longer excuses anything is stale (a pending one fixed): remove it."""
    broken = violations(manifest, {})
    stale = [f"{rule}: {name}" for rule, entries in load_exceptions(section).items() for name in entries
             if not any(v.startswith(f"{rule}: {name}: ") for v in broken)]
    assert stale == []


def load_pending() -> dict[str, dict[str, str]]:
    return load_exceptions("pending")


def _with_model(manifest: dict, name: str, folder: str, *, raw_code: str = "select 1 as id", columns=None,
                access: str = "protected", contract: bool = False, tests: tuple[str, ...] = ("unique", "not_null"),
                depends_on: tuple[str, ...] = ()) -> dict:
    """A copy of the manifest with one more model (and its tests on `id`)."""
    broken = copy.deepcopy(manifest)
    uid = f"model.kenshin.{name}"
    broken["nodes"][uid] = {
        "resource_type": "model", "name": name, "original_file_path": f"models/{folder}/{name}.sql",
        "description": "A model of the policy test.", "access": access, "raw_code": raw_code,
        "config": {"contract": {"enforced": contract}, "materialized": "table"}, "constraints": [],
        "columns": columns if columns is not None else {"id": {"description": "Key.", "constraints": []}},
        "depends_on": {"nodes": list(depends_on), "macros": []},
    }
    for kind in tests:
        broken["nodes"][f"test.kenshin.{kind}_{name}_id"] = {
            "resource_type": "test", "attached_node": uid, "column_name": "id",
            "test_metadata": {"name": kind, "kwargs": {}}, "depends_on": {"nodes": [uid], "macros": []}}
    return broken


@pytest.mark.parametrize("case, expected", [
    (dict(name="int_no_key", folder="intermediate", tests=("not_null",)),
     "primary_key_test: int_no_key: no unique + not_null column, key combination or primary_key"),
    (dict(name="public_table", folder="stats", access="public"),
     "contract: public_table: public without an enforced contract"),
    (dict(name="int_undocumented", folder="intermediate", columns={"id": {"description": "", "constraints": []}}),
     "description: int_undocumented.id: the column has no description"),
    (dict(name="orders", folder="staging"), "layer: orders: a staging model not named stg_*"),
    (dict(name="int_misplaced", folder="marts"), "layer: int_misplaced: named int_* outside intermediate"),
    (dict(name="loose", folder="scratch"), "layer: loose: outside the layers' folders (models/scratch/loose.sql)"),
    (dict(name="int_upward", folder="intermediate", depends_on=("model.kenshin.fct_screening",)),
     "layer: int_upward: depends on fct_screening (marts)"),
    (dict(name="int_hidden", folder="intermediate",
          raw_code="select record_id as id from ops.deletion_log -- {{ ref('stg_core__screening') }}"),
     "hidden_dependency: int_hidden: names ops.deletion_log outside source()/ref()"),
])
def test_a_model_breaking_a_rule_is_found(manifest, case, expected):
    assert violations(_with_model(manifest, **case), _excused(load_exceptions(), load_pending())) == [expected]


def test_a_model_keeping_every_rule_passes(manifest):
    good = _with_model(manifest, "int_good", "intermediate",
                       raw_code="select id from {{ ref('stg_core__screening') }} -- core.screening through ref",
                       depends_on=("model.kenshin.stg_core__screening",))
    assert violations(good, _excused(load_exceptions(), load_pending())) == []


def test_a_source_without_freshness_is_found(manifest):
    broken = copy.deepcopy(manifest)
    source = next(s for s in broken["sources"].values() if s.get("loaded_at_field"))
    source["loaded_at_field"], source["freshness"] = None, {"warn_after": {"count": None}}
    label = f"{source['source_name']}.{source['name']}"
    assert violations(broken, _excused(load_exceptions(), load_pending())) == [f"source_freshness: {label}: no loaded_at_field and warn_after"]
