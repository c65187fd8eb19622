"""Latency of /score against a real server on loopback. Prints JSON.

Usage: make demo, then  .venv/bin/python benchmarks/bench_latency.py [--seconds 60] [--clients 50]
Starts `bentoml serve` on 127.0.0.1 with the demo's champions and outputs (var/), runs N concurrent
clients for the given time (one customer each, with reasons), then a 100-customer batch phase.
Bounded in time and count; only loopback traffic.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
KEY = "bench-key"


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def _load(url: str, ids: list[str], clients: int, seconds: float, batch: int) -> dict:
    latencies, errors = [], 0
    stop = time.perf_counter() + seconds
    headers = {"Authorization": f"Bearer {KEY}"}
    async with httpx.AsyncClient(timeout=10, limits=httpx.Limits(max_connections=clients)) as client:

        async def worker(seed: int) -> None:
            nonlocal errors
            rng = np.random.default_rng(seed)
            while time.perf_counter() < stop:
                body = {"customer_ids": list(rng.choice(ids, batch))}
                t0 = time.perf_counter()
                try:
                    r = await client.post(f"{url}/score", json=body, headers=headers)
                    ok = r.status_code == 200
                except httpx.HTTPError:
                    ok = False
                latencies.append(time.perf_counter() - t0)
                errors += not ok

        await asyncio.gather(*(worker(i) for i in range(clients)))
    ms = np.array(latencies) * 1000
    return {
        "requests": len(ms),
        "errors": errors,
        "throughput_rps": round(len(ms) / seconds, 1),
        "p50_ms": round(float(np.percentile(ms, 50)), 1),
        "p99_ms": round(float(np.percentile(ms, 99)), 1),
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
        [
            sys.executable,
            "-m",
            "bentoml",
            "serve",
            "serving.service:NeedRadar",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--working-dir",
            str(ROOT),
        ],
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
        single = asyncio.run(_load(url, ids, args.clients, args.seconds, 1))
        batch = asyncio.run(_load(url, ids, 4, min(args.seconds, 20), 100))
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    print(
        json.dumps(
            {
                "clients": args.clients,
                "seconds": args.seconds,
                "one_customer": single,
                "batch_of_100_with_4_clients": batch,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
