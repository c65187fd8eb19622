"""The feedback text model against its baselines on the default sample's labelled texts; print JSON.

Usage: .venv/bin/python benchmarks/bench_text_model.py [--data DIR]
Runs what `needradar feedback train --data DIR --label-col COL` runs (load the folder, time split:
the newest 20% of texts held out, fit, compare, MLflow run and registry in a temporary home) for
both label columns. The peers, fitted on the same training texts and scored on the same held-out
texts, are the majority class and the keyword rules. Nothing is chosen on the held-out texts.
Without --data the default sample (configs/needradar.yaml `sample`) is generated into a temp folder.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", type=Path, default=None)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench_text_"))
    os.environ["NEEDRADAR_HOME"] = str(tmp / "home")
    os.environ["MLFLOW_TRACKING_URI"] = f"sqlite:///{tmp}/home/mlflow.db"

    from core.config import load_config
    from experiments.feedback_experiment import train_and_register
    from features.generate import generate_sample
    from features.load import load_event_data, write_event_data

    settings = load_config()
    data = args.data
    if data is None:
        data = write_event_data(generate_sample(settings).events, tmp / "data")
    t0 = time.perf_counter()
    events = load_event_data(data, settings, quarantine_dir=tmp / "quarantine")
    out = {"data": str(args.data or "default sample"), "load_seconds": round(time.perf_counter() - t0, 2)}
    for col in ("text_class", "text_sentiment"):
        t0, c0 = time.perf_counter(), time.process_time()
        outcome = train_and_register(events, col, settings)
        out[col] = {
            "macro_f1": outcome.macro_f1,
            "accuracy": outcome.accuracy,
            "train_rows": outcome.train_rows,
            "test_rows": outcome.test_rows,
            "seconds": round(time.perf_counter() - t0, 2),
            "cpu_seconds": round(time.process_time() - c0, 2),
        }
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
