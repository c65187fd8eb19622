"""Full volume training on the sample data: every daily series of both families, backtests of all
models (Prophet, global LightGBM, baselines), per-series selection and final fits. Prints JSON:
wall seconds, per-series fit cost of each model, backtest MASE per model and for the selection.

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
    metrics = result.forecaster.evaluate(result.holdout)
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
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
