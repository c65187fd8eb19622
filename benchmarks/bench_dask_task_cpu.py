"""CPU seconds of the same forecast calls in this process, in a joblib process and in Dask
workers (as `local:N` starts them, and with single settings changed); print JSON.

Usage: python benchmarks/bench_dask_task_cpu.py [--series 8] [--rounds 3]
    [--variants in_process joblib dask_default dask_no_profile dask_no_malloc_trim dask_tuned]

The calls are those of `train_volume`'s backtest (training/forecasting/backtest.py::plan_backtest)
on generated series: per family and window the global LightGBM, per series and window Prophet and
the statsforecast models. Every call runs alone (the next starts when it is back), so no variant
shares the cores with another of its calls; the variants take turns, call by call, so that a
change in the machine's load hits all of them alike. Per call and variant:
- `task_thread`: CPU of the thread that ran the call (user + system);
- `other_threads`: CPU of the rest of that process while the call ran (event loop, profiler);
- `children`: CPU of the child processes it reaped meanwhile (Prophet's Stan fits);
and the sum of the three. A cluster's start-up and idle time are not counted.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import resource
import time
from contextlib import ExitStack

import dask
import numpy as np
from bench_dask_forecast import daily_series
from joblib.externals.loky import get_reusable_executor

from core.cluster import dask_client
from core.config import load_config
from training.forecasting.backtest import plan_backtest
from training.forecasting.forecaster import setup_for

logger = logging.getLogger("bench_dask_task_cpu")

# Dask settings per variant, on top of what `local:N` sets (core/cluster.py).
NO_TRIM = {"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None}
NO_PROFILE = {"distributed.worker.profile.enabled": False}
VARIANTS = {
    "dask_default": {},
    "dask_no_profile": NO_PROFILE,
    "dask_no_malloc_trim": NO_TRIM,
    "dask_neither": NO_TRIM | NO_PROFILE,
    "dask_as_shipped": None,  # whatever core.cluster.dask_client sets now
}


def measured_call(fn, args: tuple) -> dict[str, float]:
    """Run `fn(*args)`; its CPU seconds split into this thread, other threads and children."""
    th0 = resource.getrusage(resource.RUSAGE_THREAD)
    me0, kids0 = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    w0 = time.perf_counter()
    fn(*args)
    wall = time.perf_counter() - w0
    th1 = resource.getrusage(resource.RUSAGE_THREAD)
    me1, kids1 = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)

    def cpu(a, b) -> tuple[float, float]:
        return b.ru_utime - a.ru_utime, b.ru_stime - a.ru_stime

    thread_user, thread_sys = cpu(th0, th1)
    me_user, me_sys = cpu(me0, me1)
    kids_user, kids_sys = cpu(kids0, kids1)
    return {
        "wall": wall,
        "task_thread_user": thread_user,
        "task_thread_system": thread_sys,
        "other_threads": me_user + me_sys - thread_user - thread_sys,
        "children": kids_user + kids_sys,
        "minor_page_faults": float(me1.ru_minflt - me0.ru_minflt),
    }


def warm_up(fn, args: tuple) -> None:
    """Imports, Stan's first load and the statsforecast JIT of the process, then a pause."""
    fn(*args)
    time.sleep(3)


def kind(fn, args) -> str:
    if fn.__name__ == "lgbm_forecasts":
        return "lightgbm (family)"
    return "prophet + statsforecast (series)"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--series", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3, help="times every call runs per variant")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--calls", type=int, help="measure this many of the calls, evenly spaced (default: all)"
    )
    parser.add_argument(
        "--variants",
        nargs="+",
        default=["in_process", "joblib", *VARIANTS],
        choices=["in_process", "joblib", *VARIANTS],
    )
    args = parser.parse_args()
    logging.basicConfig(format="%(asctime)s %(message)s")
    logger.setLevel(logging.INFO)
    settings = load_config()
    long = daily_series(args.series, 400)
    series = {sid: g[["ds", "y"]].reset_index(drop=True) for sid, g in long.groupby("series_id", sort=True)}
    family = long.groupby("series_id")["family"].first().to_dict()
    setup = setup_for(settings, long["ds"].min(), long["ds"].max())
    models = tuple(settings.forecast.models)
    f = settings.forecast
    _, _, calls = plan_backtest(series, f.backtest_folds, setup, models, family, f.evidence_windows)
    if args.calls:
        calls = [calls[i] for i in np.linspace(0, len(calls) - 1, args.calls).round().astype(int)]
    with ExitStack() as stack:
        runners = {}
        # A nanny sets its `pre-spawn-environ` in this process's environment before it spawns a
        # worker, and later children inherit it: the joblib pool starts first, and the
        # environment is put back after every cluster.
        if "joblib" in args.variants:
            pool = get_reusable_executor(max_workers=args.workers)
            stack.callback(pool.shutdown, wait=True)
            runners["joblib"] = lambda fn, a, pool=pool: pool.submit(measured_call, fn, a).result()
            # one warm-up per process: each holds its process until the others have theirs
            list(pool.map(warm_up, *zip(*[calls[-1]] * args.workers, strict=True)))
        for v in args.variants:
            if v == "in_process":
                runners[v] = measured_call
            elif v != "joblib":
                environ = dict(os.environ)
                with dask.config.set(VARIANTS[v] or {}):  # read by the nannies and workers at start
                    client = stack.enter_context(dask_client(f"local:{args.workers}"))
                os.environ.clear()
                os.environ.update(environ)
                for worker in client.scheduler_info()["workers"]:  # imports, Stan's first load
                    client.submit(measured_call, *calls[-1], workers=[worker], pure=False).result()
                runners[v] = lambda fn, a, client=client: client.submit(
                    measured_call, fn, a, pure=False
                ).result()
        measured_call(*calls[-1])  # warm-up of this process, not measured
        rows = []
        for r in range(args.rounds):
            for i, (fn, a) in enumerate(calls):
                for v, runner in runners.items():
                    rows.append({"variant": v, "round": r, "call": i, "kind": kind(fn, a), **runner(fn, a)})
                logger.info("round %d, call %d of %d done", r + 1, i + 1, len(calls))
    out = {}
    for v in runners:
        mine = [row for row in rows if row["variant"] == v]
        total = {
            k: round(float(np.sum([row[k] for row in mine])) / args.rounds, 2)
            for k in (
                "wall",
                "task_thread_user",
                "task_thread_system",
                "other_threads",
                "children",
                "minor_page_faults",
            )
        }
        total["cpu"] = round(
            total["task_thread_user"]
            + total["task_thread_system"]
            + total["other_threads"]
            + total["children"],
            2,
        )
        by_kind = {}
        for k in sorted({row["kind"] for row in mine}):
            cpu = [
                row["task_thread_user"] + row["task_thread_system"] + row["other_threads"] + row["children"]
                for row in mine
                if row["kind"] == k
            ]
            by_kind[k] = round(float(np.sum(cpu)) / args.rounds, 2)
        out[v] = {"per_round": total, "cpu_by_kind_per_round": by_kind}
    base = out[args.variants[0]]["per_round"]["cpu"]
    print(
        json.dumps(
            {
                "series": args.series,
                "calls_per_round": len(calls),
                "rounds": args.rounds,
                "load_average_1_5_15": [round(x, 1) for x in os.getloadavg()],
                f"cpu_over_{args.variants[0]}": {
                    v: round(o["per_round"]["cpu"] / base, 3) for v, o in out.items()
                },
                "variants": out,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
