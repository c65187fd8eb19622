"""Build behaviour vectors for 100,000 customers with >= 10 million events; print JSON.

Usage: .venv/bin/python benchmarks/bench_features.py [--customers 100000] [--days 730]
The peer in the same run is the same computation done per customer partition (4 partitions),
the way a distributed engine would run it.
"""

from __future__ import annotations

import argparse
import json
import time

import pandas as pd

from features.contract import EventData
from features.generate import generate_sample
from features.vectors import build_vectors
from needradar.config import load_config


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--days", type=int, default=730)
    parser.add_argument("--partitions", type=int, default=4)
    args = parser.parse_args()
    settings = load_config()
    t0 = time.perf_counter()
    events = generate_sample(settings, customers=args.customers, days=args.days, seed=1).events
    generate_s = time.perf_counter() - t0
    n_events = sum(len(df) for name, df in events.tables().items() if name != "customers")
    as_of = str(events.last_event_ts().date())

    t0 = time.perf_counter()
    vectors = build_vectors(events, as_of, settings)
    build_s = time.perf_counter() - t0

    # Per partition: the population statistic is computed once and passed in.
    avg = float(vectors["usage_sessions_90d"].mean())
    t0 = time.perf_counter()
    ids = events.customers["customer_id"]
    parts = []
    for k in range(args.partitions):
        mine = set(ids[ids.str[-6:].astype(int) % args.partitions == k])
        sub = {n: df[df["customer_id"].isin(mine)] for n, df in events.tables().items()}
        parts.append(build_vectors(EventData(**sub), as_of, settings, usage_average=avg))
    partitioned_s = time.perf_counter() - t0
    merged = pd.concat(parts).set_index("customer_id").loc[vectors["customer_id"]]
    same_counts = bool((merged["tickets_open"].to_numpy() == vectors["tickets_open"].to_numpy()).all())

    print(
        json.dumps(
            {
                "customers": args.customers,
                "active_at_as_of": len(vectors),
                "events": n_events,
                "features": vectors.shape[1] - 1,
                "generate_seconds": round(generate_s, 2),
                "build_vectors_seconds": round(build_s, 2),
                "events_per_second": round(n_events / build_s),
                "partitioned_seconds": round(partitioned_s, 2),
                "partitions": args.partitions,
                "partitioned_matches_whole": same_counts,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
