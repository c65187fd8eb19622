"""`needradar needs ...`: the needs backlog and the requirement hot spots."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from needradar.commands._common import console, emit_json, settings, table

app = typer.Typer(
    help="Unmet needs: the backlog ranked by revenue at risk, and hot spots.", no_args_is_help=True
)


@app.command()
def backlog(
    data: Annotated[Path, typer.Option(help="Data folder or DuckDB file.")],
    as_of: Annotated[str, typer.Option(help="Requests open at the end of this day (YYYY-MM-DD).")],
    at_risk: Annotated[
        Path | None,
        typer.Option(help="The day's at-risk list (default OUT/DATE/at_risk.parquet, else scored now)."),
    ] = None,
    out: Annotated[
        Path | None, typer.Option(help="Also write the groups to this .csv/.parquet file.")
    ] = None,
    top: Annotated[int, typer.Option(help="Groups to show (all with --json or --out).")] = 15,
    as_json: Annotated[bool, typer.Option("--json", help="Print the backlog as JSON.")] = False,
) -> None:
    """Open requirement groups (product area x type) ranked by the value at risk of the customers waiting."""
    from core.io import write_frame
    from monitoring.needs_backlog import backlog_json, needs_backlog
    from needradar.commands.features import check_as_of, load
    from pipelines.needs import at_risk_for_day

    cfg = settings()
    events = load(data)
    check_as_of(events, as_of)
    groups = needs_backlog(events.requirements, at_risk_for_day(events, as_of, cfg, at_risk), as_of, cfg)
    if out is not None:
        write_frame(groups, out)
    if as_json:
        emit_json(backlog_json(groups, as_of))
        return
    cols = [
        "rank",
        "product_area",
        "type",
        "customers_waiting",
        "oldest_wait_days",
        "churn_risk_sum",
        "value_at_risk",
        "unmet_share",
        "requests_7d",
        "priority",
    ]
    console.print(table(f"Needs backlog as of {as_of}", groups[cols].head(top).to_dict("records")))
    if out is not None:
        console.print(f"wrote {len(groups)} groups to {out}")


@app.command()
def hotspots(
    data: Annotated[Path, typer.Option(help="Data folder or DuckDB file.")],
    as_of: Annotated[str, typer.Option(help="The 7 days ending on this day (YYYY-MM-DD).")],
    forecast: Annotated[
        Path | None, typer.Option(help="Requirement forecasts (default OUT/DATE/forecast.csv if present).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the table as JSON.")] = False,
) -> None:
    """Weekly requests per product area and type against the hot-feature threshold, with forecasts."""
    import pandas as pd

    from monitoring.needs_alerts import hot_spots
    from needradar.commands.features import check_as_of, load

    cfg = settings()
    events = load(data)
    check_as_of(events, as_of)
    path = forecast or cfg.path("output") / f"{pd.Timestamp(as_of):%Y-%m-%d}" / "forecast.csv"
    fc = pd.read_csv(path, parse_dates=["ds"]) if Path(path).exists() else None
    spots = hot_spots(events.requirements, fc, as_of, cfg)
    if as_json:
        emit_json(spots.astype(object).where(spots.notna(), None).to_dict("records"))
        return
    console.print(table(f"Requests in the 7 days to {as_of}", spots.fillna("").to_dict("records")))
