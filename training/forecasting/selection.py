"""Honest per-series selection: the model (or pair ensemble) used for a window is the one with the
lowest mean MASE over the `evidence` windows right before it, so no window is forecast by a choice that
saw it. Intervals are conformal from the same earlier windows' errors of the chosen candidate.
"""

from __future__ import annotations

from itertools import combinations

import numpy as np
import pandas as pd

from training.forecasting.candidates import DEFAULT
from training.forecasting.metrics import mase


def candidate_names(models: tuple[str, ...]) -> list[str]:
    """Every model and the mean of every pair ("ensemble:a+b", names sorted)."""
    pairs = [f"ensemble:{a}+{b}" for a, b in combinations(sorted(models), 2)]
    return list(models) + pairs


def candidate_yhat(frame: pd.DataFrame, name: str) -> np.ndarray:
    members = name.removeprefix("ensemble:").split("+")
    return frame[members].to_numpy(float).mean(axis=1)


def window_scores(forecasts: pd.DataFrame, names: list[str]) -> pd.DataFrame:
    """MASE of every candidate per (id, window); NaN where the window's scale is undefined."""
    rows = []
    for (sid, w), g in forecasts.groupby(["id", "window"], sort=True):
        row = {"id": sid, "window": w}
        for name in names:
            row[name] = mase(g["y"], candidate_yhat(g, name), g["scale"].iloc[0])
        rows.append(row)
    return pd.DataFrame(rows).set_index(["id", "window"])


def choose(evidence: pd.DataFrame, models: tuple[str, ...]) -> str:
    """Lowest mean MASE over the evidence windows; the default where there is none."""
    mean = evidence.mean(skipna=True) if len(evidence) else pd.Series(dtype=float)
    mean = mean.dropna()
    if mean.empty:
        return next((m for m in DEFAULT if m in models), models[0])
    return str(mean.idxmin())


def _half_width(forecasts: pd.DataFrame, name: str, level: float) -> float:
    if forecasts.empty:
        return float("nan")
    err = np.abs(forecasts["y"] - candidate_yhat(forecasts, name))
    # split-conformal quantile with its finite-sample correction
    return float(np.quantile(err, min(1.0, level * (1 + 1 / len(err)))))


def select_honestly(
    forecasts: pd.DataFrame, models: tuple[str, ...], evidence: int, level: float
) -> tuple[pd.DataFrame, dict[str, str], dict[str, float]]:
    """Add the honest `model`, `yhat`, `yhat_lower`, `yhat_upper` to every backtest row.

    Returns:
        (rows, the choice for the next window per series, its conformal half-width per series);
        the last two describe the model that ships.
    """
    names = candidate_names(models)
    scores = window_scores(forecasts, names)
    parts, final, widths = [], {}, {}
    for sid, g in forecasts.groupby("id", sort=True):
        windows = sorted(g["window"].unique())
        for w in [*windows, windows[-1] + 1]:
            before = [v for v in windows if w - evidence <= v < w]
            name = choose(scores.loc[[(sid, v) for v in before]], models)
            past = g[g["window"].isin(before)]
            width = _half_width(past, name, level)
            if w > windows[-1]:
                final[sid], widths[sid] = name, width
                continue
            rows = g[g["window"] == w].copy()
            rows["model"] = name
            rows["yhat"] = candidate_yhat(rows, name)
            rows["yhat_lower"] = np.clip(rows["yhat"] - width, 0, None)
            rows["yhat_upper"] = rows["yhat"] + width
            closed = rows["closed"].to_numpy(bool)
            rows.loc[closed, ["yhat", "yhat_lower", "yhat_upper"]] = 0.0
            parts.append(rows)
    return pd.concat(parts, ignore_index=True), final, widths


def score_table(forecasts: pd.DataFrame, models: tuple[str, ...]) -> pd.DataFrame:
    """MASE per (id, fold) of every model and of "selected", only where all of them are defined,
    so every mean is over the same series and folds."""
    rows = []
    for (sid, k), g in forecasts[forecasts["fold"] >= 0].groupby(["id", "fold"], sort=True):
        scale = g["scale"].iloc[0]
        row = {"id": sid, "fold": k, **{m: mase(g["y"], g[m], scale) for m in models}}
        row["selected"] = mase(g["y"], g["yhat"], scale)
        rows.append(row)
    table = pd.DataFrame(rows).set_index(["id", "fold"])
    return table[np.isfinite(table).all(axis=1)]
