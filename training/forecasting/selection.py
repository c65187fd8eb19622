"""Honest per-series selection by forecast pooling: the forecast for a window is the mean of the
TOP_K single models with the lowest error over the `evidence` windows right before it, so no window
is forecast by a choice that saw it.

Why this rule (argued, not tuned on any benchmark): with a few windows of evidence, picking the
single best of many candidates (or pairs) picks noise; the literature on forecast selection and
combination (e.g. Kourentzes, Barrow & Petropoulos 2019, "Another look at forecast selection and
combination: evidence from forecast pooling") finds that an equal-weight mean of the few best
candidates is close to the best single model when the ranking is right and far better when it is
not. The ranking pools evidence: a model's score is half its error on the series itself and half
its error over the family's series in the same earlier windows, each as a ratio to the median
model of that (series, window), so no series' scale dominates. With no evidence at all the
forecast is the median of every model, which no single wild model can move.
Intervals are conformal from the same earlier windows' errors of the chosen combination.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from training.forecasting.metrics import mase

TOP_K = 3  # models in the pooled mean, at most
TOLERANCE = float("inf")  # ... each at most this much (relative) worse than the best
OWN_WEIGHT = 0.5  # the series' own evidence in its score; the rest is its family's
ANCHOR: tuple[str, ...] = ()  # models always in the combination


def members(name: str) -> list[str]:
    """The models a choice combines: "lightgbm", "ensemble:a+b+c" (mean), "median:a+b+..."."""
    return name.split(":", 1)[-1].split("+")


def candidate_yhat(frame: pd.DataFrame, name: str) -> np.ndarray:
    values = frame[members(name)].to_numpy(float)
    return np.median(values, axis=1) if name.startswith("median:") else values.mean(axis=1)


def window_scores(forecasts: pd.DataFrame, models: tuple[str, ...]) -> pd.DataFrame:
    """MASE of every model per (id, window), as a ratio to that row's median model (NaN where
    the window's scale is undefined), with the window's first and last timestamps."""
    rows = []
    for (sid, w), g in forecasts.groupby(["id", "window"], sort=True):
        row = {m: mase(g["y"], g[m], g["scale"].iloc[0]) for m in models}
        rows.append({"id": sid, "window": w, "start": g["ds"].min(), "end": g["ds"].max(), **row})
    table = pd.DataFrame(rows).set_index(["id", "window"])
    errors = table[list(models)]
    median = errors.median(axis=1).where(lambda m: m > 0)
    table[list(models)] = errors.div(median, axis=0)
    return table


def choose(
    own: pd.DataFrame,
    family: pd.DataFrame,
    models: tuple[str, ...],
    top_k: int = TOP_K,
    tolerance: float = TOLERANCE,
    own_weight: float = OWN_WEIGHT,
    anchor: tuple[str, ...] = ANCHOR,
    combine: str = "ensemble",
) -> str:
    """The mean of the best models by (own + family) / 2 relative error: at most `top_k`, each
    within `tolerance` of the best; the median of every model where there is no evidence.

    Args:
        anchor: models always in the combination (a prior), the best others fill it up to `top_k`.
        combine: "ensemble" (mean) or "median" of the chosen models.
    """
    own_mean, fam_mean = own[list(models)].mean(), family[list(models)].mean()
    score = (own_weight * own_mean + (1 - own_weight) * fam_mean).fillna(own_mean).fillna(fam_mean).dropna()
    if score.empty:
        return models[0] if len(models) == 1 else "median:" + "+".join(sorted(models))
    score = score.sort_values(kind="stable")
    best = [m for m in score[score <= score.iloc[0] * (1 + tolerance)].index if m not in anchor]
    top = sorted(([m for m in anchor if m in models] + best)[: max(top_k, len(anchor))])
    return top[0] if len(top) == 1 else f"{combine}:" + "+".join(top)


def _half_width(forecasts: pd.DataFrame, name: str, level: float) -> float:
    if forecasts.empty:
        return float("nan")
    err = np.abs(forecasts["y"] - candidate_yhat(forecasts, name))
    # split-conformal quantile with its finite-sample correction
    return float(np.quantile(err, min(1.0, level * (1 + 1 / len(err)))))


def select_honestly(
    forecasts: pd.DataFrame,
    models: tuple[str, ...],
    evidence: int,
    level: float,
    family: dict[str, str] | None = None,
    top_k: int = TOP_K,
    tolerance: float = TOLERANCE,
    own_weight: float = OWN_WEIGHT,
    anchor: tuple[str, ...] = ANCHOR,
    combine: str = "ensemble",
) -> tuple[pd.DataFrame, dict[str, str], dict[str, float]]:
    """Add the honest `model`, `yhat`, `yhat_lower`, `yhat_upper` to every backtest row.

    Args:
        evidence: the number of windows right before a window that its choice may use.
        family: series id -> family whose series pool their evidence (default: one family).
            Another series' window counts only if it ended before this window starts.

    Returns:
        (rows, the choice for the next window per series, its conformal half-width per series);
        the last two describe the model that ships.
    """
    family = family or {}
    scores = window_scores(forecasts, models)
    parts, final, widths = [], {}, {}
    for sid, g in forecasts.groupby("id", sort=True):
        mates = [s for s in scores.index.unique("id") if family.get(s, "") == family.get(sid, "")]
        pool = scores.loc[mates]
        windows = sorted(g["window"].unique())
        for w in [*windows, windows[-1] + 1]:
            before = [v for v in windows if w - evidence <= v < w]
            start = scores.loc[(sid, w), "start"] if w <= windows[-1] else pd.Timestamp.max
            in_pool = pool.index.get_level_values("window").isin(before) & (pool["end"] < start)
            name = choose(
                scores.loc[[(sid, v) for v in before]],
                pool[in_pool],
                models,
                top_k,
                tolerance,
                own_weight,
                anchor,
                combine,
            )
            width = _half_width(g[g["window"].isin(before)], name, level)
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
