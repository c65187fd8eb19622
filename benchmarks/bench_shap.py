"""Exact TreeSHAP throughput: LightGBM pred_contrib vs shap.TreeExplainer vs serving.explain.

A 300-tree, depth-6 (num_leaves 63) LightGBM model on 50 features; prints JSON (rows/s, max abs
difference to pred_contrib) for all three in one run.

    .venv/bin/python benchmarks/bench_shap.py [--rows 4000]
"""

from __future__ import annotations

import argparse
import json
import os
import time

import lightgbm as lgb
import numpy as np

from serving.explain import booster_shap


def fit_model(n_features: int = 50, n_train: int = 20_000, seed: int = 0) -> tuple[lgb.Booster, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n_train, n_features))
    logit = X[:, :10] @ rng.normal(size=10) + 0.5 * X[:, 10] * X[:, 11]
    y = (logit + rng.logistic(size=n_train) > 0).astype(int)
    params = {
        "objective": "binary",
        "num_leaves": 63,
        "max_depth": 6,
        "learning_rate": 0.05,
        "min_child_samples": 5,
        "verbose": -1,
        "seed": seed,
        "num_threads": 2,
    }
    return lgb.train(params, lgb.Dataset(X, y), num_boost_round=300), X


def timed(fn, *args) -> tuple[float, np.ndarray]:
    t = time.perf_counter()
    out = fn(*args)
    return time.perf_counter() - t, out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=4000)
    args = ap.parse_args()
    booster, X = fit_model()
    rows = X[: args.rows]
    build_s, _ = timed(booster_shap, booster, rows[:50])  # numba compile (cached on disk) + per-model tables
    results = {}
    secs, ref = timed(lambda a: booster.predict(a, pred_contrib=True, num_threads=1), rows)
    results["lightgbm_pred_contrib_1thread"] = {"rows_per_s": round(len(rows) / secs), "max_abs_diff": 0.0}
    secs, out = timed(lambda a: booster.predict(a, pred_contrib=True, num_threads=2), rows)
    results["lightgbm_pred_contrib_2threads"] = {
        "rows_per_s": round(len(rows) / secs),
        "max_abs_diff": float(np.abs(out - ref).max()),
    }
    import shap

    explainer = shap.TreeExplainer(booster)
    secs, sv = timed(explainer.shap_values, rows)
    sv = np.column_stack([np.asarray(sv), np.full(len(rows), explainer.expected_value)])
    results["shap_TreeExplainer"] = {
        "rows_per_s": round(len(rows) / secs),
        "max_abs_diff": float(np.abs(sv - ref).max()),
    }
    secs, out = timed(booster_shap, booster, rows)
    results["needradar_tree_shap"] = {
        "rows_per_s": round(len(rows) / secs),
        "max_abs_diff": float(np.abs(out - ref).max()),
        "first_call_s": round(build_s, 2),
    }
    print(
        json.dumps(
            {
                "model": {"trees": 300, "num_leaves": 63, "max_depth": 6, "features": X.shape[1]},
                "rows": len(rows),
                "cpus": os.cpu_count(),
                "load_average": os.getloadavg()[0],
                "results": results,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
