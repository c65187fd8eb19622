"""Backtests of any user series (bring your own data)."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from core.errors import DataError
from training.forecasting.backtest import BacktestResult, backtest_volumes
from training.forecasting.calendar import detect_periods
from training.forecasting.candidates import MODELS, Setup
from training.forecasting.series_checks import check_series


def to_series(
    frame: pd.DataFrame, time_col: str, value_col: str, id_col: str | None = None
) -> dict[str, pd.DataFrame]:
    """Split a user table into (ds, y) frames per id, sorted by time, checking every column."""
    for col in (time_col, value_col, id_col):
        if col and col not in frame.columns:
            raise DataError(
                f"column {col!r} not found; columns are {', '.join(map(str, frame.columns[:10]))}"
            )
    ds = pd.to_datetime(frame[time_col], errors="coerce", utc=True).dt.tz_localize(None)
    if ds.isna().any():
        i = int(ds.isna().to_numpy().argmax())
        raise DataError(f"{time_col!r} at row {i + 1} ({frame[time_col].iloc[i]!r}) is not a timestamp")
    df = pd.DataFrame(
        {"id": frame[id_col].astype(str) if id_col else "series", "ds": ds, "y": frame[value_col]}
    )
    return {
        sid: g.sort_values("ds").reset_index(drop=True)[["ds", "y"]] for sid, g in df.groupby("id", sort=True)
    }


def backtest_user_series(
    series: dict[str, pd.DataFrame],
    horizon: int,
    folds: int,
    country: str | None = None,
    season: tuple[int, ...] | None = None,
    models: tuple[str, ...] = MODELS,
    interval: float = 0.8,
    on_step: Callable[[str], None] | None = None,
    client=None,
) -> BacktestResult:
    """Check every series, then backtest all models on the actual timestamps.

    Args:
        country: holiday country (ISO code); None detects it from the closures, if any.
        season: seasonal periods in rows; None detects them from the timestamps.
        client: a Dask client: the per-series fits run as tasks on its workers.
    """
    for sid, df in series.items():
        check_series(df, folds * horizon, sid)
        series[sid] = df.assign(y=pd.to_numeric(df["y"]).astype(float))
    if season:
        if min(season) < 1:
            raise DataError(f"--season periods must be at least 1 row, got {min(season)}")
        periods = tuple(sorted(season))
    else:
        periods = max((detect_periods(df["ds"]) for df in series.values()), key=lambda p: p[-1])
    setup = Setup(horizon, periods, interval, country)
    return backtest_volumes(series, folds, setup, models, on_step=on_step, client=client)
