"""Latency of /score against a real server on loopback. Prints JSON.

Usage: make demo, then  .venv/bin/python benchmarks/bench_latency.py [--seconds 60] [--clients 50]
Starts `bentoml serve` on 127.0.0.1 with the demo's champions and outputs (var/), runs N concurrent
clients for the given time (one customer each, with reasons), then a 100-customer batch phase.
Then one client alone, the same clients on /livez (the HTTP floor: server plus this client), and the
same scoring call in process without HTTP. Bounded in time and count; only loopback traffic.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import time
from collections import Counter
from pathlib import Path

import aiohttp
import httpx
import numpy as np
import pandas as pd

from needradar.commands.serve import bentoml_command

ROOT = Path(__file__).resolve().parents[1]
KEY = "bench-key"


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def _load(
    url: str, ids: list[str], clients: int, seconds: float, batch: int, path: str = "/score"
) -> dict:
    """`clients` closed-loop clients for `seconds`; batch=0 sends a GET to `path` (the floor).

    aiohttp, not httpx: on this 2-core machine the load generator shares the CPU with the server,
    and httpx's own overhead at 50 connections was larger than the server's.
    """
    latencies, errors = [], Counter()
    stop = time.perf_counter() + seconds
    headers = {"Authorization": f"Bearer {KEY}"}
    connector = aiohttp.TCPConnector(limit=clients)
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout, headers=headers) as session:

        async def worker(seed: int) -> None:
            rng = np.random.default_rng(seed)
            while time.perf_counter() < stop:
                body = {"customer_ids": [str(x) for x in rng.choice(ids, batch)]}
                t0 = time.perf_counter()
                try:
                    if batch:
                        r = await session.post(f"{url}{path}", json=body)
                    else:
                        r = await session.get(f"{url}{path}")
                    async with r:
                        text = await r.text()
                    if r.status != 200:
                        errors[f"HTTP {r.status}: {text[:80]}"] += 1
                except (aiohttp.ClientError, TimeoutError) as e:
                    errors[type(e).__name__] += 1
                latencies.append(time.perf_counter() - t0)

        await asyncio.gather(*(worker(i) for i in range(clients)))
    ms = np.array(latencies) * 1000
    return {
        "requests": len(ms),
        "errors": sum(errors.values()),
        "error_kinds": dict(errors),
        "throughput_rps": round(len(ms) / seconds, 1),
        "p50_ms": round(float(np.percentile(ms, 50)), 1),
        "p99_ms": round(float(np.percentile(ms, 99)), 1),
        "max_ms": round(float(ms.max()), 1),
    }


def _in_process(home: Path, ids: list[str], n: int = 300) -> dict:
    """The same scoring call without HTTP, one customer at a time (the floor of our own code)."""
    os.environ["NEEDRADAR_HOME"] = str(home)
    from core.config import load_config
    from serving.answers import score_stored as _score_stored
    from serving.state import load_state

    state = load_state(load_config())
    _score_stored(state, ids[:1])
    ms = []
    for i in range(n):
        t0 = time.perf_counter()
        _score_stored(state, [ids[i % len(ids)]])
        ms.append((time.perf_counter() - t0) * 1000)
    return {
        "calls": n,
        "p50_ms": round(float(np.median(ms)), 2),
        "p99_ms": round(float(np.percentile(ms, 99)), 2),
    }


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--seconds", type=float, default=60)
    p.add_argument("--clients", type=int, default=50)
    args = p.parse_args()
    home = Path(os.environ.get("NEEDRADAR_HOME", ROOT / "var"))
    day = sorted((home / "out").glob("????-??-??"))[-1]
    ids = pd.read_parquet(day / "vectors.parquet")["customer_id"].tolist()
    port = _port()
    env = {**os.environ, "NEEDRADAR_HOME": str(home), "NEEDRADAR_API_KEY": KEY}
    proc = subprocess.Popen(
        bentoml_command("127.0.0.1", port),
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(240):
            try:
                if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.5)
        asyncio.run(_load(url, ids, 4, 3, 1))  # warm-up
        short = min(args.seconds, 20)
        results = {
            "one_customer": asyncio.run(_load(url, ids, args.clients, args.seconds, 1)),
            "one_customer_one_client": asyncio.run(_load(url, ids, 1, short, 1)),
            "batch_of_100_with_4_clients": asyncio.run(_load(url, ids, 4, short, 100)),
            "floor_livez_same_clients": asyncio.run(_load(url, ids, args.clients, short, 0, "/livez")),
        }
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    results["in_process_one_customer"] = _in_process(home, ids)
    workers = os.environ.get("NEEDRADAR_WORKERS", "1")
    print(
        json.dumps(
            {"clients": args.clients, "seconds": args.seconds, "workers": workers, **results}, indent=2
        )
    )


if __name__ == "__main__":
    main()
