"""CDNOW: `churn backtest --cutoff 1997-09-30 --horizon-days 91` next to its peers. Prints JSON.

Usage: .venv/bin/python benchmarks/bench_churn_cdnow.py
Churn = no purchase in the 91 days after the cutoff. Peers in the same run: the BG/NBD model
(lifetimes), the recency rule, logistic regression, and LightGBM trained on a single snapshot.
The recipe chooses its capacity and blend on the validation cutoffs only (docs/churn.md).
"""

from __future__ import annotations

import json
import time

import numpy as np
import pandas as pd
from lifetimes import BetaGeoFitter
from lifetimes.utils import summary_data_from_transaction_data
from sklearn.metrics import roc_auc_score

from core.config import load_config
from features.importers import cdnow_events
from features.labels import build_training_frame, churn_labels
from features.vectors import build_vectors
from training.churn_model import ChurnModel
from training.churn_recipes import backtest_churn

CUTOFF, HORIZON = pd.Timestamp("1997-09-30"), 91


def main() -> None:
    settings = load_config()
    events = cdnow_events()
    out = {}
    t0 = time.perf_counter()
    r = backtest_churn(events, settings, CUTOFF, HORIZON)
    out["recipe"] = {**r["metrics"]["lightgbm"], "seconds": round(time.perf_counter() - t0, 1)}
    out["recipe_chosen"] = r.get("recipe")
    out["logistic_regression"] = r["metrics"]["logistic_regression"]
    out["recency_rule"] = r["metrics"]["recency_rule"]
    now = build_vectors(events, CUTOFF, settings)
    y = churn_labels(events, CUTOFF, HORIZON).reindex(now["customer_id"]).to_numpy()

    tx = events.transactions[events.transactions["ts"] < CUTOFF + pd.Timedelta(days=1)]
    rfm = summary_data_from_transaction_data(tx, "customer_id", "ts", observation_period_end=CUTOFF, freq="D")
    bg = BetaGeoFitter(penalizer_coef=0.0).fit(rfm["frequency"], rfm["recency"], rfm["T"])
    expected = bg.conditional_expected_number_of_purchases_up_to_time(
        HORIZON, rfm["frequency"], rfm["recency"], rfm["T"]
    )
    out["bg_nbd"] = {
        "auc": round(float(roc_auc_score(y, -expected.reindex(now["customer_id"]).to_numpy())), 4)
    }

    single = build_training_frame(events, settings, [CUTOFF - pd.Timedelta(days=HORIZON)], HORIZON)
    m = ChurnModel().fit(single, single["churned"])
    out["lightgbm_single_snapshot"] = {"auc": round(float(roc_auc_score(y, m.predict_proba(now))), 4)}
    print(
        json.dumps(
            {
                "dataset": "CDNOW (lifetimes CDNOW_master.txt)",
                "cutoff": "1997-09-30",
                "horizon_days": HORIZON,
                "customers_scored": len(now),
                "churn_rate": round(float(np.mean(y)), 4),
                "results": out,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
