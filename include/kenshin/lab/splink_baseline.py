"""Baseline record linker on Splink (DuckDB backend), for `kenshin bench clinic`.

The benchmark `kenshin bench clinic` measures the project's own matcher
(`kenshin.matching.matcher`, Fellegi–Sunter scoring in PostgreSQL with hand-set m/u
probabilities) and compares it with this baseline: an off-the-shelf
probabilistic linker given the *same* normalized fields (kana and kanji name
keys, birth date, sex, postal code, address key) and the same blocking keys,
but training its own model unsupervised. If our matcher does no better than a
generic tool on the same inputs, that is worth knowing; if it does better, the
numbers say by how much.

Why Splink on DuckDB: Splink is the widely used open-source Fellegi–Sunter
implementation (u by random sampling, m by expectation maximisation), and its
DuckDB backend runs in-process on a laptop-sized machine with no server, so the
baseline needs nothing beyond `uv sync --group bench`. Inputs are handed over as
Arrow tables and stay columnar in DuckDB (no Python rows per person), which
keeps 1.56M persons well within memory.

Splink lives only in the `bench` dependency group, so it is imported lazily.
Only counts and timings are logged, never a name, date or address.
"""

from __future__ import annotations

import logging
import tempfile
import time
from dataclasses import dataclass, field

import pyarrow as pa

log = logging.getLogger(__name__)

_COLUMNS = ("name_kana", "name_kanji", "birth_date", "sex", "postal_code", "address")

# Training sizes, chosen to run in tens of seconds on 2 cores at city scale.
U_MAX_PAIRS = 3e6
EM_MAX_PAIRS = 2e6
# Assumed recall of the deterministic rules used for the prior (see _train).
DETERMINISTIC_RECALL = 0.9

_RECORDS = "records"
_PERSONS = "persons"


@dataclass
class SplinkResult:
    """What the baseline linked and what it cost."""

    links: dict[int, str] = field(default_factory=dict)   # record_id -> addressee_id
    seconds_train: float = 0.0
    seconds_predict: float = 0.0
    pairs_scored: int = 0
    version: str = ""


def _import_splink():
    try:
        import splink
        import splink.comparison_library as cl
        from splink import DuckDBAPI, Linker, SettingsCreator, block_on
    except ImportError as exc:  # pragma: no cover - depends on the installed groups
        raise RuntimeError(
            "the Splink baseline needs the 'bench' dependency group: "
            "run `uv sync --group bench` (or `make bench`)"
        ) from exc
    return splink, cl, DuckDBAPI, Linker, SettingsCreator, block_on


def _check_columns(table: pa.Table, id_column: str, what: str) -> None:
    missing = [c for c in (id_column, *_COLUMNS) if c not in table.column_names]
    if missing:
        raise ValueError(f"{what} lack columns: {', '.join(missing)}")


def _load(con, name: str, table: pa.Table, id_sql: str) -> None:
    """Copy one input into DuckDB with the columns Splink compares.

    Both inputs get the same column names and types (Splink requires it):
    unique_id as text, birth_date as the 'YYYYMMDD' string so that one digit
    changed is one edit, exactly as our matcher compares it.
    """
    view = f"{name}_arrow"
    con.register(view, table)
    try:
        con.execute(
            f"""
            create table {name} as
            select {id_sql} as unique_id,
                   cast(name_kana as varchar) as name_kana,
                   cast(name_kanji as varchar) as name_kanji,
                   strftime(cast(birth_date as date), '%Y%m%d') as birth_date,
                   cast(sex as tinyint) as sex,
                   cast(postal_code as varchar) as postal_code,
                   cast(address as varchar) as address
            from {view}
            """
        )
    finally:
        con.unregister(view)


