"""The churn classifier: LightGBM, a regularised logistic regression or a blend of both, chosen by
inner cross-validation on the training part, then calibrated on out-of-fold scores."""

from __future__ import annotations

import logging
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.model_selection import GroupKFold, StratifiedKFold

from core.errors import DataError
from training.calibration import (  # noqa: F401  (models pickled before the split find them here)
    IsotonicCalibrator,
    PlattCalibrator,
    choose_calibrator,
    recalibrated_log_loss,
)
from training.churn_candidates import (  # noqa: F401  (the recipe's pool, imported from here too)
    CAPACITY_PRESETS,
    CATEGORY_LEVELS,
    CATEGORY_REGULARISED,
    DEFAULT_PARAMS,
    LIBRARY_DEFAULTS,
    LINEAR_STRENGTHS,
    LINEAR_WEIGHTS,
    SHRUNK,
    params_for,
)
from training.evaluation import LogisticBaseline, classification_metrics, feature_columns

logger = logging.getLogger(__name__)


def _native(params: dict[str, Any], seed: int) -> tuple[dict[str, Any], int]:
    """scikit-learn style LightGBM parameters as the native API takes them, and the tree budget.

    Always one thread, as the forecasters' LightGBM: below 50,000 rows the per-tree work is too
    small to share out, and above it two OpenMP threads on a busy machine (a shared server, the
    test suite's two workers) wait for each other: 60 rounds on CDNOW's 120,000 stacked rows took
    24-95 s with two threads and 4-5 s with one (docs/benchmarks.md, CDNOW).
    """
    native = {k: v for k, v in params.items() if k not in ("n_estimators", "random_state", "n_jobs")}
    native |= {"objective": "binary", "metric": "binary_logloss", "verbose": -1, "seed": seed}
    return native | {"num_threads": 1}, int(params["n_estimators"])


