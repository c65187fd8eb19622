"""Calibrators from raw scores (log-odds) to probabilities, chosen by cross-fitted Brier score."""

from __future__ import annotations

import numpy as np
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import brier_score_loss
from sklearn.model_selection import StratifiedKFold


class PlattCalibrator:
    """Logistic regression on the raw score (log-odds)."""

    method = "platt"

    def fit(self, raw: np.ndarray, y: np.ndarray) -> PlattCalibrator:
        self.lr_ = LogisticRegression(C=1e6).fit(np.asarray(raw).reshape(-1, 1), y)
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
    """Fit Platt or isotonic on held-out scores; "auto" picks the lower cross-fitted Brier."""
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


def logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(p, dtype=float), 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))


def calibration_slope(y, p) -> float:
    """Slope of the logistic regression of the outcome on logit(p): 1 when calibrated, below 1 when
    the predictions are too extreme, above 1 when too timid."""
    y = np.asarray(y).astype(int)
    if len(np.unique(y)) < 2:
        return float("nan")
    return float(LogisticRegression(C=1e6).fit(logit(p).reshape(-1, 1), y).coef_[0, 0])


def recalibrated_log_loss(raw: np.ndarray, y: np.ndarray) -> float:
    """Mean log loss of scores after a Platt fit on those same scores (two parameters): compares
    candidates by how well they separate, not by how well their raw scale happens to be calibrated."""
    p = np.clip(PlattCalibrator().fit(raw, y).transform(raw), 1e-15, 1 - 1e-15)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))
