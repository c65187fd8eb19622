"""Behaviour vectors of a partitioned dataset on a Dask cluster: wall time and the peak memory of
the driver and of every worker; print JSON.

Usage:
  python benchmarks/bench_dask_vectors.py write DIR [--customers 1000000] [--chunk 50000] [--days 500]
  python benchmarks/bench_dask_vectors.py run DIR [--dask local:2] [--in-process]
`write` generates the customers in chunks with the project's generator (one chunk in memory at a
time), each chunk one bucket of the dataset. `run` builds the vectors the way
`needradar features build --data DIR --dask local:2` does: every worker reads only its buckets.
`--in-process` also loads the whole dataset here and builds the vectors in one process (the
single-machine path; only for scales that fit).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import pandas as pd

from core.cluster import dask_client
from core.config import load_config
from features.distributed import vectors_on_cluster
from features.generate import generate_sample
from features.partition import BUCKET, dataset_buckets


def peak_gib() -> float:
    """This process's peak resident memory. VmHWM, not ru_maxrss: Linux keeps ru_maxrss across
    exec, so a worker spawned by a large driver would report the driver's peak as its own."""
    with open("/proc/self/status") as status:
        kib = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
    return round(kib / 2**20, 2)


def write(out: Path, customers: int, chunk: int, days: int) -> dict:
    settings = load_config()
    events_total, t0 = 0, time.perf_counter()
    for k, start in enumerate(range(0, customers, chunk)):
        n = min(chunk, customers - start)
        tables = generate_sample(settings, customers=n, days=days, seed=100 + k).events.tables()
        for name, df in tables.items():
            ids = [c for c in df.columns if c.endswith("_id")]
            df = df.assign(**{c: f"k{k:03d}-" + df[c].astype(str) for c in ids})
            folder = out / name / f"{BUCKET}={k:03d}"
            folder.mkdir(parents=True)
            df.to_parquet(folder / "part-0.parquet", index=False)
            events_total += len(df) if name != "customers" else 0
    return {
        "customers": customers,
        "events": events_total,
        "buckets": k + 1,
        "write_seconds": round(time.perf_counter() - t0, 1),
    }


def run(data: Path, address: str, in_process: bool) -> dict:
    settings = load_config()
    customers = pd.read_parquet(data / "customers", columns=["customer_id"])
    last = max(pd.read_parquet(data / "transactions", columns=["ts"])["ts"].max(), pd.Timestamp(0))
    as_of = f"{pd.Timestamp(last):%Y-%m-%d}"
    with dask_client(address) as client:
        t0 = time.perf_counter()
        vectors, workers = vectors_on_cluster(client, data, as_of, settings)
        seconds = time.perf_counter() - t0
        worker_peaks = client.run(peak_gib)
    result = {
        "customers": len(customers),
        "buckets": len(dataset_buckets(data)),
        "active_at_as_of": len(vectors),
        "dask": address,
        "dask_seconds": round(seconds, 1),
        "peak_gib_driver": peak_gib(),
        "peak_gib_workers": [round(v, 2) for v in worker_peaks.values()],
        "workers_used": len(workers),
    }
    if in_process:
        from features.load import load_event_data
        from features.vectors import build_vectors

        t0 = time.perf_counter()
        whole = build_vectors(load_event_data(data, settings), as_of, settings)
        result["in_process_seconds_with_load"] = round(time.perf_counter() - t0, 1)
        result["in_process_peak_gib"] = peak_gib()
        result["same_vectors"] = bool(
            whole.sort_values("customer_id")
            .reset_index(drop=True)
            .equals(vectors.sort_values("customer_id").reset_index(drop=True))
        )
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["write", "run"])
    parser.add_argument("dir", type=Path)
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--chunk", type=int, default=50_000)
    parser.add_argument("--days", type=int, default=500)
    parser.add_argument("--dask", default="local:2")
    parser.add_argument("--in-process", action="store_true")
    args = parser.parse_args()
    if args.mode == "write":
        out = write(args.dir, args.customers, args.chunk, args.days)
    else:
        out = run(args.dir, args.dask, args.in_process)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