def link_with_splink(
    records: pa.Table,
    persons: pa.Table,
    *,
    link_probability: float = 0.99,
    seed: int = 1,
) -> SplinkResult:
    """Link each record to at most one person with Splink, trained on these inputs.

    A record is linked to its single best-scoring person if that pair's match
    probability is at least `link_probability`; a record whose best score is
    shared by two or more persons is left unlinked (ambiguous).
    """
    splink, cl, DuckDBAPI, Linker, SettingsCreator, block_on = _import_splink()
    import duckdb

    _check_columns(records, "record_id", "records")
    _check_columns(persons, "addressee_id", "persons")
    result = SplinkResult(version=splink.__version__)
    if records.num_rows == 0 or persons.num_rows == 0:
        return result

    with tempfile.TemporaryDirectory(prefix="kenshin-splink-") as spill:
        con = duckdb.connect(
            ":memory:",
            config={
                "memory_limit": "1GB",
                "temp_directory": spill,
                "preserve_insertion_order": False,
            },
        )
        try:
            _load(con, "bench_records", records, "cast(record_id as varchar)")
            _load(con, "bench_persons", persons, "cast(addressee_id as varchar)")
            db_api = DuckDBAPI(connection=con)
            # Registering by table name: the data stays in DuckDB.
            df_records = db_api.register("bench_records", dataset_display_name=_RECORDS)
            df_persons = db_api.register("bench_persons", dataset_display_name=_PERSONS)

            settings = SettingsCreator(
                link_type="link_only",
                comparisons=[
                    cl.LevenshteinAtThresholds("name_kana", [1, 2]),
                    cl.LevenshteinAtThresholds("name_kanji", [1]),
                    cl.LevenshteinAtThresholds("birth_date", [1]),
                    cl.ExactMatch("sex"),
                    cl.ExactMatch("postal_code"),
                    cl.ExactMatch("address"),
                ],
                # The blocking keys of kenshin.matching.matcher.
                blocking_rules_to_generate_predictions=[
                    block_on("birth_date", "sex"),
                    block_on("name_kana"),
                    block_on("name_kanji", "sex"),
                ],
                retain_matching_columns=False,
                retain_intermediate_calculation_columns=False,
            )
            # log_level=None: Splink's own INFO output (parameter estimates, SQL at
            # debug) carries no record values, but we keep the bench output to ours.
            linker = Linker([df_records, df_persons], settings, log_level=None)

            started = time.perf_counter()
            _train(linker, block_on, seed)
            result.seconds_train = time.perf_counter() - started

            started = time.perf_counter()
            predictions = linker.inference.predict(warning_mode="never")
            result.pairs_scored, result.links = _best_links(
                con, predictions.physical_name, link_probability
            )
            predictions.drop_table_from_database_and_remove_from_cache()
            result.seconds_predict = time.perf_counter() - started
        finally:
            con.close()

    log.info(
        "splink %s: %d records, %d persons, %d pairs scored, %d linked; "
        "train %.1fs, predict %.1fs",
        result.version, records.num_rows, persons.num_rows, result.pairs_scored,
        len(result.links), result.seconds_train, result.seconds_predict,
    )
    return result


def _train(linker, block_on, seed: int) -> None:
    """Unsupervised training: prior, u by random sampling, m by EM.

    Prior (probability that a random record–person pair matches): counted from
    strict deterministic rules (same kana name and birth date and sex, or same
    kanji name and birth date and sex), scaled up by an assumed recall of
    DETERMINISTIC_RECALL. In a link-only job that is per *pair*, so with every
    record present it is about 1/persons, not records/persons.

    u: from random record–person pairs (non-matches with overwhelming
    probability). m: EM on two blocking rules, each one training the
    comparisons it does not block on: same birth date and sex trains the names,
    postal code and address; same kana name trains the birth date, sex, kanji,
    postal code and address.
    """
    training = linker.training
    training.estimate_probability_two_random_records_match(
        [
            block_on("name_kana", "birth_date", "sex"),
            block_on("name_kanji", "birth_date", "sex"),
        ],
        recall=DETERMINISTIC_RECALL,
    )
    training.estimate_u_using_random_sampling(max_pairs=U_MAX_PAIRS, seed=seed)
    for rule in (block_on("birth_date", "sex"), block_on("name_kana")):
        training.estimate_parameters_using_expectation_maximisation(
            rule,
            max_pairs=EM_MAX_PAIRS,
            record_sample_proportion=0.1,
        )


def _best_links(con, predictions: str, link_probability: float) -> tuple[int, dict[int, str]]:
    """Count the scored pairs and keep each record's unique best person.

    Ranked by match weight, not probability: near 1 the probability rounds to
    1.0 for pairs whose weights still differ, which would look like ties.
    """
    pairs_scored = con.sql(f"select count(*) from {predictions}").fetchall()[0][0]
    # In a two-table link the record may be on either side of a pair.
    rows = con.sql(
        f"""
        with oriented as (
            select case when source_dataset_l = '{_RECORDS}' then unique_id_l
                        else unique_id_r end as record_uid,
                   case when source_dataset_l = '{_RECORDS}' then unique_id_r
                        else unique_id_l end as person_uid,
                   match_weight, match_probability
            from {predictions}
        ),
        ranked as (
            select record_uid, person_uid, match_weight, match_probability,
                   max(match_weight) over (partition by record_uid) as best_weight
            from oriented
        ),
        best as (
            select record_uid, any_value(person_uid) as person_uid,
                   count(*) as n_best, max(match_probability) as probability
            from ranked
            where match_weight = best_weight
            group by record_uid
        )
        select cast(record_uid as bigint), person_uid
        from best
        where n_best = 1 and probability >= ?
        """,
        params=[link_probability],
    ).to_arrow_table()
    links = dict(zip(rows.column(0).to_pylist(), rows.column(1).to_pylist(), strict=True))
    return int(pairs_scored), links
