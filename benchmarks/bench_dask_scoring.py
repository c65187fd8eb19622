"""Scoring with reasons for the top customers on a Dask cluster vs in this process; print JSON.

Usage: python benchmarks/bench_dask_scoring.py [--customers 1000000] [--top 100000] [--dask local:2]
The model is trained on a generated sample with the default settings; its customers' vectors
are repeated (with new ids) up to `--customers` rows. Both peers call `score_customers`, what
`needradar churn score --top N` runs; the cluster peer broadcasts the model once. The peaks are
of the whole process (VmHWM): the in-process one includes training the model and building
the vectors; the driver's is the maximum over both peers.
"""

from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np
from proc_stats import cpu_seconds, peak_gib

from core.cluster import dask_client
from core.config import load_config
from features.generate import generate_sample
from features.labels import build_training_frame, default_cutoffs
from features.vectors import build_vectors
from serving.scoring import score_customers
from training.churn_recipes import train_churn


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--top", type=int, default=100_000)
    parser.add_argument("--dask", default="local:2")
    args = parser.parse_args()
    settings = load_config()
    events = generate_sample(settings, customers=3000, days=500, seed=3).events
    horizon = settings.churn.horizon_days
    cutoffs = default_cutoffs(events, horizon, settings.churn.cutoff_every_days, settings.churn.n_cutoffs)
    model = train_churn(
        events, settings, build_training_frame(events, settings, cutoffs, horizon), cutoffs, horizon
    ).model
    base = build_vectors(events, f"{events.last_event_ts():%Y-%m-%d}", settings)
    rows = np.resize(np.arange(len(base)), args.customers)
    vectors = base.iloc[rows].reset_index(drop=True)
    vectors["customer_id"] = [f"X{i:08d}" for i in range(len(vectors))]
    load_before = os.getloadavg()
    t0, cpu0 = time.perf_counter(), cpu_seconds()
    here = score_customers(model, vectors, settings, explain_top=args.top)
    one_s, one_cpu = time.perf_counter() - t0, cpu_seconds() - cpu0
    one_peak = peak_gib()  # this process so far: training, the vectors and the in-process scoring
    with dask_client(args.dask) as client:
        workers_cpu0 = client.run(cpu_seconds)
        t0, cpu0 = time.perf_counter(), cpu_seconds()
        there = score_customers(model, vectors, settings, explain_top=args.top, client=client)
        cluster_s, driver_cpu = time.perf_counter() - t0, cpu_seconds() - cpu0
        workers_cpu = {w: c - workers_cpu0[w] for w, c in client.run(cpu_seconds).items()}
        workers = client.run(peak_gib)
    print(
        json.dumps(
            {
                "customers": len(vectors),
                "explained_top": args.top,
                "model": model.recipe_,
                "in_process_seconds": round(one_s, 1),
                "in_process_cpu_seconds": round(one_cpu, 1),
                "dask": args.dask,
                "dask_seconds": round(cluster_s, 1),
                "dask_cpu_seconds_driver": round(driver_cpu, 1),
                "dask_cpu_seconds_workers": [round(v, 1) for v in workers_cpu.values()],
                "speed_up": round(one_s / cluster_s, 2),
                "same_list": bool(here.equals(there)),
                "peak_gib_in_process": one_peak,
                "peak_gib_driver": peak_gib(),
                "peak_gib_workers": [round(v, 2) for v in workers.values()],
                "load_average_before_after": [load_before, os.getloadavg()],
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
