"""Forecast accuracy: MASE against the in-sample seasonal naive, and interval coverage."""

from __future__ import annotations

import numpy as np


def seasonal_naive_scale(train_y: np.ndarray, period: int) -> float:
    """Mean absolute error of the seasonal naive forecast inside the training data."""
    train_y = np.asarray(train_y, dtype=float)
    if len(train_y) <= period:
        return float("nan")
    scale = np.mean(np.abs(train_y[period:] - train_y[:-period]))
    return float(scale) if scale > 0 else float("nan")


def mase(y: np.ndarray, yhat: np.ndarray, scale: float) -> float:
    return float(np.mean(np.abs(np.asarray(y, float) - np.asarray(yhat, float))) / scale)


def coverage(y: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> float:
    y = np.asarray(y, float)
    return float(np.mean((y >= lower) & (y <= upper)))
