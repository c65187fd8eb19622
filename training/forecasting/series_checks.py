"""Checks of one series before forecasting: numbers, no duplicates, enough seasons for the horizon."""

from __future__ import annotations

import numpy as np
import pandas as pd

from core.errors import DataError
from training.forecasting.calendar import detect_periods


def check_series(df: pd.DataFrame, horizon: int, name: str = "series") -> int:
    """Validate a (ds, y) frame for forecasting; returns its main seasonal period in rows.

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
    period = detect_periods(df["ds"])[-1]
    if len(df) < 2 * period + horizon:
        raise DataError(
            f"{name}: {len(df)} rows are shorter than two seasons ({2 * period} rows) "
            f"plus the horizon ({horizon}); provide more history or a shorter horizon"
        )
    return period
