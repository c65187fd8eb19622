"""The load generator of benchmarks/bench_latency.py: a real server, closed and open loops, summaries.

A real `bentoml serve` on a free loopback port (`_server`), closed-loop clients (`_closed`) and an
open loop at fixed rates (`_open`, latency from each request's scheduled start), driven from this
process (asyncio on uvloop, aiohttp with a connection pool) by `_run`, which also measures the
server's CPU per request and the generator's own loop lag.
"""

from __future__ import annotations

import asyncio
import gc
import os
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
from host_steal import _ticks as steal_ticks

from needradar.commands.serve import bentoml_command

KEY = "bench-key"
HEADERS = {"Authorization": f"Bearer {KEY}"}
TIMEOUT = aiohttp.ClientTimeout(total=10)
SERVERS: dict[str, int] = {}  # url -> pid of its `bentoml serve`
# The server closes a connection idle for 5 s (uvicorn's keep-alive under BentoML); a client that
# keeps one longer may send on it as it closes and count the server's close as a failed request.
KEEPALIVE = 3.0
GENERATOR_GC = False  # `--generator-gc`: keep the load generator's garbage collector on


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


async def _watched(coro, seen: dict):
    """Run `coro` while a heartbeat measures how late this generator's own event loop runs: a
    stall here delays sending and reading, and would be counted as the server's latency."""

    async def heartbeat() -> None:
        last = time.perf_counter()
        while True:
            await asyncio.sleep(0.001)
            now = time.perf_counter()
            lag = now - last - 0.001
            seen["lags"].append(lag)
            last = now

    beat = asyncio.create_task(heartbeat())
    try:
        return await coro
    finally:
        beat.cancel()


def _run(coro, url: str | None = None):
    """Run a load phase; with `url`, add the server's CPU milliseconds per request (robust on a
    shared machine, where wall-clock latency also counts other programs' turns on the CPU).

    The generator's own garbage collector is off during the phase (what it allocates is freed by
    reference counting; its full collections walked the tasks and answers of the whole phase and
    paused sending and reading for tens of milliseconds); `--generator-gc` keeps it on.
    Each phase reports the generator's longest loop lag and collections (`generator`), and the
    share of the machine's CPU time its host took while it ran (`host_steal_percent`, see
    host_steal.py): a phase measured while the hypervisor ran other guests on our cores measures them.
    """
    seen: dict = {"lags": [], "gc_ms": []}
    started: list[float] = []

    def on_gc(phase: str, info: dict) -> None:
        if phase == "start":
            started.append(time.perf_counter())
        elif started:
            seen["gc_ms"].append((info["generation"], (time.perf_counter() - started.pop()) * 1000))

    before = _server_cpu(SERVERS[url]) if url else 0.0
    steal_before, ticks_before = steal_ticks()
    if not GENERATOR_GC:
        gc.collect()
        gc.freeze()
        gc.disable()
    gc.callbacks.append(on_gc)
    try:
        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            result = runner.run(_watched(coro, seen))
    finally:
        gc.callbacks.remove(on_gc)
        gc.enable()
        gc.unfreeze()
    steal, ticks = steal_ticks()
    steal_percent = round(100 * (steal - steal_before) / max(1, ticks - ticks_before), 1)
    lags = np.array(seen["lags"] or [0.0]) * 1000
    generator = {
        "gc": "on" if GENERATOR_GC else "off",
        "loop_lag_p99_ms": round(float(np.percentile(lags, 99)), 2),
        "loop_lag_max_ms": round(float(lags.max()), 1),
        "loop_lags_over_20ms": int((lags > 20).sum()),
        "collections": len(seen["gc_ms"]),
        "full_collections_ms": [round(ms, 1) for g, ms in seen["gc_ms"] if g == 2],
    }
    phases = result[0] if isinstance(result, tuple) else result
    phases = phases if isinstance(phases, list) else [phases]
    for phase in phases:
        phase["generator"] = generator
        phase["host_steal_percent"] = steal_percent
    if url:  # several phases: the CPU of all of them, per request of all of them
        cpu = _server_cpu(SERVERS[url]) - before
        requests = sum(p["requests"] for p in phases)
        name = "server_cpu_ms_per_request" + ("" if len(phases) == 1 else "_all_phases")
        for phase in phases:
            phase[name] = round(cpu * 1000 / max(1, requests), 3)
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
    connector = aiohttp.TCPConnector(limit=clients, keepalive_timeout=KEEPALIVE)
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
    by_second: list[list[tuple[int, float]]] = [[] for _ in phases]  # (second due, latency)
    connector = aiohttp.TCPConnector(limit=1024, keepalive_timeout=KEEPALIVE)
    async with aiohttp.ClientSession(connector=connector, timeout=TIMEOUT, headers=HEADERS) as session:
        tasks, reloads = [], []

        async def one(due: float, phase: int, second: int) -> None:
            answers, late = results[phase]
            late.append(time.perf_counter() - due)
            status = await _call(session, url, "/score", {"customer_ids": [ids[rng.integers(len(ids))]]})
            answers.append((status, time.perf_counter() - due))
            by_second[phase].append((second, time.perf_counter() - due))

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
                tasks.append(asyncio.create_task(one(due, p, int(i / rate))))
            start += seconds
        await asyncio.gather(*tasks)
    out = []
    for (rate, seconds), (answers, late), timed in zip(phases, results, by_second, strict=True):
        lag = np.array(late or [0.0]) * 1000
        out.append(
            {
                "rate": rate,
                "seconds": seconds,
                **_summary(answers, seconds),
                "send_lag_p99_ms": round(float(np.percentile(lag, 99)), 2),
                **_timeline(timed),
            }
        )
    return (out, reloads) if events else out


def _timeline(timed: list[tuple[int, float]]) -> dict:
    """Per second of the phase (by when requests were due): the p99 and the slowest answer in ms,
    to see when the slow requests happen (the first seconds, every N seconds, ...)."""
    if not timed:
        return {}
    frame = pd.DataFrame(timed, columns=["second", "latency"])
    ms = frame.groupby("second")["latency"].agg([lambda x: np.percentile(x, 99), "max"]) * 1000
    return {
        "per_second_p99_ms": [round(v) for v in ms.iloc[:, 0]],
        "per_second_max_ms": [round(v) for v in ms.iloc[:, 1]],
    }
