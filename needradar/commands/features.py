"""`needradar features ...`: point-in-time behaviour vectors and volume series."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from needradar.commands._common import DaskOption, console, emit_json, iso_day, output_file, settings

app = typer.Typer(
    help="Build point-in-time behaviour vectors, labels and volume series.", no_args_is_help=True
)


def load(data: Path, as_of: str | None = None):
    """Load a data folder for real work, quarantining invalid rows under the runtime home.

    Pass `as_of` only when it is today (the daily job): then later timestamps are errors. For a
    historical as-of date, later events are simply not yet known and the features ignore them.
    """
    from features.load import load_event_data

    cfg = settings()
    return load_event_data(data, cfg, as_of=as_of, quarantine_dir=cfg.path("quarantine") / Path(data).name)


def check_as_of(events, as_of: str) -> None:
    """Refuse an as-of date outside the data's time range."""
    import pandas as pd

    from core.errors import DataError

    first = events.customers["signup_ts"].min()
    last = events.last_event_ts()
    day = pd.Timestamp(as_of)
    if not first.normalize() <= day <= last.normalize():
        raise DataError(f"as-of date {as_of} is outside the data ({first:%Y-%m-%d} to {last:%Y-%m-%d})")


def vectors_for(data: Path, as_of: str, client):
    """The vectors as of `as_of` and the loaded events (None when each worker read its own buckets
    of a partitioned dataset): in this process, or per partition on the Dask `client`."""
    from features.distributed import vectors_on_cluster
    from features.partition import dataset_buckets
    from features.vectors import build_vectors

    cfg = settings()
    if client is not None and dataset_buckets(data):  # each worker reads its own buckets
        vectors, _ = vectors_on_cluster(client, data, as_of, cfg, cfg.path("quarantine") / data.name)
        return vectors, None
    events = load(data)
    check_as_of(events, as_of)
    if client is None:
        return build_vectors(events, as_of, cfg), events
    return vectors_on_cluster(client, events, as_of, cfg)[0], events


@app.command()
def build(
    data: Annotated[Path, typer.Option(help="Data folder or DuckDB file.")],
    as_of: Annotated[
        str, typer.Option(help="Day D (YYYY-MM-DD): vectors use only what was known by the end of D.")
    ],
    out: Annotated[Path, typer.Option(help="Output file, .parquet or .csv.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
    dask: DaskOption = None,
) -> None:
    """Build one behaviour vector per customer active at the as-of date."""
    from core.cluster import dask_client
    from core.io import write_frame

    as_of, out = iso_day(as_of), output_file(out)
    start = time.perf_counter()
    cfg = settings()
    with dask_client(dask or cfg.dask_address) as client:
        vectors, _ = vectors_for(data, as_of, client)
    write_frame(vectors, out)
    result = {"rows": len(vectors), "columns": vectors.shape[1], "out": str(out)}
    result["seconds"] = round(time.perf_counter() - start, 2)
    if as_json:
        emit_json(result)
    else:
        console.print(
            f"{result['rows']:,} customers x {result['columns']} columns -> {out} ({result['seconds']} s)"
        )


@app.command()
def series(
    data: Annotated[Path, typer.Option(help="Data folder or DuckDB file.")],
    out: Annotated[Path, typer.Option(help="Output file, .parquet or .csv.")],
    freq: Annotated[str, typer.Option(help="D (daily) or h (hourly).")] = "D",
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Build the volume series: tickets by channel x category, requests by type x product area."""
    from core.errors import NeedradarError
    from core.io import write_frame
    from features.volume_series import build_volume_series

    if freq not in ("D", "h"):
        raise NeedradarError(f"--freq {freq!r} is not supported; use D or h")
    out = output_file(out)
    frame = build_volume_series(load(data), freq=freq)
    write_frame(frame, out)
    result = {"series": int(frame["series_id"].nunique()), "rows": len(frame), "out": str(out)}
    if as_json:
        emit_json(result)
    else:
        console.print(f"{result['series']} series, {result['rows']:,} rows -> {out}")
