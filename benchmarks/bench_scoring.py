"""Batch scoring throughput: the at-risk list for 1,000,000 customers, reasons for the top 100,000.

Synthetic vectors (40 numeric features, ten named like needradar's so the sentences and playbook
run, plus segment, value_tier and annual_value) and a ChurnModel of up to 300 depth-6 trees
(63 leaves); prints JSON with the time of each step.

    .venv/bin/python benchmarks/bench_scoring.py [--customers 1000000] [--top 100000]
"""

from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np
import pandas as pd

from core.config import load_config
from serving.scoring import score_customers
from training.churn_model import ChurnModel

NAMES = [
    "tickets_unresolved_30d",
    "usage_minutes_trend_30d",
    "req_oldest_open_days",
    "monthly_fee",
    "tickets_90d",
    "usage_sessions_30d",
    "days_since_last_activity",
    "promo_share_90d",
    "nps_last",
    "csat_last",
]


def vectors(n: int, seed: int, n_features: int = 40) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, n_features))
    df = pd.DataFrame(X, columns=NAMES + [f"f_{i}" for i in range(n_features - len(NAMES))])
    logit = X[:, :6] @ np.array([1.0, -0.8, 0.6, 0.4, 0.5, -0.5]) + 0.4 * X[:, 6] * X[:, 7] - 1.5
    df.insert(0, "customer_id", [f"C{i:07d}" for i in range(n)])
    df["segment"] = pd.Categorical(rng.choice(["consumer", "business"], n))
    df["value_tier"] = pd.Categorical(rng.choice(["top", "potential", "reactivate"], n, p=[0.18, 0.5, 0.32]))
    df["annual_value"] = rng.gamma(2.0, 300.0, n)
    df["churned"] = (logit + rng.logistic(size=n) > 0).astype(int)
    return df


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--customers", type=int, default=1_000_000)
    ap.add_argument("--top", type=int, default=100_000)
    args = ap.parse_args()
    settings = load_config()
    train = vectors(30_000, 0)
    model = ChurnModel({"n_estimators": 300, "num_leaves": 63, "max_depth": 6, "learning_rate": 0.05}).fit(
        train.drop(columns=["value_tier", "annual_value"]), train["churned"]
    )
    data = vectors(args.customers, 1).drop(columns="churned")
    score_customers(model, data.head(200), settings, explain_top=100)  # JIT-compile and build SHAP tables
    t = time.perf_counter()
    model.predict_proba(data)
    predict_s = time.perf_counter() - t
    t = time.perf_counter()
    scored = score_customers(model, data, settings, explain_top=args.top)
    total_s = time.perf_counter() - t
    print(
        json.dumps(
            {
                "customers": len(scored),
                "explained": args.top,
                "trees": model.best_iteration_,
                "features": len(model.feature_names_),
                "predict_proba_s": round(predict_s, 2),
                "score_customers_s": round(total_s, 2),
                "customers_per_s": round(len(scored) / total_s),
                "target_s": 60,
                "reasons_filled": int(scored["reason_1_feature"].notna().sum()),
                "load_average": os.getloadavg()[0],
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
