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

from core.config import load_config
from features.contract import EventData
from features.generate import generate_sample
from features.vectors import add_population_features, build_vectors, customer_vectors


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

    # Per partition: each customer's own features, then one pass over all of them for the features
    # relative to the population. Splitting the tables is timed apart: a distributed engine holds
    # its partitions already.
    t0 = time.perf_counter()
    ids = events.customers["customer_id"]
    subsets = []
    for k in range(args.partitions):
        mine = set(ids[ids.str[-6:].astype(int) % args.partitions == k])
        subsets.append(
            EventData(**{n: df[df["customer_id"].isin(mine)] for n, df in events.tables().items()})
        )
    split_s = time.perf_counter() - t0
    part_s, parts = [], []
    for sub in subsets:
        t0 = time.perf_counter()
        parts.append(customer_vectors(sub, as_of, settings))
        part_s.append(time.perf_counter() - t0)
    t0 = time.perf_counter()
    merged = add_population_features(pd.concat(parts, ignore_index=True), settings)
    population_s = time.perf_counter() - t0
    merged = merged.set_index("customer_id").loc[vectors["customer_id"]].reset_index()
    try:
        pd.testing.assert_frame_equal(
            merged[vectors.columns], vectors, check_dtype=False, check_categorical=False
        )
        same = True
    except AssertionError:
        same = False

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
                "partitions": args.partitions,
                "partition_seconds_each": [round(x, 2) for x in part_s],
                "partition_seconds_max": round(max(part_s), 2),
                "population_pass_seconds": round(population_s, 2),
                "split_seconds": round(split_s, 2),
                "partitioned_equals_whole": same,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
