"""The promotion gate: compare a challenger with the champion on the challenger's holdout.

A metric that is missing or not finite never passes: the gate says which one it could not compare.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import pandas as pd

from core.config import Settings

Task = Literal["churn", "volume", "feedback"]

GATE_METRICS: dict[Task, tuple[str, ...]] = {"churn": ("auc", "brier"), "volume": ("mase",)}


def not_finite(task: Task, comparison: dict[str, dict[str, float]]) -> list[str]:
    """The compared metrics that are missing or not finite, as "who metric" (e.g. "champion mase")."""
    return [
        f"{who} {k}"
        for who, metrics in comparison.items()
        for k in GATE_METRICS[task]
        if not np.isfinite(metrics.get(k, np.nan))
    ]


def gate(task: Task, new: dict[str, float], old: dict[str, float], settings: Settings) -> tuple[bool, str]:
    """Whether the challenger (`new`) may replace the champion (`old`); a NaN never passes."""
    bad = not_finite(task, {"challenger": new, "champion": old})
    if bad:
        return False, f"cannot compare: {', '.join(bad)} is not a finite number"
    if task == "churn":
        tol = settings.churn.promote_auc_tolerance
        if new["auc"] < old["auc"] - tol:
            return False, f"challenger AUC {new['auc']:.4f} is below champion {old['auc']:.4f} - {tol}"
        if new["brier"] > old["brier"] + 1e-12:
            return False, f"challenger Brier {new['brier']:.4f} is worse than champion {old['brier']:.4f}"
        return True, "challenger AUC within tolerance and Brier not worse"
    if new["mase"] > old["mase"] + 1e-12:
        return False, f"challenger MASE {new['mase']:.4f} is worse than champion {old['mase']:.4f}"
    return True, "challenger MASE not worse"


def volume_metrics(
    forecaster: Any, holdout: pd.DataFrame, history: pd.DataFrame, ids: list[str], horizon: int
) -> dict[str, float]:
    """MASE (mean over `ids`) and interval coverage of `forecaster` on `holdout`, forecasting from
    the day before the holdout with `history`; the MASE scale comes from that same history, so two
    forecasters given the same history are scored on the same rows with the same scales."""
    from training.forecasting.metrics import coverage, mase, seasonal_naive_scale

    origin = holdout["ds"].min() - pd.Timedelta(days=1)
    if not ids:
        return {"mase": float("nan"), "coverage": float("nan")}
    fc = forecaster.predict(ids, horizon, history=history, origin=origin)
    merged = fc.merge(holdout, on=["series_id", "ds"])
    known = history[history["ds"] <= origin]
    scores = []
    for sid, g in merged.groupby("series_id"):
        scale = seasonal_naive_scale(
            known.loc[known["series_id"] == sid, "y"].to_numpy(), forecaster.setup.period
        )
        if np.isfinite(scale) and scale > 0:
            scores.append(mase(g["y"], g["yhat"], scale))
    return {
        "mase": float(np.mean(scores)) if scores else float("nan"),
        "coverage": coverage(merged["y"], merged["yhat_lower"], merged["yhat_upper"])
        if len(merged)
        else float("nan"),
    }


def compare_on_holdout(
    task: Task, challenger: Any, champion: Any | None, holdout: pd.DataFrame
) -> dict[str, dict[str, float]]:
    """Metrics of the challenger and the champion on the challenger's holdout.

    Volume forecasters both forecast from the day before the holdout with the challenger's history
    (a champion trained earlier would otherwise forecast days before the holdout and score nothing),
    over the series both know and the horizon both can forecast.
    """
    if task == "churn":
        out = {"challenger": challenger.evaluate(holdout)}
        if champion is not None:
            out["champion"] = champion.evaluate(holdout)
        return out
    models = {"challenger": challenger} | ({"champion": champion} if champion is not None else {})
    ids = sorted(set(holdout["series_id"]).intersection(*(m.series_ids_ for m in models.values())))
    days = int((holdout["ds"].max() - holdout["ds"].min()).days) + 1
    horizon = min([days] + [m.horizon for m in models.values()])
    history = challenger.history_frame()
    return {who: volume_metrics(m, holdout, history, ids, horizon) for who, m in models.items()}
