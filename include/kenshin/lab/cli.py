"""The lab's commands of the `kenshin` CLI (never needed in production):
`kenshin synth` (the synthetic city), `kenshin bench` (city-scale benchmarks)
and `kenshin exchange simulate` (the network simulator). `kenshin.cli` adds
them when the lab is installed."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import click

from kenshin.platform import db


@click.command()
@click.option("--residents", type=int, default=20_000, show_default=True)
@click.option("--seed", type=int, default=1, show_default=True)
@click.option("--out", type=click.Path(path_type=Path), required=True)
@click.option("--start", type=click.DateTime(["%Y-%m-%d"]), default="2026-10-01", show_default=True)
@click.option("--days", type=int, default=0, show_default=True)
def synth(residents: int, seed: int, out: Path, start: dt.datetime, days: int) -> None:
    """Write a reproducible synthetic city in the LAYOUTS.md formats (synthetic people only)."""
    from kenshin.lab.synth import generate

    summary = generate(residents, seed, out, start.date(), days)
    click.echo(json.dumps(summary, ensure_ascii=False, default=str))


@click.group("exchange")
def exchange_group() -> None:
    """The network simulator (demo and tests only): the other municipalities' side."""


@exchange_group.command("simulate")
@click.option("--as-of", "as_of", type=click.DateTime(["%Y-%m-%d"]), required=True, help="The simulated day.")
def exchange_simulate(as_of: dt.datetime) -> None:
    """Answer the request files in the outbox; write the responses due by that day to the inbox."""
    from kenshin.lab import network_simulator as exchange

    click.echo(json.dumps(exchange.simulate(as_of.date()), ensure_ascii=False))


@click.command()
@click.argument("part", type=click.Choice(["registry", "clinic", "marts", "notices", "purge", "all"]), default="all")
@click.option("--residents", type=int, default=1_560_000, show_default=True)
@click.option("--work", type=click.Path(path_type=Path), default=None, help="Scratch folder.")
def bench(part: str, residents: int, work: Path | None) -> None:
    """City-scale benchmarks (make bench); prints a table and JSON."""
    from kenshin.lab import bench as bench_module

    bench_module.run(part, residents, work or db.work_dir() / "bench")


COMMANDS = (synth, exchange_group, bench)
