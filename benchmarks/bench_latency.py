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
import asyncio
import cProfile
import io
import json
import multiprocessing
import os
import pstats
import shutil
import socket
import subprocess
import tempfile
import time
from collections import Counter
from contextlib import contextmanager
from pathlib import Path

import aiohttp
import httpx
import numpy as np
import pandas as pd
import uvloop

from needradar.commands.serve import bentoml_command

ROOT = Path(__file__).resolve().parents[1]
KEY = "bench-key"
HEADERS = {"Authorization": f"Bearer {KEY}"}
TIMEOUT = aiohttp.ClientTimeout(total=10)
SERVERS: dict[str, int] = {}  # url -> pid of its `bentoml serve`


def _home() -> Path:
    return Path(os.environ.get("NEEDRADAR_HOME", ROOT / "var"))


def _ids(home: Path) -> list[str]:
    day = sorted((home / "out").glob("????-??-??"))[-1]
    return pd.read_parquet(day / "vectors.parquet", columns=["customer_id"])["customer_id"].tolist()


@contextmanager
def _server(home: Path, extra_env: dict | None = None):
    """A real `bentoml serve` on a free loopback port, ready; stopped on exit."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "NEEDRADAR_HOME": str(home), "NEEDRADAR_API_KEY": KEY, **(extra_env or {})}
    with tempfile.TemporaryFile() as log:
        proc = subprocess.Popen(bentoml_command("127.0.0.1", port), env=env, stdout=log, stderr=log)
        url = f"http://127.0.0.1:{port}"
        SERVERS[url] = proc.pid
        try:
            for _ in range(480):
                if proc.poll() is not None:
                    log.seek(0)
                    raise RuntimeError("server exited:\n" + log.read().decode()[-3000:])
                try:
                    if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                time.sleep(0.5)
            else:
                raise RuntimeError("server not ready after 240 s")
            yield url
        finally:
            proc.terminate()
            proc.wait(timeout=30)


def _server_cpu(pid: int) -> float:
    """CPU seconds used so far by a process and all its descendants (the server's workers)."""
    tree, stats = {pid}, {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        stats[int(stat.parent.name)] = (int(fields[1]), int(fields[11]) + int(fields[12]))
    while True:
        more = {p for p, (ppid, _) in stats.items() if ppid in tree} - tree
        if not more:
            break
        tree |= more
    total = sum(stats[p][1] for p in tree if p in stats)
    return total / os.sysconf("SC_CLK_TCK")


def _run(coro, url: str | None = None):
    """Run a load phase; with `url`, add the server's CPU milliseconds per request (robust on a
    shared machine, where wall-clock latency also counts other programs' turns on the CPU)."""
    before = _server_cpu(SERVERS[url]) if url else 0.0
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        result = runner.run(coro)
    phases = result if isinstance(result, list) else [result]
    if url and len(phases) == 1:
        cpu = _server_cpu(SERVERS[url]) - before
        phases[0]["server_cpu_ms_per_request"] = round(cpu * 1000 / max(1, phases[0]["requests"]), 3)
    return result


def _ms(values: list[float]) -> dict:
    ms = np.array(values) * 1000
    if not len(ms):
        return {}
    q = np.percentile(ms, [50, 90, 99])
    return {
        "p50_ms": round(q[0], 2),
        "p90_ms": round(q[1], 2),
        "p99_ms": round(q[2], 2),
        "max_ms": round(ms.max(), 2),
    }


def _summary(answers: list[tuple[str, float]], seconds: float) -> dict:
    """Latency of every answer, errors by status, and how quickly refusals (429/503) came."""
    statuses = Counter(s for s, _ in answers)
    refused = [t for s, t in answers if s in ("429", "503")]
    return {
        "requests": len(answers),
        "achieved_rps": round(len(answers) / seconds, 1),
        **_ms([t for _, t in answers]),
        "errors": len(answers) - statuses.get("200", 0),
        "by_status": dict(statuses),
        **({"refusals": _ms(refused)} if refused else {}),
    }


async def _call(session, url: str, path: str, body: dict | None) -> str:
    """One request; its status as text, or the exception's name."""
    try:
        request = session.post(f"{url}{path}", json=body) if body is not None else session.get(f"{url}{path}")
        async with request as r:
            await r.read()
            return str(r.status)
    except (aiohttp.ClientError, TimeoutError) as e:
        return type(e).__name__


async def _closed(url: str, ids: list[str], clients: int, seconds: float, path: str = "/score") -> dict:
    """`clients` closed-loop clients for `seconds` (path /livez: a GET without work)."""
    answers = []
    rng = np.random.default_rng(0)
    stop = time.perf_counter() + seconds
    connector = aiohttp.TCPConnector(limit=clients)
    async with aiohttp.ClientSession(connector=connector, timeout=TIMEOUT, headers=HEADERS) as session:

        async def client() -> None:
            while time.perf_counter() < stop:
                body = {"customer_ids": [ids[rng.integers(len(ids))]]} if path == "/score" else None
                t0 = time.perf_counter()
                status = await _call(session, url, path, body)
                answers.append((status, time.perf_counter() - t0))

        await asyncio.gather(*(client() for _ in range(clients)))
    return {"path": path, "clients": clients, **_summary(answers, seconds)}


async def _open(url: str, ids: list[str], phases: list[tuple[float, float]], events=()):
    """Open loop: request i of a phase is due at its start + i / rate, whatever came back before.

    Latency runs from the due time, so waiting in the generator or in a queue counts. Returns one
    summary per (rate, seconds) phase, and with `events` ((seconds in, blocking function) pairs,
    each run in a thread and followed by POST /reload) also what each reload answered.
    """
    rng = np.random.default_rng(0)
    results = [([], []) for _ in phases]  # (status, latency) answers, how late each was sent
    connector = aiohttp.TCPConnector(limit=1024)
    async with aiohttp.ClientSession(connector=connector, timeout=TIMEOUT, headers=HEADERS) as session:
        tasks, reloads = [], []

        async def one(due: float, phase: int) -> None:
            answers, late = results[phase]
            late.append(time.perf_counter() - due)
            status = await _call(session, url, "/score", {"customer_ids": [ids[rng.integers(len(ids))]]})
            answers.append((status, time.perf_counter() - due))

        async def change_then_reload(due: float, change) -> None:
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
            what = await asyncio.to_thread(change)
            t0 = time.perf_counter()
            status = await _call(session, url, "/reload", {})
            reloads.append({"change": what, "status": status, "seconds": round(time.perf_counter() - t0, 2)})

        start = time.perf_counter()
        tasks += [asyncio.create_task(change_then_reload(start + at, change)) for at, change in events]
        for p, (rate, seconds) in enumerate(phases):
            for i in range(int(rate * seconds)):
                due = start + i / rate
                if (wait := due - time.perf_counter()) > 0:
                    await asyncio.sleep(wait)
                tasks.append(asyncio.create_task(one(due, p)))
            start += seconds
        await asyncio.gather(*tasks)
    out = []
    for (rate, seconds), (answers, late) in zip(phases, results, strict=True):
        lag = np.array(late or [0.0]) * 1000
        out.append(
            {
                "rate": rate,
                "seconds": seconds,
                **_summary(answers, seconds),
                "send_lag_p99_ms": round(float(np.percentile(lag, 99)), 2),
            }
        )
    return (out, reloads) if events else out


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


def mode_open(url: str, ids: list[str], a) -> dict:
    _run(_closed(url, ids, 2, 2))
    seconds = a.seconds or (15 if a.quick else 60)
    return {f"rate_{r:g}": _run(_open(url, ids, [(r, seconds)]), url)[0] for r in (a.rate or [200, 400])}


def mode_overload(url: str, ids: list[str], a) -> dict:
    _run(_closed(url, ids, 2, 2))
    rate = 3 * (a.rate or [400])[0]
    seconds = a.seconds or (5 if a.quick else 10)
    over, after = _run(_open(url, ids, [(rate, seconds), (100, 2 * seconds)]))
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
    a = p.parse_args()
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
