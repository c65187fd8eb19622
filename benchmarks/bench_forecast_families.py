"""The sample's daily ticket and request series (49) through `forecast backtest --id-col`, beside
the peers on the same series and folds.

The sample is generated with the configured defaults (or read with --data), its daily series are
written as a user's long file (series_id, ds, y) and backtested by `backtest_user_series` with
default settings, the function behind

    needradar forecast backtest --series volumes.csv --time-col ds --value-col y --id-col series_id \\
        --horizon 14 --folds 4

Peers per series, same folds: statsforecast SeasonalNaive(7), AutoETS(7), MSTL(7), Prophet().
Prints JSON.

    nice .venv/bin/python benchmarks/bench_forecast_families.py [--data DIR] [--folds 4]
"""

from __future__ import annotations

import argparse
import json
import time

from bench_bank_calls import compare, peer_scores

from core.config import load_config
from features.volume_series import build_volume_series
from training.forecasting.user import backtest_user_series, to_series

HORIZON = 14


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=None, help="Event data folder (default: generate the sample).")
    ap.add_argument("--folds", type=int, default=4)
    args = ap.parse_args()
    settings = load_config()
    if args.data:
        from features.load import load_event_data

        events = load_event_data(args.data, settings)
    else:
        from features.generate import generate_sample

        events = generate_sample(settings).events
    long = build_volume_series(events, freq="D")[["series_id", "ds", "y"]]
    user = to_series(long, "ds", "y", "series_id")
    t0 = time.perf_counter()
    bt = backtest_user_series({k: v.copy() for k, v in user.items()}, HORIZON, args.folds)
    ours_seconds = time.perf_counter() - t0
    t0 = time.perf_counter()
    peers, peer_seconds = peer_scores(user, HORIZON, args.folds, (7,))
    out = {
        "series": len(user),
        "days": int(long["ds"].nunique()),
        "horizon": HORIZON,
        "folds": args.folds,
        **compare(bt, peers),
        "ships": bt.selection.value_counts().to_dict(),
        "interval_level": bt.interval,
        "coverage": bt.summary()["coverage"],
        "needradar_backtest_seconds": round(ours_seconds, 1),
        "peers_seconds": round(time.perf_counter() - t0, 1),
        "peer_seconds_per_fit": peer_seconds,
    }
    print(json.dumps(out, indent=2, default=str))


if __name__ == "__main__":
    main()
