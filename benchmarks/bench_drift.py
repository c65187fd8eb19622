"""Daily drift check on 100,000 customers x ~70 features: cold (reference built) vs warm (cached).

Usage: .venv/bin/python benchmarks/bench_drift.py   Prints JSON.
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path

import pandas as pd

from core.config import load_config
from features.generate import generate_sample
from features.vectors import build_vectors
from monitoring.drift import cached_reference, check_drift


def main() -> None:
    settings = load_config()
    events = generate_sample(settings, customers=200_000, days=400, seed=3).events
    end = events.last_event_ts().normalize()
    reference = build_vectors(events, end - pd.Timedelta(days=30), settings)
    current = build_vectors(events, end, settings).head(100_000)
    with tempfile.TemporaryDirectory() as home:
        import os

        settings = load_config(environ={**os.environ, "NEEDRADAR_HOME": home})
        t0 = time.perf_counter()
        ref = cached_reference(settings, "bench", lambda: reference)
        check_drift(ref, current, settings, out_dir=Path(home) / "day1", workspace=False)
        cold = time.perf_counter() - t0
        t0 = time.perf_counter()
        ref = cached_reference(settings, "bench", lambda: reference)
        result = check_drift(ref, current, settings, out_dir=Path(home) / "day2", workspace=False)
        warm = time.perf_counter() - t0
    print(
        json.dumps(
            {
                "current_rows": len(current),
                "reference_rows": len(reference),
                "features": current.shape[1] - 1,
                "cold_seconds": round(cold, 1),
                "warm_seconds": round(warm, 1),
                "share_drifted": round(result.share_drifted, 3),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
