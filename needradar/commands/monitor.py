"""`needradar monitor ...`: service KPIs, drift and model decay."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from needradar.commands._common import at_least, console, emit_json, iso_day, settings, table

app = typer.Typer(help="Service KPIs, drift and model decay.", no_args_is_help=True)


@app.command()
def kpis(
    data: Annotated[Path, typer.Option(help="Data folder or DuckDB file.")],
    as_of: Annotated[str, typer.Option(help="KPIs over the window ending this day (YYYY-MM-DD).")],
    window_days: Annotated[int | None, typer.Option(help="Window length (default from config).")] = None,
    scope: Annotated[str | None, typer.Option(help="Only this scope, e.g. overall or channel=phone.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the KPI table as JSON.")] = False,
) -> None:
    """First response, resolution time, SLA compliance, recurrence, reopens, csat and NPS vs targets."""
    from monitoring.kpis import compute_kpis
    from needradar.commands.features import check_as_of, load

    as_of, window_days = iso_day(as_of), at_least(window_days, 1, "--window-days")
    events = load(data)
    check_as_of(events, as_of)
    frame = compute_kpis(events, as_of, settings(), window_days)
    if scope:
        frame = frame[frame["scope"] == scope]
    if as_json:
        emit_json(frame.to_dict("records"))
        return
    console.print(table(f"Service KPIs as of {as_of}", frame.fillna("").to_dict("records")))
    missed = frame[frame["met"] == False]  # noqa: E712
    console.print(f"{len(missed)} of {frame['met'].notna().sum()} KPIs with a target are missed")


@app.command()
def drift(
    reference: Annotated[
        Path, typer.Option(help="Reference vectors (.parquet/.csv), e.g. the training data.")
    ],
    current: Annotated[
        Path, typer.Option(help="Current vectors (.parquet/.csv), e.g. OUT/DATE/vectors.parquet.")
    ],
    out: Annotated[Path, typer.Option(help="Folder for drift.html and drift.json.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Compare two sets of behaviour vectors with Evidently: per-feature drift and the drifted share."""
    from core.io import read_frame
    from monitoring.drift import check_drift

    result = check_drift(read_frame(reference), read_frame(current), settings(), out_dir=out)
    summary = {
        "share_drifted": round(result.share_drifted, 4),
        "drifted_features": result.drifted_features,
        "prediction_drift": result.prediction_drift,
        "files": result.files,
    }
    if as_json:
        emit_json(summary)
    else:
        console.print(
            f"{result.share_drifted:.0%} of features drifted: {', '.join(result.drifted_features) or 'none'}"
        )
        console.print(f"report: {result.files['html']}")
