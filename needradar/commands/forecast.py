"""`needradar forecast ...`: train, backtest and predict ticket and requirement volumes."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from needradar.commands._common import (
    DaskOption,
    at_least,
    console,
    emit_json,
    output_file,
    progress,
    settings,
    table,
)

app = typer.Typer(help="Train, backtest and predict ticket and requirement volumes.", no_args_is_help=True)

JSON = Annotated[bool, typer.Option("--json", help="Print the result as JSON.")]


@app.command()
def train(
    data: Annotated[Path, typer.Option(help="Data folder or DuckDB file.")],
    as_json: JSON = False,
    dask: DaskOption = None,
) -> None:
    """Backtest all models on every daily series, select per series, fit, log and register."""
    from core.cluster import dask_client
    from experiments.volume_experiment import train_and_register
    from needradar.commands.features import load

    cfg = settings()
    events = load(data)
    with dask_client(dask or cfg.dask_address) as client, progress() as bar:
        task = bar.add_task("backtesting volume models", total=cfg.forecast.backtest_folds + 3)
        outcome = train_and_register(
            events, cfg, on_step=lambda msg: bar.update(task, advance=1, description=msg), client=client
        )
    summary = outcome.result.backtest.summary() | {
        "version": outcome.version,
        "seconds": round(outcome.result.seconds, 1),
    }
    if as_json:
        emit_json(summary)
        return
    rows = [{"model": m, "backtest_mase": v} for m, v in summary["mase"].items()]
    console.print(table("Backtest MASE (mean over series)", rows))
    console.print(
        f"registered {cfg.tracking.volume_model_name} version {outcome.version} as challenger "
        f"in {summary['seconds']} s; promote it with `needradar models promote volume`"
    )


@app.command()
def predict(
    series: Annotated[
        list[str], typer.Option("--series", help="Series id, e.g. tickets/total (repeatable).")
    ],
    horizon: Annotated[int, typer.Option(help="Days ahead.")] = 14,
    as_json: JSON = False,
) -> None:
    """Points and intervals from the champion volume model."""
    from experiments.registry import load

    at_least(horizon, 1, "--horizon")
    fc = load("volume", settings()).model.predict(series, horizon)
    if as_json:
        emit_json(fc.assign(ds=fc["ds"].dt.strftime("%Y-%m-%d")).to_dict("records"))
    else:
        console.print(table("Forecast", fc.assign(ds=fc["ds"].dt.strftime("%Y-%m-%d")).to_dict("records")))


@app.command()
def backtest(
    series: Annotated[Path, typer.Option("--series", help="A CSV or Parquet file of one or more series.")],
    time_col: Annotated[str, typer.Option(help="Timestamp column.")],
    value_col: Annotated[str, typer.Option(help="Value column.")],
    horizon: Annotated[int, typer.Option(help="Rows per fold to forecast.")],
    folds: Annotated[int, typer.Option(min=1, help="Number of last non-overlapping windows.")] = 4,
    id_col: Annotated[str | None, typer.Option(help="Series id column, for several series.")] = None,
    country: Annotated[
        str | None, typer.Option(help="Holiday country (ISO code, e.g. US); default: detected.")
    ] = None,
    season: Annotated[
        list[int] | None, typer.Option(help="Seasonal period in rows (repeatable); default: detected.")
    ] = None,
    out: Annotated[Path | None, typer.Option(help="Write every forecast row here (.csv/.parquet).")] = None,
    as_json: JSON = False,
    dask: DaskOption = None,
) -> None:
    """Backtest every model on your own series with honest per-series selection."""
    from core.cluster import dask_client
    from core.io import read_frame, write_frame
    from training.forecasting.user import backtest_user_series, to_series

    at_least(horizon, 1, "--horizon")
    output_file(out)
    user = to_series(read_frame(series), time_col, value_col, id_col)
    with dask_client(dask or settings().dask_address) as client, progress() as bar:
        task = bar.add_task("backtesting", total=folds + 2)
        result = backtest_user_series(
            user,
            horizon,
            folds,
            country=country,
            season=tuple(season) if season else None,
            interval=settings().forecast.interval_level,
            on_step=lambda msg: bar.update(task, advance=1, description=msg),
            client=client,
        )
    rows = result.forecasts[result.forecasts["fold"] >= 0]
    if out is not None:
        first = ["id", "ds", "fold", "y", "yhat", "yhat_lower", "yhat_upper", "model", "closed"]
        rest = [c for c in rows.columns if c not in first and c not in ("window", "scale")]
        write_frame(rows[first + rest], out)
    summary = result.summary()
    per_series = result.per_series()
    if as_json:
        records = per_series.astype(object).where(per_series.notna(), None).to_dict("records")
        emit_json(summary | {"per_series": records})
        return
    console.print(
        table(
            "MASE per model (same series and folds)",
            [{"model": m, "mase": v} for m, v in summary["mase"].items()],
        )
    )
    console.print(table("Per series", per_series.to_dict("records")))
    rows = [{"intervals": k, "coverage": v} for k, v in summary["coverage"].items()]
    console.print(table(f"Interval coverage (nominal {summary['interval_level']:.0%})", rows))
