"""Volume training (backtest of every model on every series, then the fit) on a Dask cluster vs
in this process, on the same generated daily series; print JSON.

Usage: python benchmarks/bench_dask_forecast.py [--series 500] [--days 400] [--dask local:2]
Both peers run `train_volume` (what `needradar forecast train` runs) with the default settings;
the in-process peer is today's path (Prophet fits shared by joblib over `Setup.n_jobs` processes).
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import pandas as pd

from core.cluster import dask_client
from core.config import load_config
from training.forecasting.forecaster import train_volume


def daily_series(n: int, days: int, seed: int = 0) -> pd.DataFrame:
    """`n` daily volume series: level, trend, weekly profile and Poisson noise; 4 families."""
    rng = np.random.default_rng(seed)
    ds = pd.date_range("2024-01-01", periods=days)
    t = np.arange(days)
    frames = []
    for k in range(n):
        level = rng.uniform(5, 200)
        weekly = 1 + rng.uniform(0.1, 0.6) * np.sin(2 * np.pi * (t + rng.integers(7)) / 7)
        trend = 1 + rng.uniform(-0.3, 0.3) * t / days
        y = rng.poisson(level * weekly * trend).astype(float)
        frames.append(
            pd.DataFrame({"series_id": f"f{k % 4}/s{k:04d}", "family": f"f{k % 4}", "ds": ds, "y": y})
        )
    return pd.concat(frames, ignore_index=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--series", type=int, default=500)
    parser.add_argument("--days", type=int, default=400)
    parser.add_argument("--dask", default="local:2")
    args = parser.parse_args()
    settings = load_config()
    long = daily_series(args.series, args.days)
    t0 = time.perf_counter()
    here = train_volume(long, settings)
    one_s = time.perf_counter() - t0
    with dask_client(args.dask) as client:
        t0 = time.perf_counter()
        there = train_volume(long, settings, client=client)
        cluster_s = time.perf_counter() - t0
        workers = len(client.scheduler_info()["workers"])
    same = here.backtest.forecasts.equals(there.backtest.forecasts)
    print(
        json.dumps(
            {
                "series": args.series,
                "days": args.days,
                "models": list(settings.forecast.models),
                "backtest_folds": settings.forecast.backtest_folds,
                "in_process_seconds": round(one_s, 1),
                "dask": args.dask,
                "dask_workers": workers,
                "dask_seconds": round(cluster_s, 1),
                "speed_up": round(one_s / cluster_s, 2),
                "same_backtest_forecasts": bool(same),
                "same_selection": here.backtest.selection.to_dict() == there.backtest.selection.to_dict(),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
