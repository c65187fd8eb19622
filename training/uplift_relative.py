"""Uplift as a share of the churn risk: the configured priors, corrected by the randomised history.

The priors say which share of would-be churners each action saves. This learner keeps that form,
saved = p(churn without action) x r(action, cell), and learns r from the randomised contacts:
1. a churn model on all listings (treated marked), cross-fitted, gives each listing's churn without
   action out of sample; per risk band (x channel) the control's churned over expected calibrates it
   (randomisation makes the control the reference of its band);
2. per cell (action x risk band, optionally x channel) the observed relative reduction is
   1 - churned treated / (expected without action x the control's calibration), with the variance
   of that ratio;
3. each cell's reduction is shrunk toward the action's prior by its precision (empirical Bayes):
   r = prior + tau2 / (tau2 + v) x (observed - prior), where tau2, how far true cells spread around
   the priors, is estimated from all cells at once (a moment estimate weighted by precision). A
   small cell stays near its prior; a large one follows its own evidence.
Risk bands are terciles of the control listings' out-of-sample churn.
"""

from __future__ import annotations

import logging
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd

from training.uplift import DEFAULT_PARAMS, MIN_ROWS, UpliftLearner

logger = logging.getLogger(__name__)

BANDS = 3
FOLDS = 5  # cross-fitting of the control model
TAU2_FLOOR = 1e-4  # the spread of true cells around the priors is never taken as exactly zero
CELLS = {"action_band": ("action", "band"), "action_channel_band": ("action", "channel", "band")}


