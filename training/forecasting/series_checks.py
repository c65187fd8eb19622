"""Checks and shape of one series: actual timestamps, the weekly period in rows, horizon safety."""

from __future__ import annotations

import numpy as np
import pandas as pd

from core.errors import DataError


def weekly_period(ds: pd.Series) -> int:
    """Rows in a typical week: 7 for daily data, 140 for 30-minute weekday business hours."""
    weeks = pd.to_datetime(ds).dt.to_period("W")
    counts = weeks.value_counts()
    full = counts[counts >= counts.max() * 0.9]
    return int(np.median(full)) if len(full) else int(counts.max())


def check_series(df: pd.DataFrame, horizon: int, name: str = "series") -> int:
    """Validate a (ds, y) frame for forecasting; returns its weekly period in rows.

    Raises:
        DataError: a zero horizon, non-numeric or negative values, duplicated timestamps, or a
            series shorter than two seasons plus the horizon.
    """
    if horizon <= 0:
        raise DataError(f"horizon must be at least 1 row, got {horizon}")
    y = pd.to_numeric(df["y"], errors="coerce")
    bad = df.index[y.isna()].tolist()
    if bad:
        raise DataError(
            f"{name}: value {df['y'].iloc[bad[0]]!r} at row {bad[0] + 1} is not a number; fix or drop it"
        )
    neg = df.index[y < 0].tolist()
    if neg:
        raise DataError(
            f"{name}: value {y.iloc[neg[0]]} at row {neg[0] + 1} is negative; volumes cannot be negative"
        )
    dup = df["ds"].duplicated()
    if dup.any():
        i = int(np.flatnonzero(dup.to_numpy())[0])
        raise DataError(
            f"{name}: timestamp {df['ds'].iloc[i]} at row {i + 1} is duplicated; aggregate duplicates first"
        )
    period = weekly_period(df["ds"])
    if len(df) < 2 * period + horizon:
        raise DataError(
            f"{name}: {len(df)} rows are shorter than two seasons ({2 * period} rows) "
            f"plus the horizon ({horizon}); provide more history or a shorter horizon"
        )
    return period
