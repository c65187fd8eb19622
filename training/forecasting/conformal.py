"""Split-conformal intervals from rolling-origin backtest errors, with cross-fitted coverage."""

from __future__ import annotations

import numpy as np
import pandas as pd


def conformal_widths(
    forecasts: pd.DataFrame, models: list[str], level: float
) -> tuple[dict[str, dict[str, float]], dict[str, float]]:
    """Half-widths and their empirical coverage from backtest rows (id, fold, y, one column per model).

    The half-width of a series and model is the `level` quantile of its absolute backtest errors.
    Coverage is cross-fitted: each fold's rows are judged against the widths of the other folds,
    so it estimates how the intervals do on unseen data.

    Returns:
        (widths: id -> model -> half-width, coverage: "<model>_conformal" -> share of rows inside;
        the column "yhat", when given, is reported as "selected_conformal").
    """
    widths: dict[str, dict[str, float]] = {}
    hits: dict[str, list[float]] = {m: [] for m in models}
    for sid, g in forecasts.groupby("id", sort=False):
        widths[sid] = {}
        for m in models:
            err = (g["y"] - g[m]).abs()
            widths[sid][m] = float(np.quantile(err, level)) if len(err) else float("nan")
            for k in g["fold"].unique():
                other = err[g["fold"] != k]
                if len(other):
                    hits[m] += list((err[g["fold"] == k] <= np.quantile(other, level)).astype(float))
    cover = {f"{m}_conformal": float(np.mean(h)) for m, h in hits.items() if h and m != "yhat"}
    if hits.get("yhat"):
        cover["selected_conformal"] = float(np.mean(hits["yhat"]))
    return widths, cover
