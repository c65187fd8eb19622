"""Latency of /score (one stored customer, with reasons) against a real server on loopback. Prints JSON.

Usage (after `make demo`; NEEDRADAR_HOME picks another home):
    .venv/bin/python benchmarks/bench_latency.py MODE [--rate R] [--seconds S] [--quick]
Modes, each on a fresh `bentoml serve` started with the CLI's own command line:
    closed    one client, closed loop (next request when the answer arrives), and the same on
              /livez (the HTTP floor); `--clients N` for N closed-loop clients
    open      open loop: a fixed arrival rate (`--rate`, default 200 and 400 in turn) for `--seconds`,
              latency from each request's scheduled start, so a slow server cannot slow the arrivals
    overload  3x `--rate` (default 3 x 400) for a few seconds, then 100 requests/s: how quickly the
              refusals (429/503) come, and whether latency comes back after
    reload    open loop at `--rate` on a copy of the home: a new day's outputs arrive a third of
              the way in and a new churn champion two thirds in, each followed by POST /reload;
              nothing may fail
    profile   a server with NEEDRADAR_TIMING: one client, the median time of every stage of a
              request (core/timing.py), the HTTP floor, and a cProfile of the scoring call
    all       every mode above in turn (`--quick`: shorter phases, about 3 minutes in all)
The load generator (asyncio on uvloop, aiohttp with a connection pool) runs on the same machine.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import multiprocessing
import os
import pstats
import shutil
import tempfile
import time
from pathlib import Path

import load_generator
import pandas as pd
from load_generator import _closed, _ms, _open, _run, _server

ROOT = Path(__file__).resolve().parents[1]


def _home() -> Path:
    return Path(os.environ.get("NEEDRADAR_HOME", ROOT / "var"))


def _ids(home: Path) -> list[str]:
    day = sorted((home / "out").glob("????-??-??"))[-1]
    return pd.read_parquet(day / "vectors.parquet", columns=["customer_id"])["customer_id"].tolist()


def _in_process(home: Path, ids: list[str], n: int = 300) -> dict:
    """The scoring call the server makes for one customer, without HTTP: its CPU time and a profile,
    and the CPU time of the small-batch scorer that answers when the day's list cannot."""
    os.environ["NEEDRADAR_HOME"] = str(home)
    from core.config import load_config
    from serving.answers import score_stored, warm_up
    from serving.state import load_state

    state = load_state(load_config())
    warm_up(state)
    times, profile = [], cProfile.Profile()
    for i in range(n):
        t0 = time.process_time()
        score_stored(state, [ids[i % len(ids)]])
        times.append(time.process_time() - t0)
    scorer = []  # the same customers through the small-batch scorer (when the list cannot answer)
    for i in range(n):
        t0 = time.process_time()
        state.small_batch.score([ids[i % len(ids)]])
        scorer.append(time.process_time() - t0)
    profile.enable()
    for i in range(n):
        score_stored(state, [ids[i % len(ids)]])
    profile.disable()
    text = io.StringIO()
    pstats.Stats(profile, stream=text).sort_stats("tottime").print_stats(12)
    top = [line.strip() for line in text.getvalue().splitlines() if line.strip()[:1].isdigit()]
    served_by = "the day's list" if state.stored_answers is not None else "the small-batch scorer"
    return {
        "calls": n,
        "served_by": served_by,
        "cpu": _ms(times),
        "small_batch_scorer_cpu": _ms(scorer),
        "cprofile_top_tottime": top,
    }


