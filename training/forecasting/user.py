"""Backtests of any user series (bring your own data)."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from core.errors import DataError
from training.forecasting.backtest import MODELS, BacktestResult, backtest_volumes
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
    settings=None,
    models: tuple[str, ...] = MODELS,
    interval: float = 0.8,
    on_step: Callable[[str], None] | None = None,
) -> BacktestResult:
    """Check every series, then backtest all models on the actual timestamps."""
    periods = set()
    for sid, df in series.items():
        periods.add(check_series(df, horizon + (folds - 1) * horizon, sid))
        series[sid] = df.assign(y=pd.to_numeric(df["y"]).astype(float))
    period = max(periods)
    sub_daily = any((df["ds"].diff().dropna() < pd.Timedelta(days=1)).any() for df in series.values())
    return backtest_volumes(
        series, horizon, folds, period, settings, sub_daily, models, interval, on_step=on_step
    )
