"""Volume training (backtest of every model on every series, then the fit) on a Dask cluster vs
in this process, on the same generated daily series; print JSON.

Usage: python benchmarks/bench_dask_forecast.py [--series 500] [--days 400] [--dask local:2]
    [--peers one_process default dask]
Every peer runs `train_volume` (what `needradar forecast train` runs) with the default settings:
- one_process: `forecast.processes: 1`, every fit in this process (the issue's "without --dask");
- default: the default `forecast.processes` (2): the per-series fits shared by joblib processes;
- dask: `--dask`, every fit a task on the cluster's workers.
All peers must produce the same backtest forecasts and selection; the Dask run is profiled from
its task stream (tasks, seconds per task, how busy the workers were).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import time
from pathlib import Path

import numpy as np
import pandas as pd
from joblib.externals.loky import get_reusable_executor

from core import cluster
from core.cluster import dask_client
from core.config import load_config
from training.forecasting.forecaster import train_volume
from training.forecasting.selection import select_honestly


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


def task_profile(stream: list[dict], workers: int, wall: float) -> dict:
    """Tasks, compute seconds per task and how busy the workers were, from a Dask task stream."""
    compute = [
        (s["start"], s["stop"]) for task in stream for s in task["startstops"] if s["action"] == "compute"
    ]
    other = sum(
        s["stop"] - s["start"] for task in stream for s in task["startstops"] if s["action"] != "compute"
    )
    seconds = np.array([b - a for a, b in compute])
    span = max(b for _, b in compute) - min(a for a, _ in compute)
    return {
        "tasks": len(compute),
        "task_seconds_median": round(float(np.median(seconds)), 3),
        "task_seconds_p95": round(float(np.quantile(seconds, 0.95)), 3),
        "task_seconds_max": round(float(seconds.max()), 3),
        "compute_seconds_total": round(float(seconds.sum()), 1),
        "transfer_deserialize_seconds_total": round(float(other), 2),
        "tasks_span_seconds": round(span, 1),
        "driver_only_seconds": round(wall - span, 1),
        "worker_busy_share_in_span": round(float(seconds.sum()) / (workers * span), 3),
    }


def threads_cpu() -> dict[str, float]:
    """CPU seconds of this process per thread (by name; numbered pool threads summed), and of the
    child processes it reaped (Prophet's Stan fits)."""
    import re
    import threading

    import psutil

    me = psutil.Process()
    names = {t.native_id: re.sub(r"[-_ ]?\d+$", "", t.name) for t in threading.enumerate()}
    out: dict[str, float] = {}
    for t in me.threads():
        name = names.get(t.id, "other (not Python)")
        out[name] = out.get(name, 0.0) + t.user_time + t.system_time
    times = me.cpu_times()
    out["children"] = times.children_user + times.children_system
    return {k: round(v, 1) for k, v in sorted(out.items(), key=lambda kv: -kv[1]) if v >= 0.05}


def cpu_seconds() -> float:
    """CPU time of this process and of every child process it has reaped (joblib's and Dask's
    worker processes once closed, and their Stan processes)."""
    here, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return here.ru_utime + here.ru_stime + kids.ru_utime + kids.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--series", type=int, default=500)
    parser.add_argument("--days", type=int, default=400)
    parser.add_argument("--dask", default="local:2")
    parser.add_argument(
        "--peers",
        nargs="+",
        default=["one_process", "default", "dask"],
        choices=["one_process", "default", "dask", "dask_profiled"],
    )
    parser.add_argument(
        "--save", type=Path, help="write each peer's backtest forecasts here and compare with the ones there"
    )
    args = parser.parse_args()
    settings = load_config()
    one = settings.model_copy(update={"forecast": settings.forecast.model_copy(update={"processes": 1})})
    long = daily_series(args.series, args.days)
    seconds, cpu, load, results, profile, workers = {}, {}, {}, {}, {}, 0
    shipped = dict(cluster.LOCAL_CLUSTER_CONFIG)
    for peer in args.peers:
        cpu0 = cpu_seconds()
        if peer.startswith("dask"):
            from distributed import get_task_stream

            # dask_profiled: the local cluster as it was before it turned Dask's profiler off
            extra = {"distributed.worker.profile.enabled": True} if peer == "dask_profiled" else {}
            cluster.LOCAL_CLUSTER_CONFIG = shipped | extra
            with dask_client(args.dask) as client, get_task_stream(client) as stream:
                workers = len(client.scheduler_info()["workers"])
                t0 = time.perf_counter()
                results[peer] = train_volume(long, settings, client=client)
                seconds[peer] = time.perf_counter() - t0
                by_thread = {"driver": threads_cpu(), **client.run(threads_cpu)}
            profile[peer] = task_profile(stream.data, workers, seconds[peer]) | {
                "cpu_by_process_and_thread": by_thread
            }
        else:
            t0 = time.perf_counter()
            results[peer] = train_volume(long, one if peer == "one_process" else settings)
            seconds[peer] = time.perf_counter() - t0
            get_reusable_executor().shutdown(wait=True)  # reaps joblib's processes: their CPU counts
        cpu[peer] = cpu_seconds() - cpu0
        load[peer] = os.getloadavg()[1]
    first = results[args.peers[0]].backtest
    same_as_saved = {}
    if args.save is not None:  # peers run as separate processes still get their outputs compared
        args.save.mkdir(parents=True, exist_ok=True)
        for peer, r in results.items():
            r.backtest.forecasts.to_parquet(args.save / f"{args.series}_{peer}.parquet")
        for path in sorted(args.save.glob(f"{args.series}_*.parquet")):
            same_as_saved[path.stem] = bool(pd.read_parquet(path).equals(first.forecasts))
    # The honest selection runs in the command's process after the fits: time it alone.
    raw = first.forecasts.drop(columns=["model", "yhat", "yhat_lower", "yhat_upper"])
    family = long.groupby("series_id")["family"].first().to_dict()
    t0 = time.perf_counter()
    select_honestly(
        raw, tuple(settings.forecast.models), settings.forecast.evidence_windows, first.interval, family
    )
    selection_s = time.perf_counter() - t0
    speed_up = {
        f"{peer}_over_{base}": round(seconds[base] / seconds[peer], 2)
        for peer in args.peers
        for base in args.peers
        if peer != base and args.peers.index(base) < args.peers.index(peer)
    }
    print(
        json.dumps(
            {
                "series": args.series,
                "days": args.days,
                "models": list(settings.forecast.models),
                "backtest_folds": settings.forecast.backtest_folds,
                "evidence_windows": settings.forecast.evidence_windows,
                "default_processes": settings.forecast.processes,
                "dask": args.dask,
                "dask_workers": workers,
                "seconds": {k: round(v, 1) for k, v in seconds.items()},
                "cpu_seconds": {k: round(v, 1) for k, v in cpu.items()},
                "cores_obtained": {k: round(cpu[k] / seconds[k], 2) for k in seconds},
                "load_average_5min_at_end": {k: round(v, 1) for k, v in load.items()},
                "speed_up": speed_up,
                "dask_profile": profile,
                "selection_seconds": round(selection_s, 1),
                "same_backtest_forecasts": all(
                    r.backtest.forecasts.equals(first.forecasts) for r in results.values()
                ),
                "same_backtest_forecasts_as_saved": same_as_saved,
                "same_selection": all(
                    r.backtest.selection.to_dict() == first.selection.to_dict() for r in results.values()
                ),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
