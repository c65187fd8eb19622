"""The daily job on the demo's sample data, time per step. Prints JSON.

Usage: make demo, then  .venv/bin/python benchmarks/bench_daily.py
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path

from core.config import load_config
from features.load import read_raw_tables
from pipelines.daily import run_daily


def main() -> None:
    settings = load_config()
    data = settings.path("sample_data")
    as_of = str(read_raw_tables(data)["usage"]["ts"].max())[:10]
    with tempfile.TemporaryDirectory() as out:
        t0 = time.perf_counter()
        result = run_daily(data, as_of, Path(out), settings)
        total = time.perf_counter() - t0
    print(
        json.dumps(
            {
                "as_of": as_of,
                "ok": result.ok,
                "total_seconds": round(total, 1),
                "steps": {s["step"]: s["seconds"] for s in result.steps},
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
