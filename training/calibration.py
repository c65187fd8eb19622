"""Calibrators from raw scores (log-odds) to probabilities, chosen by cross-fitted Brier score."""

from __future__ import annotations

import numpy as np
import pandas as pd
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
    """Isotonic regression made strictly increasing, so that distinct scores keep distinct
    probabilities (a step function ties whole ranges of customers at the top of the list).

    Each step of the isotonic fit becomes a knot at its mean score. Its rate is smoothed with half
    a churner in one extra customer (Jeffreys), because a step of three churners out of three is
    not a certainty; the smoothed rates are made monotone again. Between knots the log-odds run on
    a straight line, and beyond the outer knots they continue with the slope of a logistic fit on
    the same scores.
    """

    method = "isotonic"

    def fit(self, raw: np.ndarray, y: np.ndarray) -> IsotonicCalibrator:
        raw, y = np.asarray(raw, dtype=float), np.asarray(y, dtype=float)
        steps = IsotonicRegression(out_of_bounds="clip").fit(raw, y).predict(raw)
        g = pd.DataFrame({"x": raw, "y": y}).groupby(steps)
        g = g.agg(x=("x", "mean"), s=("y", "sum"), n=("y", "size"))
        rate = IsotonicRegression().fit(g["x"], (g["s"] + 0.5) / (g["n"] + 1), sample_weight=g["n"] + 1)
        knots = pd.DataFrame({"xn": g["x"] * g["n"], "n": g["n"], "v": rate.predict(g["x"])})
        knots = knots.groupby("v").sum()  # equal smoothed rates merge into one knot
        self.knots_x_ = (knots["xn"] / knots["n"]).to_numpy()
        self.knots_z_ = logit(knots.index.to_numpy())
        slope = float(PlattCalibrator().fit(raw, y).lr_.coef_[0, 0])
        if slope <= 0 and len(knots) > 1:  # scores that do not rank: the knots' average slope
            slope = (self.knots_z_[-1] - self.knots_z_[0]) / (self.knots_x_[-1] - self.knots_x_[0])
        self.tail_slope_ = max(slope, 1e-3)
        return self

    def transform(self, raw: np.ndarray) -> np.ndarray:
        raw = np.asarray(raw, dtype=float)
        if "knots_x_" not in self.__dict__:  # pragma: no cover  (models pickled with the step version)
            return self.iso_.predict(raw)
        x, z = self.knots_x_, self.knots_z_
        out = np.interp(raw, x, z)
        out = np.where(raw < x[0], z[0] + self.tail_slope_ * (raw - x[0]), out)
        out = np.where(raw > x[-1], z[-1] + self.tail_slope_ * (raw - x[-1]), out)
        return 1 / (1 + np.exp(-out))


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
