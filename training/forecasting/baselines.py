"""Baselines every series gets: seasonal naive and a moving average."""

from __future__ import annotations

import numpy as np


def seasonal_naive(history: np.ndarray, horizon: int, period: int) -> np.ndarray:
    """Repeat the last full season."""
    last = np.asarray(history, float)[-period:]
    return np.resize(last, horizon) if len(last) == period else np.full(horizon, np.mean(history))


def moving_average(history: np.ndarray, horizon: int, window: int) -> np.ndarray:
    return np.full(horizon, float(np.mean(np.asarray(history, float)[-window:])))
