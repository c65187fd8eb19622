"""Behaviour vectors of a partitioned dataset on a Dask cluster: wall time and the peak memory of
the driver and of every worker; print JSON.

Usage:
  python benchmarks/bench_dask_vectors.py write DIR [--customers 1000000] [--chunk 50000] [--days 500]
                                                   [--jobs 2] [--distinct N]
  python benchmarks/bench_dask_vectors.py run DIR [--dask local:2 | none] [--in-process]
`write` generates the customers in chunks with the project's generator, each chunk one bucket of
the dataset, `--jobs` chunks at a time in separate processes (one chunk in memory per process);
`--distinct N` generates only N different chunks and writes each again under new ids (bucket k
repeats chunk k mod N), for scales where generating every customer would take too long.
`run` builds the vectors the way `needradar features build --data DIR --dask local:2` does: every
worker reads only its buckets. It reports wall and CPU seconds of the driver and every worker.
`--in-process` also loads the whole dataset here and builds the vectors in one process (the
single-machine path; only for scales that fit).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pandas as pd
from proc_stats import cpu_seconds, peak_gib

from core.cluster import dask_client
from core.config import load_config
from features.distributed import vectors_on_cluster
from features.generate import generate_sample
from features.partition import BUCKET, dataset_buckets


def write_chunks(out: Path, distinct: int, buckets: list[int], customers: int, days: int) -> int:
    """Generate chunk number `distinct` once and write it as each of `buckets` of every table (the
    ids prefixed by the bucket, so that every bucket holds its own customers); return the events."""
    tables = generate_sample(load_config(), customers=customers, days=days, seed=100 + distinct).events
    events = 0
    for k in buckets:
        for name, df in tables.tables().items():
            ids = [c for c in df.columns if c.endswith("_id")]
            df = df.assign(**{c: f"k{k:03d}-" + df[c].astype(str) for c in ids})
            folder = out / name / f"{BUCKET}={k:03d}"
            folder.mkdir(parents=True)
            df.to_parquet(folder / "part-0.parquet", index=False)
            events += len(df) if name != "customers" else 0
    return events


def write(out: Path, customers: int, chunk: int, days: int, jobs: int, distinct: int | None) -> dict:
    t0 = time.perf_counter()
    if customers % chunk:
        raise SystemExit("--customers must be a multiple of --chunk")
    n = customers // chunk
    distinct = min(distinct or n, n)
    buckets = [list(range(d, n, distinct)) for d in range(distinct)]  # bucket k repeats chunk k % distinct
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        events = sum(
            pool.map(
                write_chunks,
                [out] * distinct,
                range(distinct),
                buckets,
                [chunk] * distinct,
                [days] * distinct,
            )
        )
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {
        "customers": customers,
        "events": events,
        "buckets": n,
        "distinct_chunks": distinct,
        "jobs": jobs,
        "write_seconds": round(time.perf_counter() - t0, 1),
        "write_cpu_seconds": round(children.ru_utime + children.ru_stime, 1),
        "load_average": os.getloadavg(),
    }


def on_cluster(data: Path, address: str, as_of: str, settings) -> tuple[pd.DataFrame, dict]:
    """The vectors as `features build --dask ADDRESS` builds them, with wall, CPU and peaks."""
    load_before = os.getloadavg()
    t_start, cpu_start = time.perf_counter(), cpu_seconds()
    with dask_client(address) as client:
        t0 = time.perf_counter()
        vectors, workers = vectors_on_cluster(client, data, as_of, settings)
        seconds = time.perf_counter() - t0
        worker_peaks = client.run(peak_gib)
        worker_cpu = client.run(cpu_seconds)
    return vectors, {
        "active_at_as_of": len(vectors),
        "dask": address,
        "dask_seconds": round(seconds, 1),
        "dask_seconds_with_cluster_start": round(time.perf_counter() - t_start, 1),
        "cpu_seconds_driver": round(cpu_seconds() - cpu_start, 1),
        "cpu_seconds_workers": [round(v, 1) for v in worker_cpu.values()],
        "peak_gib_driver": peak_gib(),
        "peak_gib_workers": [round(v, 2) for v in worker_peaks.values()],
        "workers_used": len(workers),
        "load_average_before_after": [load_before, os.getloadavg()],
    }


def run(data: Path, address: str, in_process: bool) -> dict:
    """`--dask none` skips the cluster peer (only with `--in-process`)."""
    settings = load_config()
    customers = pd.read_parquet(data / "customers", columns=["customer_id"])
    last = max(pd.read_parquet(data / "transactions", columns=["ts"])["ts"].max(), pd.Timestamp(0))
    as_of = f"{pd.Timestamp(last):%Y-%m-%d}"
    result = {"customers": len(customers), "buckets": len(dataset_buckets(data))}
    vectors = None
    if address != "none":
        vectors, measured = on_cluster(data, address, as_of, settings)
        result.update(measured)
    if in_process:
        from features.load import load_event_data
        from features.vectors import build_vectors

        t0, cpu0 = time.perf_counter(), cpu_seconds()
        whole = build_vectors(load_event_data(data, settings), as_of, settings)
        result["in_process_seconds_with_load"] = round(time.perf_counter() - t0, 1)
        result["in_process_cpu_seconds"] = round(cpu_seconds() - cpu0, 1)
        result["in_process_peak_gib"] = peak_gib()
        if vectors is not None:
            result["same_vectors"] = bool(
                whole.sort_values("customer_id")
                .reset_index(drop=True)
                .equals(vectors.sort_values("customer_id").reset_index(drop=True))
            )
        result["load_average_after_in_process"] = os.getloadavg()
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
    parser.add_argument("--jobs", type=int, default=2, help="chunks generated at once (write)")
    parser.add_argument(
        "--distinct", type=int, help="generate only this many different chunks and repeat them (write)"
    )
    args = parser.parse_args()
    if args.mode == "write":
        out = write(args.dir, args.customers, args.chunk, args.days, args.jobs, args.distinct)
    else:
        out = run(args.dir, args.dask, args.in_process)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