class RelativeUplift(UpliftLearner):
    """saved = p(churn | no action) x the action's relative reduction in the customer's cell, the
    reduction an empirical-Bayes blend of the configured prior and the randomised history."""

    learner = "relative"

    def __init__(
        self,
        priors: dict[str, float],
        params: dict[str, Any] | None = None,
        cells: str = "action_band",
        min_rows: int = MIN_ROWS,
    ):
        if cells not in CELLS:
            raise ValueError(f"cells must be one of {', '.join(CELLS)}, got {cells!r}")
        self.priors = dict(priors)
        self.params = {**DEFAULT_PARAMS, **(params or {})}
        self.cells = cells
        self.min_rows = min_rows

    def __repr__(self) -> str:
        return f"RelativeUplift(cells={self.cells!r}, params={self.params}, priors={self.priors})"

    def fit(self, frame: pd.DataFrame) -> RelativeUplift:
        control = self._start_fit(frame, max(self.min_rows, FOLDS))
        y = frame["churned"].to_numpy(float)
        # The churn model without action learns from all listings (treated marked, so it can tell them
        # apart) and is cross-fitted: every listing is predicted, untreated, by the fold model that
        # did not see it, so both sides' predictions are out of sample and comparable within a band.
        X = self._untreated(frame).assign(_treated=(~control).astype(float))
        folds = np.arange(len(frame)) % FOLDS
        np.random.default_rng(0).shuffle(folds)
        p_oof = np.zeros(len(frame))
        self.models_ = []
        for k in range(FOLDS):
            fit_rows = folds != k
            model = lgb.LGBMClassifier(**self.params).fit(X[fit_rows], y[fit_rows].astype(int))
            self.models_.append(model)
            p_oof[~fit_rows] = model.predict_proba(self._untreated(frame[~fit_rows]))[:, 1]
        p_control = p_oof[control]
        self.band_edges_ = np.quantile(p_control, np.linspace(0, 1, BANDS + 1)[1:-1])
        ctrl, treated = frame[control], frame[~control & frame["action"].isin(self.actions_).to_numpy()]
        keys = list(CELLS[self.cells])
        by = [k for k in keys if k != "action"]  # the control's cells: no action
        c_stats = self._keys(ctrl, p=p_control).assign(_p=p_control, _y=y[control])
        c_cells = c_stats.groupby(by).agg(c_expected=("_p", "sum"), c_churned=("_y", "sum"))
        # Out-of-sample churn over expected, per control cell: the model's calibration there, with
        # one churner of pseudo-count so that a control cell without churners does not zero it.
        calibration = (c_cells["c_churned"] + 1) / (c_cells["c_expected"] + 1)
        self.calibration_ = calibration.rename("calibration")
        t_p = p_oof[~control & frame["action"].isin(self.actions_).to_numpy()]
        t_stats = self._keys(treated, p=t_p).assign(_p=t_p, _y=treated["churned"].to_numpy(float))
        cells = t_stats.groupby(keys).agg(expected=("_p", "sum"), churned=("_y", "sum"), n=("_y", "size"))
        cells = cells.join(c_cells, on=by).join(self.calibration_, on=by)
        cells["calibration"] = cells["calibration"].fillna(1.0)
        expected = cells["expected"].clip(lower=1e-6) * cells["calibration"].clip(lower=1e-6)
        # A contact may at most double the churn: a cell with next to no expected churners cannot
        # claim more, and cannot dominate the spread below.
        observed = (1 - cells["churned"] / expected).clip(-1, 1)
        prior = np.array([self.priors.get(str(a), 0.0) for a in cells.index.get_level_values("action")])
        # Sampling variance if the prior were right (Poisson churned count), plus the control's
        # calibration error; it does not collapse when a small cell happens to have no churner.
        variance = (1 - prior).clip(0.05) / expected + (1 - prior) ** 2 / np.maximum(
            cells["c_churned"].fillna(0), 1.0
        )
        # Moment estimate for known means: E[sum (obs - prior)^2 / v] = cells + tau2 x sum 1 / v.
        precision = 1 / variance
        spread = float(((observed - prior) ** 2 * precision).sum() - len(cells)) / float(precision.sum())
        self.tau2_ = max(TAU2_FLOOR, spread)
        weight = self.tau2_ / (self.tau2_ + variance)
        self.reduction_ = pd.Series(prior + weight * (observed - prior), index=cells.index).clip(-1, 1)
        self.cell_table_ = cells.assign(
            observed=observed, prior=prior, weight=weight, reduction=self.reduction_
        )
        logger.info(
            "relative uplift: %d cells, tau2 %.4f, mean weight of the history %.2f",
            len(cells),
            self.tau2_,
            float(weight.mean()),
        )
        return self

    def _keys(self, X: pd.DataFrame, actions=None, channels=None, p=None) -> pd.DataFrame:
        """The cell keys of each row: action, first channel, risk band (of `p`, default the model's)."""
        actions = X["action"] if actions is None else actions
        channels = X["channel"] if channels is None else channels
        first = pd.Series(np.asarray(channels, dtype=object), index=X.index).astype(str).str.split("+").str[0]
        p = self.churn_probability(X) if p is None else p
        band = np.searchsorted(self.band_edges_, p, side="right")
        action = np.asarray(actions, dtype=object).astype(str)
        return pd.DataFrame({"action": action, "channel": first.to_numpy(), "band": band}, index=X.index)

    def _untreated(self, X: pd.DataFrame) -> pd.DataFrame:
        return X[self.feature_names_].assign(_treated=0.0)

    def churn_probability(self, X: pd.DataFrame) -> np.ndarray:
        """p(churn within the horizon) without any action: the fold models' average."""
        x = self._untreated(X)
        return np.mean([m.predict_proba(x)[:, 1] for m in self.models_], axis=0)

    def saved_probability(self, X: pd.DataFrame, actions, channels=None) -> np.ndarray:
        """Calibrated p(churn) x the reduction of the row's cell; a cell the history never saw takes
        the action's prior (0 for an action without one)."""
        p = self.churn_probability(X)
        keys = self._keys(X, actions, channels, p=p)
        cells = list(CELLS[self.cells])
        reduction = self.reduction_.reindex(pd.MultiIndex.from_frame(keys[cells])).to_numpy(float)
        prior = keys["action"].map(self.priors).fillna(0.0).to_numpy(float)
        reduction = np.where(np.isnan(reduction), prior, reduction)
        by = [k for k in cells if k != "action"]
        calibration = self.calibration_.reindex(
            pd.MultiIndex.from_frame(keys[by]) if len(by) > 1 else keys[by[0]]
        )
        return p * np.nan_to_num(calibration.to_numpy(float), nan=1.0) * reduction
