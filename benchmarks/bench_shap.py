"""Exact TreeSHAP speed on a 300-tree, depth-6 LightGBM model over 50 features. Prints JSON.

Usage: .venv/bin/python benchmarks/bench_shap.py
Peers in the same run: LightGBM pred_contrib on 1 and 2 threads, shap.TreeExplainer.
"""

from __future__ import annotations

import json
import time

import lightgbm as lgb
import numpy as np
import shap


def rate(fn, X) -> float:
    fn(X[:100])
    t0 = time.perf_counter()
    fn(X)
    return len(X) / (time.perf_counter() - t0)


def main() -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(50_000, 50))
    y = (X[:, :5].sum(axis=1) + rng.normal(size=len(X)) > 0).astype(int)
    booster = lgb.train({"objective": "binary", "num_leaves": 63, "max_depth": 6, "verbose": -1}, lgb.Dataset(X, y), 300)
    rows = X[:20_000]
    out = {
        "pred_contrib_1_thread_rows_per_s": rate(lambda a: booster.predict(a, pred_contrib=True, num_threads=1), rows),
        "pred_contrib_2_threads_rows_per_s": rate(lambda a: booster.predict(a, pred_contrib=True, num_threads=2), rows),
    }
    explainer = shap.TreeExplainer(booster)
    out["shap_tree_explainer_rows_per_s"] = rate(lambda a: explainer.shap_values(a), rows[:5000])
    print(json.dumps({k: round(v) for k, v in out.items()} | {"trees": 300, "max_depth": 6, "features": 50}, indent=2))


if __name__ == "__main__":
    main()
