"""Bank calls (fpp3): our backtest selection vs Prophet defaults vs the seasonal naive, same run.

Protocol: 5-minute calls summed into 30-minute buckets, weekdays 07:00-21:00 only (140 rows a
week), horizon 140 rows (one week), the last 4 non-overlapping weeks as folds, each forecast by
models refit on everything before it; MASE scaled by the weekly seasonal naive error of each
fold's training data. Prints JSON.

    .venv/bin/python benchmarks/bench_bank_calls.py [--folds 4]
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import pandas as pd

from features.importers import bank_calls_series
from training.forecasting.metrics import mase, seasonal_naive_scale
from training.forecasting.prophet_model import quiet_stan
from training.forecasting.user import backtest_user_series

HORIZON = 140


def bank_calls_30min() -> pd.DataFrame:
    """30-minute buckets, weekdays 07:00-21:00, at the actual timestamps (no filled gaps)."""
    raw = bank_calls_series()
    raw = raw[(raw["ds"].dt.dayofweek < 5) & raw["ds"].dt.hour.between(7, 20)]
    out = raw.groupby(raw["ds"].dt.floor("30min"))["y"].sum().reset_index()
    return out.sort_values("ds").reset_index(drop=True)


def prophet_defaults(df: pd.DataFrame, folds: int) -> tuple[float, float]:
    """Prophet() with its defaults, refit per fold; returns (MASE, seconds per fit)."""
    from prophet import Prophet

    quiet_stan()
    scores, seconds = [], 0.0
    for k in range(folds):
        cut = len(df) - (folds - k) * HORIZON
        train, test = df.iloc[:cut], df.iloc[cut : cut + HORIZON]
        t0 = time.perf_counter()
        fc = Prophet().fit(train).predict(test[["ds"]])
        seconds += time.perf_counter() - t0
        scores.append(mase(test["y"], fc["yhat"], seasonal_naive_scale(train["y"].to_numpy(), HORIZON)))
    return float(np.mean(scores)), seconds / folds


def selected_out_of_sample(forecasts: pd.DataFrame, models: list[str]) -> float:
    """Selection without hindsight: for fold k >= 1, pick the best model (or the mean of the two
    best) on folds < k, score it on fold k; mean over those folds."""
    per_fold = {
        k: {m: mase(g["y"], g[m], g["scale"].iloc[0]) for m in models} for k, g in forecasts.groupby("fold")
    }
    scores = []
    for k in sorted(per_fold)[1:]:
        past = pd.DataFrame([per_fold[j] for j in per_fold if j < k]).mean()
        best2 = past.sort_values().index[:2]
        g = forecasts[forecasts["fold"] == k]
        past_fc = forecasts[forecasts["fold"] < k]
        ens_past = np.mean(
            [
                mase(f["y"], f[list(best2)].mean(axis=1), f["scale"].iloc[0])
                for _, f in past_fc.groupby("fold")
            ]
        )
        pick = g[list(best2)].mean(axis=1) if ens_past < past.min() else g[past.idxmin()]
        scores.append(mase(g["y"], pick, g["scale"].iloc[0]))
    return float(np.mean(scores))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--folds", type=int, default=4)
    args = ap.parse_args()
    df = bank_calls_30min()
    t0 = time.perf_counter()
    bt = backtest_user_series({"bank_calls": df}, HORIZON, args.folds)
    ours_seconds = time.perf_counter() - t0
    summary = bt.summary()
    p_mase, p_sec = prophet_defaults(df, args.folds)
    print(
        json.dumps(
            {
                "rows": len(df),
                "horizon": HORIZON,
                "folds": args.folds,
                "mase": {
                    "needradar_selected": summary["mase"]["selected"],
                    "needradar_selected_model": bt.selection["bank_calls"],
                    "needradar_selected_without_hindsight": round(
                        selected_out_of_sample(
                            bt.forecasts, ["prophet", "lightgbm", "seasonal_naive", "moving_average"]
                        ),
                        4,
                    ),
                    "prophet_defaults": round(p_mase, 4),
                    "seasonal_naive": summary["mase"]["seasonal_naive"],
                    **{
                        f"needradar_{k}": v
                        for k, v in summary["mase"].items()
                        if k not in ("selected", "seasonal_naive")
                    },
                },
                "coverage": summary["coverage"],
                "fit_seconds": {**summary["fit_seconds"], "prophet_defaults_per_fold": round(p_sec, 3)},
                "needradar_backtest_seconds": round(ours_seconds, 1),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
