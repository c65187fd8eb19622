"""Rolling-origin backtests with honest per-series selection.

The windows are the last `inner + folds` non-overlapping stretches of `horizon` rows; each is
forecast by every candidate refit on everything before it (candidates.py, the same functions the
shipped model uses). The first `inner` windows only give evidence; the `folds` windows after them
are reported, each forecast by the choice made on the `inner` windows before it,
pooled over the series of its family (selection.py). MASE is scaled by each window's in-sample
seasonal naive error.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import pandas as pd

from core.cluster import run_calls
from training.forecasting.candidates import (
    MODELS,
    Setup,
    Window,
    lgbm_forecasts,
    local_forecasts,
    local_n_jobs,
)
from training.forecasting.metrics import coverage, seasonal_naive_scale
from training.forecasting.selection import score_table, select_honestly

logger = logging.getLogger(__name__)
INNER = 4  # windows of evidence behind every choice (chosen on benchmarks/validate_selection.py)


@dataclass
class BacktestResult:
    forecasts: pd.DataFrame  # id, ds, fold, y, model, yhat(+bounds), one column per model
    scores: pd.DataFrame  # (id, fold) x (models + "selected"): MASE, rows where all are defined
    selection: pd.Series  # id -> the choice for the next window (what ships)
    widths: dict[str, float]  # id -> conformal half-width of that choice
    interval: float
    inner: int
    fit_seconds: dict[str, float] = field(default_factory=dict)

    def per_series(self) -> pd.DataFrame:
        """Per series: MASE of every model and of the honest selection, and the model it ships."""
        table = self.scores.groupby("id").mean().round(4)
        table.insert(0, "ships", self.selection.reindex(table.index))
        return table.reset_index()

    def coverage(self) -> dict[str, float]:
        rows = self.forecasts[self.forecasts["fold"] >= 0].dropna(subset=["yhat_lower"])
        out = {"selected_conformal": coverage(rows["y"], rows["yhat_lower"], rows["yhat_upper"])}
        if "prophet_lower" in rows:
            out["prophet"] = coverage(rows["y"], rows["prophet_lower"], rows["prophet_upper"])
        return out

    def summary(self) -> dict:
        return {
            "mase": {k: round(float(v), 4) for k, v in self.scores.mean().items()},
            "series_folds_scored": len(self.scores),
            "interval_level": self.interval,
            "coverage": {k: round(v, 4) for k, v in self.coverage().items()},
            "fit_seconds": {k: round(v, 3) for k, v in self.fit_seconds.items()},
            "selected": self.selection.value_counts().to_dict(),
        }


def usable_inner(lengths: list[int], horizon: int, folds: int, period: int, inner: int = INNER) -> int:
    """Evidence windows the shortest series allows (two seasons must stay before the first)."""
    spare = (min(lengths) - 2 * period - folds * horizon) // horizon
    return max(0, min(inner, spare))


def plan_backtest(
    series: dict[str, pd.DataFrame],
    folds: int,
    setup: Setup,
    models: tuple[str, ...],
    family: dict[str, str],
    inner: int = INNER,
) -> tuple[int, list[tuple], list[tuple]]:
    """The windows of a backtest and every fit they need, as `(fn, args)` calls.

    Returns:
        the evidence windows the shortest series allows; per window and family
        (window, history, actuals, Window); the calls: each family and window's global LightGBM
        first (the longest), then one per series and window for the local models.
    """
    h = setup.horizon
    inner = usable_inner([len(df) for df in series.values()], h, folds, setup.period, inner)
    plans = []
    for w in range(inner + folds):
        back = (inner + folds - w) * h
        for fam in sorted(set(family.values())):
            members = [sid for sid in sorted(series) if family[sid] == fam]
            train = {sid: series[sid].iloc[: len(series[sid]) - back] for sid in members}
            test = {sid: series[sid].iloc[len(series[sid]) - back :].head(h) for sid in members}
            future = {sid: t["ds"] for sid, t in test.items()}
            plans.append((w, train, test, Window.plan(train, future, setup)))
    # Every fit of every window is one call, submitted at once, so that no worker waits for a
    # window or a family to finish.
    calls = [(lgbm_forecasts, plan.lgbm_job(setup)) for *_, plan in plans if "lightgbm" in models]
    calls += [(local_forecasts, job) for *_, plan in plans for job in plan.local_jobs(setup, models)]
    return inner, plans, calls


def backtest_volumes(
    series: dict[str, pd.DataFrame],
    folds: int,
    setup: Setup,
    models: tuple[str, ...] = MODELS,
    family: dict[str, str] | None = None,
    inner: int = INNER,
    on_step: Callable[[str], None] | None = None,
    client=None,
) -> BacktestResult:
    """Backtest every candidate on every series; select honestly per series and window.

    Args:
        family: series id -> family; one global LightGBM and one calendar per family.
        on_step: called for each window once its forecasts are in (for progress bars).
        client: a Dask client: every fit of every window (per series; per family for the global
            LightGBM) runs as a task on its workers.
    """
    family = family or {sid: "all" for sid in series}
    evidence = inner
    t0 = time.perf_counter()
    inner, plans, calls = plan_backtest(series, folds, setup, models, family, inner)
    window_of = [w for w, *_ in plans if "lightgbm" in models]
    window_of += [w for w, *_, plan in plans for _ in plan.out]
    left = {w: window_of.count(w) for w in set(window_of)}

    def done(i: int) -> None:  # the progress bar advances as each window's last fit comes back
        w = window_of[i]
        left[w] -= 1
        if left[w] == 0 and on_step is not None:
            on_step(f"backtest window {w + 1}/{inner + folds} done")

    results = iter(run_calls(client, calls, local_n_jobs(setup, models), "backtesting", done))
    global_fc = [next(results) if "lightgbm" in models else None for _ in plans]
    rows = []
    for (w, train, test, plan), lgbm in zip(plans, global_fc, strict=True):
        preds = plan.fill(lgbm, [next(results) for _ in plan.out])
        for sid, p in preds.items():
            p.insert(0, "id", sid)
            p.insert(2, "window", w)
            p.insert(3, "fold", w - inner)
            p.insert(4, "y", test[sid]["y"].to_numpy(float))
            p["scale"] = seasonal_naive_scale(train[sid]["y"].to_numpy(float), setup.period)
            rows.append(p)
    seconds = time.perf_counter() - t0
    logger.debug("backtest: %d windows of %d series in %.1f s", inner + folds, len(series), seconds)
    forecasts, final, widths = select_honestly(
        pd.concat(rows, ignore_index=True), tuple(models), evidence, setup.interval, family
    )
    scores = score_table(forecasts, tuple(models))
    fit = {"all_models_per_series_window": seconds / max(len(series) * (inner + folds), 1)}
    return BacktestResult(forecasts, scores, pd.Series(final), widths, setup.interval, inner, fit)
