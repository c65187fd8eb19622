"""`needradar data ...`: generate, import and validate event data."""

from __future__ import annotations

import time
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from needradar.commands._common import at_least, console, emit_json, iso_day, settings

app = typer.Typer(help="Generate, import and validate event data.", no_args_is_help=True)


class Dataset(StrEnum):
    cdnow = "cdnow"
    telco = "telco"
    bank_calls = "bank-calls"


@app.command()
def generate(
    out: Annotated[Path, typer.Option(help="Folder to write the tables into.")],
    customers: Annotated[int | None, typer.Option(help="Number of customers (default from config).")] = None,
    days: Annotated[int | None, typer.Option(help="Days of history (default from config).")] = None,
    seed: Annotated[int | None, typer.Option(help="Random seed; the same seed gives the same bytes.")] = None,
    fmt: Annotated[str, typer.Option("--format", help="csv or parquet.")] = "csv",
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Write the realistic, causal sample data set (customers and five event tables)."""
    from core.io import write_frame
    from features.campaigns import write_truth
    from features.generate import generate_sample
    from features.load import write_event_data

    customers, days = at_least(customers, 1, "--customers"), at_least(days, 1, "--days")
    cfg = settings()
    start = time.perf_counter()
    with console.status("generating sample data"):
        sample = generate_sample(cfg, customers=customers, days=days, seed=seed)
        write_event_data(sample.events, out, fmt=fmt)
        write_frame(sample.truth, out / "truth" / "churn_causes.csv")
        write_truth(sample.effects, out, sample.contact_truth)
    result = {name: len(df) for name, df in sample.events.tables().items()}
    result |= {"out": str(out), "seconds": round(time.perf_counter() - start, 2)}
    if as_json:
        emit_json(result)
    else:
        console.print(
            f"wrote {result['customers']:,} customers and their events to {out} in {result['seconds']} s"
        )


@app.command()
def partition(
    data: Annotated[Path, typer.Argument(help="Data folder (CSV/Parquet) or DuckDB file.")],
    out: Annotated[Path, typer.Option(help="New folder for the bucketed Parquet dataset.")],
    buckets: Annotated[int, typer.Option(help="Customer buckets (partitions); a few per worker.")] = 16,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Write a bucketed Parquet dataset: every table split by customer bucket, for `--dask` runs."""
    from features.load import read_raw_tables
    from features.partition import write_partitioned

    start = time.perf_counter()
    with console.status(f"partitioning into {buckets} buckets"):
        tables = read_raw_tables(data)
        write_partitioned(tables, out, buckets)
    result = {name: len(df) for name, df in tables.items()}
    result |= {"buckets": buckets, "out": str(out), "seconds": round(time.perf_counter() - start, 2)}
    if as_json:
        emit_json(result)
    else:
        console.print(f"wrote {len(tables)} tables in {buckets} customer buckets to {out}")


@app.command("import")
def import_(
    dataset: Annotated[Dataset, typer.Argument(help="Which real data set to convert.")],
    out: Annotated[Path, typer.Option(help="Folder to write into.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Convert a real public data set shipped in a package (offline): cdnow, telco or bank-calls."""
    from features.importers import IMPORTERS

    with console.status(f"importing {dataset.value}"):
        result = IMPORTERS[dataset.value](out) | {"dataset": dataset.value, "out": str(out)}
    if as_json:
        emit_json(result)
    else:
        console.print(f"imported {dataset.value} into {out}: {result}")


@app.command()
def validate(
    data: Annotated[Path, typer.Argument(help="Data folder (CSV/Parquet) or DuckDB file.")],
    as_of: Annotated[str | None, typer.Option(help="Flag timestamps after this date (YYYY-MM-DD).")] = None,
    limit: Annotated[int, typer.Option(help="Problems to show (all with --json).")] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="Print every problem as JSON.")] = False,
) -> None:
    """Check the data against the contract; report every problem with table, row and column."""
    from features.load import read_raw_tables
    from features.validate import validate_tables
    from needradar.commands._common import table

    as_of = iso_day(as_of) if as_of is not None else None
    raw = read_raw_tables(data)
    report = validate_tables(raw, as_of=as_of)
    problems = report.to_frame()
    if as_json:
        emit_json(
            {
                "ok": report.ok,
                "rows": {k: len(v) for k, v in raw.items()},
                "problems": problems.to_dict("records"),
            }
        )
    elif report.ok:
        console.print(f"[green]ok[/]: {', '.join(f'{k} {len(v):,} rows' for k, v in raw.items())}")
    else:
        rows = problems.head(limit).fillna("").to_dict("records")
        console.print(table(f"{len(problems)} problems in {data}", rows))
        if len(problems) > limit:
            console.print(f"... and {len(problems) - limit} more (use --json to see all)")
    if not report.ok:
        counts = problems.groupby("table").size().to_dict()
        typer.echo(f"error: {len(problems)} problems found ({counts})", err=True)
        raise typer.Exit(1)