class ChurnModel:
    """Calibrated churn classifier over behaviour vectors (or any labelled table).

    Args:
        params: LightGBM parameters over DEFAULT_PARAMS, or a list of candidate sets to choose from.
        calibration: "auto", "platt" or "isotonic".
        early_stopping_rounds: patience on the inner validation folds' mean log loss.
        refit: with an explicit validation set, refit the choice on training and validation rows.
        linear: also consider a regularised logistic regression and its blends with LightGBM.
        inner_folds: folds of the inner cross-validation (without an explicit validation set).
    """

    def __init__(
        self,
        params: dict[str, Any] | list[dict[str, Any]] | None = None,
        calibration: str = "auto",
        early_stopping_rounds: int = 50,
        refit: bool = True,
        random_state: int = 42,
        linear: bool = False,
        inner_folds: int = 4,
    ) -> None:
        candidates = params if isinstance(params, list) else [params or {}]
        self.candidates = [{**DEFAULT_PARAMS, **p} for p in candidates]
        self.params = self.candidates[0]  # the chosen set once fitted
        self.calibration = calibration
        self.early_stopping_rounds = early_stopping_rounds
        self.refit = refit
        self.random_state = random_state
        self.linear = linear
        self.inner_folds = inner_folds

    def __repr__(self) -> str:
        return (
            f"ChurnModel(params={self.params}, calibration={self.calibration!r}, "
            f"early_stopping_rounds={self.early_stopping_rounds}, refit={self.refit}, linear={self.linear})"
        )

    def prepare(self, X: pd.DataFrame) -> pd.DataFrame:
        """Columns, dtypes and category levels exactly as the booster saw them in training."""
        X = self._check_columns(X)
        out = X[self.feature_names_].copy()
        for c in self.feature_names_:
            if c in self.categories_:
                out[c] = pd.Categorical(out[c].astype("object"), categories=self.categories_[c])
            else:
                out[c] = pd.to_numeric(out[c], errors="coerce").astype(float)
        return out

    def _check_columns(self, X: pd.DataFrame) -> pd.DataFrame:
        """`X` with every model feature: a few missing ones are added as blanks with a warning; when
        most are missing the data is not what the model was trained on, and that is an error."""
        missing = [c for c in self.feature_names_ if c not in X.columns]
        if not missing:
            return X
        names = ", ".join(missing[:8]) + (f" and {len(missing) - 8} more" if len(missing) > 8 else "")
        if len(missing) > len(self.feature_names_) / 2:
            raise DataError(
                f"input lacks {len(missing)} of the model's {len(self.feature_names_)} features ({names}); "
                "score data like the data the model was trained on, or train a model on this data"
            )
        logger.warning("input lacks %d model feature(s), scored as blank: %s", len(missing), names)
        return X.assign(**{c: np.nan for c in missing})

    def check_tables(self, tables: list[str]) -> None:
        """Refuse data that lacks tables the model was trained on, naming them."""
        trained = getattr(self, "trained_on_", {}).get("tables", [])
        missing = [t for t in trained if t not in tables]
        if missing:
            raise DataError(
                f"the data lacks table(s) {', '.join(missing)} that the model was trained on "
                f"({', '.join(trained)}); train a model on this data"
            )
        extra = [t for t in tables if trained and t not in trained]
        if extra:
            logger.warning("the model was trained without table(s) %s; they are ignored", ", ".join(extra))

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
        self.trained_on_ = {"features": list(self.feature_names_), "rows": len(X)}

    def _cv_trees(self, params, M, y, splits) -> tuple[int, np.ndarray, list[lgb.Booster]]:
        """Early stopping on the folds' mean log loss: the tree count, out-of-fold raw scores
        (NaN on rows no fold validates) and the fold boosters."""
        native, budget = _native(params, self.random_state)
        res = lgb.cv(
            native,
            lgb.Dataset(M, y, free_raw_data=False),
            num_boost_round=budget,
            folds=splits,
            callbacks=[lgb.early_stopping(self.early_stopping_rounds, verbose=False)],
            return_cvbooster=True,
        )
        n_trees = len(res["valid binary_logloss-mean"])
        oof = np.full(len(y), np.nan)
        boosters = res["cvbooster"].boosters
        for booster, (_, va) in zip(boosters, splits, strict=True):
            oof[va] = booster.predict(M.iloc[va], raw_score=True, num_iteration=n_trees)
        return n_trees, oof, boosters

    def _cv_linear(self, X, y, splits, C: float = 1.0) -> np.ndarray:
        oof = np.full(len(y), np.nan)
        for tr, va in splits:
            oof[va] = LogisticBaseline(C).fit(X.iloc[tr], y[tr]).decision_function(X.iloc[va])
        return oof

    def _fit_trees(self, M: pd.DataFrame, y: np.ndarray, n_trees: int, client=None) -> lgb.Booster:
        native, _ = _native(self.params, self.random_state)
        if client is not None:
            from training.distributed_trees import fit_trees_on_cluster

            return fit_trees_on_cluster(client, M, y, native, n_trees)
        return lgb.train(native, lgb.Dataset(M, y), num_boost_round=n_trees)

    def fit(
        self, X: pd.DataFrame, y, X_val: pd.DataFrame | None = None, y_val=None, client=None
    ) -> ChurnModel:
        """Choose the recipe by inner validation, fit it on all rows, calibrate out of fold.

        Without a validation set the inner validation is a stratified k-fold of X; with one (later
        cutoffs) it is that set. Each LightGBM capacity (see `_pool`) early-stops on the folds' mean
        log loss; the logistic regression (its penalty the better of LINEAR_STRENGTHS) and its blends
        with the best capacity are scored on the same folds; the lowest recalibrated log loss wins.
        The calibrator is then fitted on out-of-fold scores of exactly the configuration that ships
        (the refit's tree count), never on in-sample scores.

        With a Dask `client`, the shipped trees (the final fit on all rows) are trained by
        `lightgbm.dask` across its workers; the choice and the calibration run here as always.
        """
        y = np.asarray(y).astype(int)
        if len(np.unique(y)) < 2:
            raise DataError("the label has only one class; churn needs both churned and retained customers")
        if X_val is not None:
            y_val = np.asarray(y_val).astype(int)
            splits = [(np.arange(len(X)), np.arange(len(X), len(X) + len(X_val)))]
            X, y = pd.concat([X, X_val], ignore_index=True), np.concatenate([y, y_val])
        else:
            X = X.reset_index(drop=True)
            folds = StratifiedKFold(self.inner_folds, shuffle=True, random_state=self.random_state)
            splits = list(folds.split(np.zeros(len(y)), y))
        self._learn_schema(X)
        M = self.prepare(X)
        F = X[self.feature_names_]
        va = np.concatenate([b for _, b in splits])
        pool = self._pool()
        trees = [self._cv_trees(p, M, y, splits) for p in pool]
        scores = {(i, 0.0): recalibrated_log_loss(t[1][va], y[va]) for i, t in enumerate(trees)}
        best_tree = min(scores, key=scores.get)[0]
        self.linear_C_, linear_oof = 1.0, None
        if self.linear:
            linears = {C: self._cv_linear(F, y, splits, C) for C in LINEAR_STRENGTHS}
            self.linear_C_ = min(linears, key=lambda C: recalibrated_log_loss(linears[C][va], y[va]))
            linear_oof = linears[self.linear_C_]
            for w in LINEAR_WEIGHTS:
                z = (1 - w) * trees[best_tree][1] + w * linear_oof
                scores[(best_tree, w)] = recalibrated_log_loss(z[va], y[va])
        chosen, self.linear_weight_ = min(scores, key=scores.get)
        self.selection_losses_ = {f"{i}:{w}": round(v, 5) for (i, w), v in scores.items()}
        self.params = pool[chosen]
        n_trees, oof, boosters = trees[chosen]
        w = self.linear_weight_
        oof = (1 - w) * oof + w * linear_oof if w else oof
        self.linear_ = LogisticBaseline(self.linear_C_).fit(F, y) if w else None
        time_split = len(splits) == 1
        if time_split and self.refit:
            # The refit sees more rows, so it gets proportionally more trees; its scores then spread
            # wider than the first fit's, so it is calibrated on its own out-of-fold scores.
            n_trees = max(1, round(n_trees * len(y) / len(splits[0][0])))
            self.booster_ = self._fit_trees(M, y, n_trees, client)
            oof = self._oof_of_final(X, M, F, y, n_trees)
            va = np.arange(len(y))
        elif time_split:
            self.booster_ = boosters[0]
        else:  # every fold model had n_trees trees: the out-of-fold scores are the shipped recipe's
            self.booster_ = self._fit_trees(M, y, n_trees, client)
        self.best_iteration_ = n_trees
        self.calibrator_, self.calibration_scores_ = choose_calibrator(oof[va], y[va], self.calibration)
        self.metrics_ = classification_metrics(y[va], self.calibrate(oof[va]))
        self.recipe_ = self._describe()
        logger.info(
            "churn model: %s, %s calibration, inner validation AUC %.3f",
            self.recipe_,
            self.calibrator_.method,
            self.metrics_["auc"],
        )
        return self

    def _pool(self) -> list[dict[str, Any]]:
        """The candidates, and when they are a choice (the recipe) and a categorical column has
        more than CATEGORY_LEVELS levels, each again with regularised categorical splits (the
        user's own categorical settings win)."""
        many_levels = any(len(v) > CATEGORY_LEVELS for v in self.categories_.values())
        if len(self.candidates) < 2 or not many_levels:
            return list(self.candidates)
        pool = list(self.candidates)
        for p in self.candidates:
            q = {**p, **{k: v for k, v in CATEGORY_REGULARISED.items() if k not in p}}
            if q not in pool:
                pool.append(q)
        return pool

    def _oof_of_final(self, X, M, F, y, n_trees: int) -> np.ndarray:
        """Out-of-fold raw scores of the final configuration, folds grouped by customer."""
        k = self.inner_folds
        if "customer_id" in X and X["customer_id"].nunique() >= k:
            splits = GroupKFold(k).split(M, y, groups=X["customer_id"])
        else:
            splits = StratifiedKFold(k, shuffle=True, random_state=self.random_state).split(M, y)
        oof = np.zeros(len(y))
        for tr, te in splits:
            native, _ = _native(self.params, self.random_state)
            z = lgb.train(native, lgb.Dataset(M.iloc[tr], y[tr]), n_trees).predict(M.iloc[te], raw_score=True)
            if self.linear_weight_:
                lin = LogisticBaseline(self.linear_C_).fit(F.iloc[tr], y[tr]).decision_function(F.iloc[te])
                z = (1 - self.linear_weight_) * z + self.linear_weight_ * lin
            oof[te] = z
        return oof

    def _describe(self) -> str:
        trees = f"LightGBM {self.best_iteration_} trees of {self.params['num_leaves']} leaves"
        if LIBRARY_DEFAULTS.items() <= self.params.items():
            trees += " (library defaults)"
        if CATEGORY_REGULARISED.items() <= self.params.items():
            trees += " with regularised categorical splits"
        C = getattr(self, "linear_C_", 1.0)
        regression = "logistic regression" + (f" (C={C:g})" if C != 1.0 else "")
        if self.linear_weight_ == 1:
            return regression
        if self.linear_weight_:
            w = self.linear_weight_
            return f"blend: {1 - w:.2f} x {trees} + {w:.2f} x {regression}"
        return trees

    def matrix(self, X: pd.DataFrame) -> np.ndarray:
        """The float matrix the booster reads: the values of `prepare`, categories as their codes
        (unknown levels and missing as NaN), built without copying the frame column by column."""
        X = self._check_columns(X)
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
        w = getattr(self, "linear_weight_", 0.0)
        linear = self.linear_.decision_function(self._check_columns(X)) if w else None
        return self.raw_score_of(self.matrix(X) if w < 1 else None, linear)

    def raw_score_of(self, matrix: np.ndarray | None, linear: np.ndarray | None) -> np.ndarray:
        """`raw_score` of rows already transformed: the booster's `matrix` and the regression's
        log-odds (each None when the blend does not use it)."""
        w = getattr(self, "linear_weight_", 0.0)
        linear = w * linear if w else 0.0
        if w == 1:
            return linear
        trees = self.booster_.predict(
            matrix,
            raw_score=True,
            num_iteration=self.best_iteration_,
            num_threads=1 if len(matrix) < 1000 else 0,  # an API request: threads cost more than they save
        )
        return (1 - w) * trees + linear

    def calibrate(self, raw: np.ndarray) -> np.ndarray:
        """Probabilities from raw scores (log-odds) through the fitted calibrator."""
        return self.calibrator_.transform(raw)

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        """Calibrated probability of churn within the horizon, one per row."""
        return self.calibrate(self.raw_score(X))

    def contributions(self, X: pd.DataFrame) -> np.ndarray:
        """Exact additive contributions in log-odds: (rows, features + 1), the last column the bias;
        TreeSHAP for the trees, coefficient times centred value for the regression, blended."""
        w = getattr(self, "linear_weight_", 0.0)
        out = 0.0
        if w < 1:
            trees = self.booster_.predict(
                self.prepare(X), pred_contrib=True, num_iteration=self.best_iteration_
            )
            out = (1 - w) * trees
        if w:
            out = out + w * self.linear_.contributions(self._check_columns(X)[self.feature_names_])
        return out

    def feature_importance(self) -> pd.Series:
        gain = self.booster_.feature_importance("gain", iteration=self.best_iteration_)
        return pd.Series(gain, index=self.feature_names_).sort_values(ascending=False)

    def evaluate(self, holdout: pd.DataFrame, label: str = "churned") -> dict[str, float]:
        """AUC, PR AUC, top-decile lift and Brier on a labelled frame (the promotion gate uses it)."""
        return classification_metrics(holdout[label].to_numpy(), self.predict_proba(holdout))