def _stages(path: Path, cpu_ms: float) -> dict:
    """Median CPU milliseconds between consecutive stamps of core/timing.py, in request order,
    and what the server spent outside the guard (uvicorn, BentoML's outer middlewares)."""
    lines = [json.loads(x) for x in path.read_text().splitlines() if '"/score"' in x]
    frame = pd.DataFrame(lines).drop(columns="path").dropna(axis=1, thresh=len(lines) // 2)
    order = frame.median().sort_values()
    steps, previous = {}, 0.0
    for stage, at in order.items():
        steps[f"to {stage}"] = round(at - previous, 3)
        previous = at
    steps["outside the guard (uvicorn, BentoML's outer middlewares)"] = round(cpu_ms - previous, 3)
    return {"requests": len(lines), "server_cpu_ms_per_request": cpu_ms, "median_cpu_ms_by_stage": steps}


def mode_closed(url: str, ids: list[str], a) -> dict:
    _run(_closed(url, ids, 2, 2))  # warm-up
    return {
        "score": _run(_closed(url, ids, a.clients, a.seconds or (8 if a.quick else 20)), url),
        "floor_livez": _run(_closed(url, ids, a.clients, 5 if a.quick else 10, "/livez"), url),
    }


def _unstolen(measure, a) -> dict:
    """A phase measured again (up to `--attempts` times) while the host took more than
    `--max-steal` percent of the CPU; every earlier attempt stays in the answer (`stolen_attempts`)."""
    stolen = []
    for _ in range(a.attempts - 1):
        phase = measure()
        if a.max_steal is None or phase["host_steal_percent"] <= a.max_steal:
            break
        stolen.append(phase)
    else:
        phase = measure()
    if stolen:
        keep = ("host_steal_percent", "p50_ms", "p99_ms", "max_ms", "errors")
        phase["stolen_attempts"] = [{k: s.get(k) for k in keep} for s in stolen]
    return phase


def mode_open(url: str, ids: list[str], a) -> dict:
    _run(_closed(url, ids, 2, 2))
    seconds = a.seconds or (15 if a.quick else 60)
    return {
        f"rate_{r:g}": _unstolen(lambda r=r: _run(_open(url, ids, [(r, seconds)]), url)[0], a)
        for r in (a.rate or [200, 400])
    }


def mode_overload(url: str, ids: list[str], a) -> dict:
    _run(_closed(url, ids, 2, 2))
    rate = 3 * (a.rate or [400])[0]
    seconds = a.seconds or (5 if a.quick else 10)
    over, after = _run(_open(url, ids, [(rate, seconds), (100, 2 * seconds)]), url)
    return {"overload": over, "recovery_at_100_rps": after}


def _new_day(home: Path) -> str:
    """The newest day's outputs published again as the next day (what a daily run adds)."""
    out = home / "out"
    newest = sorted(out.glob("????-??-??"))[-1]
    day = f"{pd.Timestamp(newest.name) + pd.Timedelta(days=1):%Y-%m-%d}"
    shutil.copytree(newest, out / ".staging-bench")
    os.rename(out / ".staging-bench", out / day)
    return f"new day {day}"


def _new_champion(home: Path) -> str:
    """The churn champion registered again as a new version and promoted (a new model object to
    load, with its SHAP tables to build)."""
    from core.config import load_config
    from experiments.registry import promote, register_again

    settings = load_config(environ={**os.environ, "NEEDRADAR_HOME": str(home)})
    version = register_again("churn", settings)
    promote("churn", settings, force=True)
    return f"new churn champion {version}"


def mode_reload(home: Path, ids: list[str], a) -> dict:
    """On a copy of the home, so that the user's registry and outputs stay as they were."""
    seconds = a.seconds or (15 if a.quick else 30)
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "home"
        shutil.copytree(home, copy)
        with _server(copy) as url:
            _run(_closed(url, ids, 2, 2))
            # The changes run in another process: registering a model in this one would stall the
            # load generator (and point this process's MLflow at the copy).
            with multiprocessing.get_context("spawn").Pool(1) as pool:
                events = [
                    (seconds / 3, lambda: pool.apply(_new_day, (copy,))),
                    (2 * seconds / 3, lambda: pool.apply(_new_champion, (copy,))),
                ]
                (load,), reloads = _run(_open(url, ids, [((a.rate or [200])[0], seconds)], events))
    return {"load": load, "reloads": reloads}


def mode_profile(home: Path, ids: list[str], a) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        stamps = Path(tmp) / "timing.jsonl"
        with _server(home, {"NEEDRADAR_TIMING": str(stamps)}) as url:
            _run(_closed(url, ids, 1, 2))
            stamps.unlink(missing_ok=True)
            one = _run(_closed(url, ids, 1, a.seconds or (5 if a.quick else 15)), url)
            floor = _run(_closed(url, ids, 1, 5, "/livez"), url)
        stages = _stages(stamps, one["server_cpu_ms_per_request"])
    return {"one_client": one, "floor_livez": floor, **stages, "in_process": _in_process(home, ids)}


MODES = {"closed": mode_closed, "open": mode_open, "overload": mode_overload}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("mode", choices=[*MODES, "reload", "profile", "all"])
    p.add_argument("--rate", type=float, action="append", help="requests/s (repeat for several)")
    p.add_argument("--seconds", type=float, help="length of each measured phase")
    p.add_argument("--clients", type=int, default=1, help="closed-loop clients (mode closed)")
    p.add_argument("--quick", action="store_true", help="short phases: all modes in about 3 minutes")
    p.add_argument(
        "--max-steal",
        type=float,
        help="open mode: measure a rate again while the host's steal (%% of CPU) was above this",
    )
    p.add_argument("--attempts", type=int, default=3, help="at most this many runs of a rate (--max-steal)")
    p.add_argument(
        "--generator-gc", action="store_true", help="keep the load generator's garbage collector on"
    )
    a = p.parse_args()
    load_generator.GENERATOR_GC = a.generator_gc
    home = _home()
    ids = _ids(home)
    started = time.perf_counter()
    out = {"mode": a.mode, "quick": a.quick, "workers": os.environ.get("NEEDRADAR_WORKERS", "1")}
    modes = list(MODES) if a.mode == "all" else [a.mode] if a.mode in MODES else []
    if modes:
        with _server(home) as url:
            for m in modes:
                out[m] = MODES[m](url, ids, a)
    if a.mode in ("reload", "all"):
        out["reload"] = mode_reload(home, ids, a)
    if a.mode in ("profile", "all"):
        out["profile"] = mode_profile(home, ids, a)
    out["wall_seconds"] = round(time.perf_counter() - started, 1)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
