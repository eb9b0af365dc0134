"""The Great Expectations gate on landing rows (品質ゲート).

Each landing dataset has a suite in `expectations/{suite}.json`. The gate
validates the accepted rows of one load (a query asset on the landing table)
through GX's own SQL connection, records every expectation's outcome in
`ops.gate_result` and says whether the load may be promoted. Row rules already
quarantined single bad rows; the suite holds the rules about the dataset as a
whole (uniqueness, value sets, row counts) that no single row can break.
"""

from __future__ import annotations

import functools
import json
import logging
from dataclasses import dataclass, field
from typing import Any

from kenshin.ingest.sources.base import Source
from kenshin.platform import db

# GX logs ~200 "Skipping registering function" lines at import (STACK.md).
logging.getLogger("great_expectations._docs_decorators").setLevel(logging.WARNING)
logging.getLogger("great_expectations").setLevel(logging.WARNING)

import great_expectations as gx  # noqa: E402

log = logging.getLogger(__name__)

EXPECTATIONS_DIR = db.PROJECT_ROOT / "expectations"


@dataclass
class GateResult:
    success: bool
    failed: list[str] = field(default_factory=list)


def load_suite(name: str) -> dict[str, Any]:
    return json.loads((EXPECTATIONS_DIR / f"{name}.json").read_text(encoding="utf-8"))


@functools.cache
def _context():
    context = gx.get_context(mode="ephemeral")
    # progress bars would fill task logs with carriage returns
    context.variables.progress_bars = gx.data_context.types.base.ProgressBarsConfig(globally=False)
    return context


@functools.cache
def _batch_definition(url: str, source_name: str, accepted_view: str):
    """The accepted-rows view of a source as a GX table asset, once per process
    and database (a data source is an engine: building one per file cost more
    than validating a clinic's file)."""
    context = _context()
    name = f"kenshin_{source_name}_{abs(hash(url)) % 10**8}"
    # GX connects as the loader, like the rest of the load (least privilege).
    datasource = context.data_sources.add_or_update_postgres(
        name=name,
        connection_string=db.sqlalchemy_url(url) + ("&" if "?" in url else "?") + "options=-c%20role%3Dkenshin_loader",
    )
    # A table asset on the accepted-rows view with every expectation restricted
    # to one load by a row condition: the metrics stay SQL aggregates. (A query
    # asset made GX materialize the whole load, ~1.2 kB of client memory a row.)
    schema, view = accepted_view.split(".")
    asset = datasource.add_table_asset(name=f"{view}_accepted", table_name=view, schema_name=schema)
    return asset.add_batch_definition_whole_table(f"{view}_whole")


def run_gate(source: Source, suite_name: str, load_id: int, parameters: dict[str, Any] | None = None, *, url: str | None = None) -> GateResult:
    """Validate load `load_id`'s accepted rows with the source's suite."""
    batch = _batch_definition(url or db.database_url(), source.name, source.accepted_view)
    spec = load_suite(suite_name)
    condition = f'col("load_id")=={int(load_id)}'
    spec = {**spec, "name": f"{spec['name']}_{load_id}", "expectations": [
        {**e, "kwargs": {**e["kwargs"], "row_condition": condition, "condition_parser": "great_expectations"}}
        for e in spec["expectations"]]}
    # Validated in memory against a fresh batch: nothing is stored in the
    # context per load (storing a suite and a validation definition per file
    # cost more than the validation of a clinic's file).
    result = batch.get_batch().validate(gx.ExpectationSuite(**spec), expectation_parameters=parameters or {})
    failed: list[str] = []
    rows = []
    for r in result.results:
        cfg = r.expectation_config
        column = cfg.kwargs.get("column")
        observed = r.result.get("observed_value") if r.result else None
        # Only counts are kept: an observed column value could be personal data.
        if not isinstance(observed, int | float) or isinstance(observed, bool):
            observed = None
        unexpected = r.result.get("unexpected_count") if r.result else None
        rows.append((load_id, suite_name, cfg.type, column, bool(r.success),
                     json.dumps({"observed": observed, "unexpected_count": unexpected}, default=str)))
        if not r.success:
            failed.append(f"{cfg.type}" + (f" on {column}" if column else "")
                          + (f" ({unexpected} rows)" if unexpected else ""))
    with db.connect(url) as conn:
        with conn.cursor() as cur:
            cur.executemany(
                "insert into ops.gate_result (load_id, suite, expectation, column_name, success, observed) "
                "values (%s, %s, %s, %s, %s, %s)", rows)
        conn.commit()
    log.info("gate suite=%s load=%s success=%s failed=%s", suite_name, load_id, result.success, len(failed))
    return GateResult(bool(result.success), failed)
