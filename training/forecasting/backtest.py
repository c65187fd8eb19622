"""Rolling-origin backtests (refit at each origin), per-series model selection and conformal widths."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from joblib import Parallel, delayed

from core.config import Settings
from training.forecasting.baselines import moving_average, seasonal_naive
from training.forecasting.conformal import conformal_widths
from training.forecasting.global_lgbm import GlobalLGBM
from training.forecasting.metrics import coverage, mase, seasonal_naive_scale
from training.forecasting.prophet_model import fit_prophet, predict_prophet

logger = logging.getLogger(__name__)
MODELS = ("prophet", "lightgbm", "seasonal_naive", "moving_average")


@dataclass
class BacktestResult:
    forecasts: pd.DataFrame  # id, ds, fold, y, one column per model, prophet_lower/upper
    scores: pd.DataFrame  # id, model, mase (mean over folds)
    selection: pd.Series  # id -> chosen model ("ensemble:a+b" for a pair)
    widths: dict[str, dict[str, float]]  # id -> model -> conformal half-width
    coverage: dict[str, float]  # model -> empirical coverage of its intervals
    fit_seconds: dict[str, float] = field(default_factory=dict)

    def summary(self) -> dict:
        mean = self.scores.groupby("model")["mase"].mean()
        return {
            "mase": {k: round(float(v), 4) for k, v in mean.items()},
            "coverage": {k: round(v, 4) for k, v in self.coverage.items()},
            "fit_seconds": {k: round(v, 3) for k, v in self.fit_seconds.items()},
            "selected": self.selection.value_counts().to_dict(),
        }


def _prophet_job(sid, train, test_ds, settings, sub_daily, interval):
    t0 = time.perf_counter()
    fc = predict_prophet(fit_prophet(train, settings, sub_daily, interval), test_ds)
    return sid, fc, time.perf_counter() - t0


def backtest_volumes(
    series: dict[str, pd.DataFrame],
    horizon: int,
    folds: int,
    period: int,
    settings: Settings | None,
    sub_daily: bool = False,
    models: tuple[str, ...] = MODELS,
    interval: float = 0.8,
    n_jobs: int = 2,
    promo_days: set | None = None,
    on_step: Callable[[str], None] | None = None,
) -> BacktestResult:
    """Folds are the last `folds` non-overlapping windows of `horizon` rows, each forecast by models
    refit on everything before it. MASE is scaled by each fold's in-sample seasonal naive error.

    `on_step(description)` is called after each fold (for progress bars)."""
    rows, seconds = [], {m: 0.0 for m in models}
    for k in range(folds):
        cut = {sid: len(df) - (folds - k) * horizon for sid, df in series.items()}
        train = {sid: df.iloc[: cut[sid]].reset_index(drop=True) for sid, df in series.items()}
        test = {
            sid: df.iloc[cut[sid] : cut[sid] + horizon].reset_index(drop=True) for sid, df in series.items()
        }
        preds = {
            sid: pd.DataFrame({"id": sid, "ds": t["ds"], "fold": k, "y": t["y"]}) for sid, t in test.items()
        }
        if "lightgbm" in models:
            t0 = time.perf_counter()
            g = GlobalLGBM(horizon, period, promo_days=promo_days).fit(train)
            for sid in series:
                preds[sid]["lightgbm"] = g.predict(sid, train[sid], test[sid]["ds"])
            seconds["lightgbm"] += time.perf_counter() - t0
        if "prophet" in models:
            jobs = Parallel(n_jobs=n_jobs)(
                delayed(_prophet_job)(sid, train[sid], test[sid]["ds"], settings, sub_daily, interval)
                for sid in series
            )
            for sid, fc, s in jobs:
                preds[sid]["prophet"] = fc["yhat"].to_numpy()
                preds[sid]["prophet_lower"] = fc["yhat_lower"].to_numpy()
                preds[sid]["prophet_upper"] = fc["yhat_upper"].to_numpy()
                seconds["prophet"] += s
        for sid in series:
            hist = train[sid]["y"].to_numpy(float)
            t0 = time.perf_counter()
            if "seasonal_naive" in models:
                preds[sid]["seasonal_naive"] = seasonal_naive(hist, horizon, period)
            if "moving_average" in models:
                preds[sid]["moving_average"] = moving_average(hist, horizon, period)
            seconds["seasonal_naive"] = seconds.get("seasonal_naive", 0) + time.perf_counter() - t0
            preds[sid]["scale"] = seasonal_naive_scale(hist, period)
            rows.append(preds[sid])
        logger.debug("backtest fold %d/%d done", k + 1, folds)
        if on_step is not None:
            on_step(f"backtest fold {k + 1}/{folds} done")
    forecasts = pd.concat(rows, ignore_index=True)
    return _score(forecasts, models, interval, seconds, len(series) * folds)


def _score(forecasts: pd.DataFrame, models, interval: float, seconds: dict, fits: int) -> BacktestResult:
    scores = []
    for (sid, k), g in forecasts.groupby(["id", "fold"], sort=False):
        for m in models:
            scores.append({"id": sid, "fold": k, "model": m, "mase": mase(g["y"], g[m], g["scale"].iloc[0])})
    per_fold = pd.DataFrame(scores)
    table = per_fold.groupby(["id", "model"], sort=False)["mase"].mean().unstack()
    selection, pair_scores = {}, []
    for sid, row in table.iterrows():
        best2 = sorted(row.sort_values().index[:2])  # one name per pair
        g = forecasts[forecasts["id"] == sid]
        ens = np.mean([g[best2[0]], g[best2[1]]], axis=0)
        ens_mase = np.mean(
            [
                mase(gf["y"], ens[(g["fold"] == k).to_numpy()], gf["scale"].iloc[0])
                for k, gf in g.groupby("fold")
            ]
        )
        name = f"ensemble:{best2[0]}+{best2[1]}"
        forecasts.loc[g.index, "ensemble"] = ens
        pair_scores.append({"id": sid, "model": "ensemble", "mase": ens_mase})
        selection[sid] = name if ens_mase < row.min() else row.idxmin()
    scores = pd.concat(
        [table.stack().rename("mase").reset_index(), pd.DataFrame(pair_scores)], ignore_index=True
    )
    sel = pd.Series(selection)
    forecasts["yhat"] = [
        r["ensemble"] if sel[r["id"]].startswith("ensemble") else r[sel[r["id"]]]
        for _, r in forecasts.iterrows()
    ]
    selected = [
        {"id": sid, "model": "selected", "mase": _sel_mase(forecasts[forecasts["id"] == sid])}
        for sid in sel.index
    ]
    scores = pd.concat([scores, pd.DataFrame(selected)], ignore_index=True)
    widths, cover = conformal_widths(forecasts, list(models) + ["ensemble", "yhat"], interval)
    if "prophet" in models:
        cover["prophet"] = coverage(forecasts["y"], forecasts["prophet_lower"], forecasts["prophet_upper"])
    fit_seconds = {f"{m}_per_series_fold": s / max(fits, 1) for m, s in seconds.items()}
    return BacktestResult(forecasts, scores, sel, widths, cover, fit_seconds)


def _sel_mase(g: pd.DataFrame) -> float:
    return float(np.mean([mase(gf["y"], gf["yhat"], gf["scale"].iloc[0]) for _, gf in g.groupby("fold")]))
