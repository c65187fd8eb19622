"""Score 1,000,000 customers and explain the top 100,000 with the at-risk list function. Prints JSON.

Usage: .venv/bin/python benchmarks/bench_scoring.py [--customers 1000000] [--explain 100000]
The vectors are the sample data's, repeated to the size asked; the model is trained on the sample.
"""

from __future__ import annotations

import argparse
import json
import time

import pandas as pd

from features.generate import generate_sample
from features.labels import build_training_frame, default_cutoffs
from needradar.config import load_config
from serving.scoring import score_customers
from training.churn_pipeline import train_churn


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--customers", type=int, default=1_000_000)
    p.add_argument("--explain", type=int, default=100_000)
    args = p.parse_args()
    settings = load_config()
    events = generate_sample(settings, customers=10_000).events
    cutoffs = default_cutoffs(events, 30, 30, 6)
    model = train_churn(events, settings, build_training_frame(events, settings, cutoffs, 30), cutoffs, 30).model
    vectors = build_training_frame(events, settings, cutoffs[-1:], 30).drop(columns=["cutoff", "churned"])
    reps = -(-args.customers // len(vectors))
    big = pd.concat([vectors] * reps, ignore_index=True).head(args.customers)
    big["customer_id"] = [f"C{i:07d}" for i in range(len(big))]
    t0 = time.perf_counter()
    scored = score_customers(model, big, settings, explain_top=args.explain)
    seconds = time.perf_counter() - t0
    print(json.dumps({"customers": len(scored), "explained": args.explain, "trees": model.best_iteration_,
                      "features": len(model.feature_names_), "seconds": round(seconds, 1),
                      "customers_per_s": round(len(scored) / seconds)}, indent=2))


if __name__ == "__main__":
    main()
