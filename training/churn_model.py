"""The churn classifier: LightGBM with early stopping and a calibration chosen on validation data."""

from __future__ import annotations

import logging
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import brier_score_loss
from sklearn.model_selection import StratifiedKFold

from core.config import ChurnConfig
from core.errors import DataError
from training.evaluation import classification_metrics, feature_columns

logger = logging.getLogger(__name__)

DEFAULT_PARAMS: dict[str, Any] = dict(ChurnConfig().lightgbm)  # one source: the config's defaults


# The capacity ladder, simplest first. No single capacity suits every table (IBM Telco is almost
# additive, event data has interactions), so the recipe tries each on its own validation fold.
SHRUNK: dict[str, Any] = {
    "n_estimators": 4000,
    "min_child_samples": 80,
    "colsample_bytree": 0.3,
    "reg_lambda": 10.0,
    "max_bin": 63,
}
CAPACITY_PRESETS: list[dict[str, Any]] = [
    {**SHRUNK, "num_leaves": 2, "learning_rate": 0.03},  # stumps: an additive model
    {**SHRUNK, "num_leaves": 4, "learning_rate": 0.01},  # pairwise interactions
    {},  # the configured defaults
]


def params_for(params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """The recipe's candidate parameter sets: each capacity preset under the user's overrides.

    Values equal to the configured defaults are not overrides; if the user fixes what the presets
    set, the candidates collapse into one.
    """
    overrides = {k: v for k, v in (params or {}).items() if DEFAULT_PARAMS.get(k) != v}
    candidates = []
    for preset in CAPACITY_PRESETS:
        p = {**DEFAULT_PARAMS, **preset, **overrides}
        if p not in candidates:
            candidates.append(p)
    return candidates


def simplest_within_one_se(losses: list[np.ndarray]) -> int:
    """Index of the first (simplest) candidate whose mean loss is within one standard error of the
    best's; the error is that of the paired per-row difference (the one-standard-error rule)."""
    best = int(np.argmin([x.mean() for x in losses]))
    for i, x in enumerate(losses):
        diff = x - losses[best]
        if diff.mean() <= diff.std() / np.sqrt(len(diff)):
            return i
    return best


class PlattCalibrator:
    """Logistic regression on the raw score (log-odds)."""

    method = "platt"

    def fit(self, raw: np.ndarray, y: np.ndarray) -> PlattCalibrator:
        self.lr_ = LogisticRegression(C=1e6).fit(raw.reshape(-1, 1), y)
        return self

    def transform(self, raw: np.ndarray) -> np.ndarray:
        return self.lr_.predict_proba(np.asarray(raw).reshape(-1, 1))[:, 1]


class IsotonicCalibrator:
    method = "isotonic"

    def fit(self, raw: np.ndarray, y: np.ndarray) -> IsotonicCalibrator:
        self.iso_ = IsotonicRegression(out_of_bounds="clip", y_min=1e-4, y_max=1 - 1e-4).fit(raw, y)
        return self

    def transform(self, raw: np.ndarray) -> np.ndarray:
        return self.iso_.predict(np.asarray(raw))


def choose_calibrator(raw: np.ndarray, y: np.ndarray, method: str = "auto", seed: int = 0):
    """Fit Platt or isotonic on validation scores; "auto" picks the lower cross-fitted Brier."""
    candidates = {"platt": PlattCalibrator, "isotonic": IsotonicCalibrator}
    if method != "auto":
        return candidates[method]().fit(raw, y), {}
    folds = StratifiedKFold(n_splits=min(5, max(2, int(y.sum()))), shuffle=True, random_state=seed)
    scores = {}
    for name, cls in candidates.items():
        p = np.zeros(len(y))
        for a, b in folds.split(raw.reshape(-1, 1), y):
            p[b] = cls().fit(raw[a], y[a]).transform(raw[b])
        scores[name] = brier_score_loss(y, p)
    best = min(scores, key=scores.get)
    return candidates[best]().fit(raw, y), scores


class ChurnModel:
    """Calibrated LightGBM churn classifier over behaviour vectors (or any labelled table).

    Args:
        params: LightGBM parameters over DEFAULT_PARAMS, or a list of candidate sets, simplest
            first, to choose from on the validation fold (see `simplest_within_one_se`).
        calibration: "auto", "platt" or "isotonic".
        early_stopping_rounds: patience on the validation fold's log loss.
    """

    def __init__(
        self,
        params: dict[str, Any] | list[dict[str, Any]] | None = None,
        calibration: str = "auto",
        early_stopping_rounds: int = 50,
        refit: bool = True,
        random_state: int = 42,
    ) -> None:
        candidates = params if isinstance(params, list) else [params or {}]
        self.candidates = [{**DEFAULT_PARAMS, **p} for p in candidates]
        self.params = self.candidates[0]  # the chosen set once fitted
        self.calibration = calibration
        self.early_stopping_rounds = early_stopping_rounds
        self.refit = refit
        self.random_state = random_state

    def __repr__(self) -> str:
        return (
            f"ChurnModel(params={self.params}, calibration={self.calibration!r}, "
            f"early_stopping_rounds={self.early_stopping_rounds}, refit={self.refit})"
        )

    def prepare(self, X: pd.DataFrame) -> pd.DataFrame:
        """Columns, dtypes and category levels exactly as the booster saw them in training."""
        self._check_columns(X)
        out = X[self.feature_names_].copy()
        for c in self.feature_names_:
            if c in self.categories_:
                out[c] = pd.Categorical(out[c].astype("object"), categories=self.categories_[c])
            else:
                out[c] = pd.to_numeric(out[c], errors="coerce").astype(float)
        return out

    def _check_columns(self, X: pd.DataFrame) -> None:
        missing = [c for c in self.feature_names_ if c not in X.columns]
        if missing:
            raise DataError(f"input lacks {len(missing)} model feature(s): {', '.join(missing[:5])}")

    def _learn_schema(self, X: pd.DataFrame) -> None:
        self.feature_names_ = feature_columns(X)
        if not self.feature_names_:
            raise DataError("the table has no usable feature column (only ids, dates and the label)")
        self.categories_ = {}
        for c in self.feature_names_:
            if X[c].dtype == "category" or not pd.api.types.is_numeric_dtype(X[c]) or X[c].dtype == bool:
                levels = pd.Series(X[c].astype("object")).dropna().astype(str).unique()
                self.categories_[c] = sorted(levels)
        self.categorical_features_ = list(self.categories_)

    def fit(self, X: pd.DataFrame, y, X_val: pd.DataFrame | None = None, y_val=None) -> ChurnModel:
        """Fit on (X, y); early-stop, choose among the candidates and calibrate on (X_val, y_val).

        Without a validation set, a stratified 20% of X is held out for both. With `refit`, the
        booster is then refit on training and validation rows together, with the number of trees
        found by early stopping scaled to the larger data; the calibrator learnt on the held-out
        scores is kept (the refit model ranks like the first one, on more data).
        """
        y = np.asarray(y).astype(int)
        if len(np.unique(y)) < 2:
            raise DataError("the label has only one class; churn needs both churned and retained customers")
        if X_val is None:
            from sklearn.model_selection import train_test_split

            idx_tr, idx_va = train_test_split(
                np.arange(len(X)), test_size=0.2, stratify=y, random_state=self.random_state
            )
            X, X_val, y, y_val = X.iloc[idx_tr], X.iloc[idx_va], y[idx_tr], y[idx_va]
        y_val = np.asarray(y_val).astype(int)
        self._learn_schema(X)
        Xt, Xv = self.prepare(X), self.prepare(X_val)
        fits, losses = [], []
        for params in self.candidates:
            clf = lgb.LGBMClassifier(**params, random_state=self.random_state, verbose=-1, n_jobs=2)
            callbacks = [lgb.early_stopping(self.early_stopping_rounds, verbose=False)]
            clf.fit(Xt, y, eval_X=(Xv,), eval_y=(y_val,), eval_metric="binary_logloss", callbacks=callbacks)
            p = np.clip(clf.predict_proba(Xv)[:, 1], 1e-15, 1 - 1e-15)
            fits.append(clf)
            losses.append(-(y_val * np.log(p) + (1 - y_val) * np.log(1 - p)))
        chosen = simplest_within_one_se(losses)
        self.selection_losses_ = [float(x.mean()) for x in losses]
        self.params, clf = self.candidates[chosen], fits[chosen]
        self.booster_ = clf.booster_
        self.best_iteration_ = int(clf.best_iteration_ or self.params["n_estimators"])
        raw_val = self.raw_score(X_val)
        self.calibrator_, self.calibration_scores_ = choose_calibrator(raw_val, y_val, self.calibration)
        self.metrics_ = classification_metrics(y_val, self.calibrate(raw_val))
        if self.refit:
            n_trees = max(1, round(self.best_iteration_ * (len(Xt) + len(Xv)) / len(Xt)))
            full = lgb.LGBMClassifier(
                **{**self.params, "n_estimators": n_trees},
                random_state=self.random_state,
                verbose=-1,
                n_jobs=2,
            )
            full.fit(pd.concat([Xt, Xv]), np.concatenate([y, y_val]))
            self.booster_ = full.booster_
            self.best_iteration_ = n_trees
        logger.info(
            "churn model: %d trees of %d leaves, %s calibration, validation AUC %.3f",
            self.best_iteration_,
            self.params["num_leaves"],
            self.calibrator_.method,
            self.metrics_["auc"],
        )
        return self

    def matrix(self, X: pd.DataFrame) -> np.ndarray:
        """The float matrix the booster reads: the values of `prepare`, categories as their codes
        (unknown levels and missing as NaN), built without copying the frame column by column."""
        self._check_columns(X)
        pos = {c: j for j, c in enumerate(self.feature_names_)}
        numeric = [c for c in self.feature_names_ if c not in self.categories_]
        out = np.empty((len(X), len(self.feature_names_)))
        try:
            out[:, [pos[c] for c in numeric]] = X[numeric].to_numpy(np.float64, na_value=np.nan)
        except (TypeError, ValueError):  # text in a numeric column: coerce it like `prepare`
            for c in numeric:
                out[:, pos[c]] = pd.to_numeric(X[c], errors="coerce").to_numpy(np.float64, na_value=np.nan)
        if "_levels" not in self.__dict__:  # built once; models pickled before it existed lack it
            self._levels = {c: pd.Index(levels, dtype=object) for c, levels in self.categories_.items()}
        for c, levels in self._levels.items():
            codes = levels.get_indexer(X[c].to_numpy(object)).astype(np.float64)
            codes[codes < 0] = np.nan
            out[:, pos[c]] = codes
        return out

    def raw_score(self, X: pd.DataFrame) -> np.ndarray:
        """Log-odds before calibration."""
        return self.booster_.predict(
            self.matrix(X),
            raw_score=True,
            num_iteration=self.best_iteration_,
            num_threads=1 if len(X) < 1000 else 0,  # an API request: threads cost more than they save
        )

    def calibrate(self, raw: np.ndarray) -> np.ndarray:
        """Probabilities from raw scores (log-odds) through the fitted calibrator."""
        return self.calibrator_.transform(raw)

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        """Calibrated probability of churn within the horizon, one per row."""
        return self.calibrate(self.raw_score(X))

    def contributions(self, X: pd.DataFrame) -> np.ndarray:
        """Exact TreeSHAP values in log-odds space: (rows, features + 1), the last column the bias."""
        return self.booster_.predict(self.prepare(X), pred_contrib=True, num_iteration=self.best_iteration_)

    def feature_importance(self) -> pd.Series:
        gain = self.booster_.feature_importance("gain", iteration=self.best_iteration_)
        return pd.Series(gain, index=self.feature_names_).sort_values(ascending=False)

    def evaluate(self, holdout: pd.DataFrame, label: str = "churned") -> dict[str, float]:
        """AUC, PR AUC, top-decile lift and Brier on a labelled frame (the promotion gate uses it)."""
        return classification_metrics(holdout[label].to_numpy(), self.predict_proba(holdout))
