"""Full volume training on the sample data: every daily series of both families, backtests of all
candidates (Prophet, global LightGBM, statsforecast), honest per-series selection and the refit on
all data. Prints JSON: wall seconds, fit cost, backtest MASE per model and for the honest selection
(same series and folds), and the selection's MASE on the last window (the promotion holdout).

    .venv/bin/python benchmarks/bench_volume_train.py [--data var/data/sample]

Without --data, a sample is generated with the configured defaults (20,000 customers, 2 years).
"""

from __future__ import annotations

import argparse
import json
import time

from core.config import load_config
from features.volume_series import build_volume_series
from training.forecasting.forecaster import train_volume


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=None, help="Event data folder (default: generate the sample).")
    args = ap.parse_args()
    settings = load_config()
    t0 = time.perf_counter()
    if args.data:
        from features.load import load_event_data

        events = load_event_data(args.data, settings)
    else:
        from features.generate import generate_sample

        events = generate_sample(settings).events
    long = build_volume_series(events, freq="D")
    load_seconds = time.perf_counter() - t0
    result = train_volume(long, settings)
    summary = result.backtest.summary()
    metrics = result.holdout_metrics
    print(
        json.dumps(
            {
                "series": int(long["series_id"].nunique()),
                "days": int(long["ds"].nunique()),
                "folds": settings.forecast.backtest_folds,
                "horizon_days": settings.forecast.horizon_days,
                "load_and_series_seconds": round(load_seconds, 1),
                "train_seconds": round(result.seconds, 1),
                "fit_seconds": summary["fit_seconds"],
                "backtest_mase": summary["mase"],
                "coverage": summary["coverage"],
                "selected": summary["selected"],
                "holdout": {k: round(v, 4) for k, v in metrics.items()},
                "series_folds_scored": summary["series_folds_scored"],
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
