"""Calibrators on out-of-fold scores of the labelled churn tables: ties, Brier, slope, ECE. Prints JSON.

Usage: nice .venv/bin/python benchmarks/bench_calibration.py
Per table (bench_churn_tables.TABLES), raw LightGBM log-odds out of 5 folds (one fixed
configuration: 300 trees at learning rate 0.03), then each calibrator cross-fitted on those scores
(5 folds, 5 fold seeds, means): the isotonic step function needradar used before, the strictly
increasing isotonic calibrator it uses now, and Platt. `top5pct_tied_share` is the share of the top
5% of customers whose probability another of them shares.
"""

from __future__ import annotations

import json

import lightgbm as lgb
import numpy as np
import pandas as pd
from bench_churn_tables import TABLES, load
from sklearn.isotonic import IsotonicRegression
from sklearn.metrics import brier_score_loss, roc_auc_score
from sklearn.model_selection import StratifiedKFold

from training.calibration import IsotonicCalibrator, PlattCalibrator, calibration_slope
from training.churn_recipes import prepare_table


class StepIsotonic:
    """The calibrator before: isotonic regression as a step function."""

    def fit(self, raw: np.ndarray, y: np.ndarray) -> StepIsotonic:
        self.iso_ = IsotonicRegression(out_of_bounds="clip", y_min=1e-4, y_max=1 - 1e-4).fit(raw, y)
        return self

    def transform(self, raw: np.ndarray) -> np.ndarray:
        return self.iso_.predict(raw)


CALIBRATORS = {"step_isotonic": StepIsotonic, "isotonic": IsotonicCalibrator, "platt": PlattCalibrator}


def ece(y: np.ndarray, p: np.ndarray, bins: int = 10) -> float:
    """Expected calibration error over deciles of the prediction."""
    q = pd.qcut(p, bins, duplicates="drop", labels=False)
    d = (
        pd.DataFrame({"y": y, "p": p, "q": q})
        .groupby("q")
        .agg(y=("y", "mean"), p=("p", "mean"), n=("y", "size"))
    )
    return float((d["n"] * (d["y"] - d["p"]).abs()).sum() / d["n"].sum())


def out_of_fold_scores(X: pd.DataFrame, y: np.ndarray) -> np.ndarray:
    raw = np.zeros(len(y))
    for tr, te in StratifiedKFold(5, shuffle=True, random_state=0).split(X, y):
        model = lgb.LGBMClassifier(verbose=-1, n_jobs=1, learning_rate=0.03, n_estimators=300)
        raw[te] = model.fit(X.iloc[tr], y[tr]).predict_proba(X.iloc[te], raw_score=True)
    return raw


def bench(name: str) -> dict:
    _, _, label, id_col = TABLES[name]
    X, y = prepare_table(load(name), label, id_col)
    raw = out_of_fold_scores(X, y)
    out = {}
    for cname, cls in CALIBRATORS.items():
        rows = []
        for seed in range(100, 105):
            p = np.zeros(len(y))
            for tr, te in StratifiedKFold(5, shuffle=True, random_state=seed).split(raw.reshape(-1, 1), y):
                p[te] = cls().fit(raw[tr], y[tr]).transform(raw[te])
            top = np.sort(p)[::-1][: len(p) // 20]
            tied = pd.Series(top).duplicated(keep=False).mean()
            rows.append(
                [brier_score_loss(y, p), calibration_slope(y, p), ece(y, p), roc_auc_score(y, p), tied]
            )
        names = ["brier", "slope", "ece", "auc", "top5pct_tied_share"]
        out[cname] = dict(zip(names, np.round(np.mean(rows, axis=0), 5).tolist(), strict=True))
    return out


def main() -> None:
    print(json.dumps({name: bench(name) for name in TABLES}, indent=2))


if __name__ == "__main__":
    main()
