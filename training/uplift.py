"""The uplift model: how much each action lowers a customer's churn within the horizon.

Trained on the randomised contact history (the control group was drawn at random from the same
lists, so treated and control listings are comparable). The uplift of action a for a customer is
p(churn | no action) minus p(churn | treated with a): the chance the action saves them. Features
are the customer's vectors as of the last cutoff before the list day (nothing later).
"""

from __future__ import annotations

import logging
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd

from core.config import Settings
from core.errors import DataError
from features.contacts import listings
from features.contract import EventData
from features.vectors import CATEGORICAL, customer_vectors
from training.evaluation import feature_columns

logger = logging.getLogger(__name__)

DEFAULT_PARAMS: dict[str, Any] = {
    "n_estimators": 200,
    "learning_rate": 0.03,
    "num_leaves": 7,
    "min_child_samples": 60,
    "subsample": 0.8,
    "subsample_freq": 1,
    "colsample_bytree": 0.8,
    "reg_lambda": 5.0,
    "verbose": -1,
    "n_jobs": 1,
}
LISTING_COLUMNS = (
    "day",
    "group",
    "action",
    "channel",
    "campaign",
    "risk_tier",
    "cost",
    "annual_fee",
    "churned",
    "matured",
    "as_of",
)
MIN_ROWS = 50  # an action with fewer treated listings has no model of its own
LEARNERS = ("s", "t", "x")


def uplift_frame(events: EventData, settings: Settings, every_days: int = 30) -> pd.DataFrame:
    """Matured listings with the customer's vectors as of the last cutoff before the list day.

    Cutoffs run back from the data's end every `every_days` days; vectors are computed only for the
    customers listed after each cutoff, so the frame is cheap to build.
    """
    lst = listings(events, settings.retention.effect_horizon_days)
    lst = lst[lst["matured"]].reset_index(drop=True)
    if lst.empty:
        raise DataError("contacts: no listing has a full horizon yet; the uplift model needs history")
    end = events.last_event_ts().normalize()
    back = ((end - lst["day"]).dt.days // every_days + 1) * every_days
    lst["as_of"] = end - pd.to_timedelta(back, unit="D")  # strictly before the list day
    parts = []
    for as_of, rows in lst.groupby("as_of", sort=True):
        ids = pd.Index(rows["customer_id"].unique())
        sub = EventData(
            **{**events.tables(), "customers": events.customers[events.customers["customer_id"].isin(ids)]}
        )
        vec = customer_vectors(sub, as_of, settings)
        parts.append(rows.merge(vec, on="customer_id", how="inner"))
    frame = pd.concat(parts, ignore_index=True)
    for col in CATEGORICAL:  # concat of partitions with different categories gives objects
        if col in frame:
            frame[col] = frame[col].astype("category")
    logger.info("uplift frame: %d listings, %d cutoffs", len(frame), len(parts))
    return frame


class UpliftLearner:
    """What every uplift learner shares: the listings' features and actions, and the best action
    (by the subclass's `saved_probability`)."""

    def _start_fit(self, frame: pd.DataFrame, min_control: int) -> np.ndarray:
        """Learn the feature names and the actions tried often enough; the control rows' mask."""
        self.feature_names_ = [c for c in feature_columns(frame) if c not in LISTING_COLUMNS]
        control = (frame["group"] == "control").to_numpy()
        if control.sum() < min_control:
            raise DataError(
                f"contacts: {int(control.sum())} control listings; the uplift model needs {min_control}"
            )
        counts = frame.loc[~control, "action"].value_counts()
        self.actions_ = sorted(str(a) for a, n in counts.items() if n >= self.min_rows)
        return control

    def best_action(self, X: pd.DataFrame, channels=None) -> pd.DataFrame:
        """The action with the highest saved probability per row, and that probability."""
        table = np.column_stack(
            [self.saved_probability(X, np.full(len(X), a, dtype=object), channels) for a in self.actions_]
        )
        pick = table.argmax(axis=1)
        return pd.DataFrame(
            {"best_action": np.array(self.actions_)[pick], "saved_probability": table.max(axis=1)}
        )


class UpliftModel(UpliftLearner):
    """Uplift by a meta-learner over LightGBM; `saved_probability` is p(churn | no action) minus
    p(churn | the action, on its channel): a difference of probabilities, in customers.

    learner "s": one model on all listings with `treated`, the action and the channel as inputs (blank
    for the control group). learner "t": a control model and a model per action (with the channel).
    learner "x": the T-learner's models impute each listing's own effect (control prediction minus
    outcome for the treated, outcome minus the action's prediction for the controls); a regressor per
    action and side learns those effects, weighted by the share of each side. Which learner and
    capacity the service uses is chosen out of time on the training history
    (`training.uplift_selection`).
    """

    def __init__(self, params: dict[str, Any] | None = None, learner: str = "x", min_rows: int = MIN_ROWS):
        if learner not in LEARNERS:
            raise ValueError(f"learner must be one of {', '.join(LEARNERS)}, got {learner!r}")
        self.params = {**DEFAULT_PARAMS, **(params or {})}
        self.learner = learner
        self.min_rows = min_rows

    def __repr__(self) -> str:
        return f"UpliftModel(learner={self.learner!r}, params={self.params}, min_rows={self.min_rows})"

    def fit(self, frame: pd.DataFrame) -> UpliftModel:
        control = self._start_fit(frame, self.min_rows)
        self.channels_ = sorted({c for ch in frame["channel"].astype(str) for c in ch.split("+")})
        y = frame["churned"].to_numpy(int)
        if self.learner == "s":
            X = self._design(frame, frame["action"], frame["channel"], ~control)
            self.model_ = lgb.LGBMClassifier(**self.params).fit(X, y)
        else:
            self.control_ = lgb.LGBMClassifier(**self.params).fit(
                frame.loc[control, self.feature_names_], y[control]
            )
            self.treated_ = {}
            for a in self.actions_:
                rows = ~control & (frame["action"] == a).to_numpy()
                X = self._with_channel(frame[rows], frame.loc[rows, "channel"])
                self.treated_[a] = lgb.LGBMClassifier(**self.params).fit(X, y[rows])
        if self.learner == "x":
            self._fit_effects(frame, control, y)
        logger.info(
            "uplift model (%s-learner): %d listings, %d actions", self.learner, len(frame), len(self.actions_)
        )
        return self

    def _fit_effects(self, frame: pd.DataFrame, control: np.ndarray, y: np.ndarray) -> None:
        """The X-learner's second stage: imputed effects per action, on each side."""
        ctrl = frame[control]
        x_ctrl = self._with_channel(ctrl, ctrl["channel"])
        self.effects_, self.weights_ = {}, {}
        for a in self.actions_:
            rows = ~control & (frame["action"] == a).to_numpy()
            treated = frame[rows]
            saved_treated = self.control_.predict_proba(treated[self.feature_names_])[:, 1] - y[rows]
            saved_control = y[control] - self.treated_[a].predict_proba(x_ctrl)[:, 1]
            x_treated = self._with_channel(treated, treated["channel"])
            self.effects_[a] = (
                lgb.LGBMRegressor(**self.params).fit(x_treated, saved_treated),
                lgb.LGBMRegressor(**self.params).fit(x_ctrl, saved_control),
            )
            # Each side's estimate is weighted by the other side's size (the propensity is the design's).
            self.weights_[a] = rows.sum() / (rows.sum() + control.sum())

    def _channel(self, channels, index: pd.Index) -> pd.Categorical:
        first = pd.Series(np.asarray(channels, dtype=object), index=index).astype(str).str.split("+").str[0]
        return pd.Categorical(first, self.channels_)

    def _with_channel(self, X: pd.DataFrame, channels) -> pd.DataFrame:
        """The vectors plus the (first) contact channel, for the per-action models."""
        out = X[self.feature_names_].copy()
        out["_channel"] = self._channel(channels, out.index)
        return out

    def _design(self, X: pd.DataFrame, actions, channels, treated: np.ndarray) -> pd.DataFrame:
        """The S-learner's inputs: the vectors plus treated, action and (first) channel."""
        out = X[self.feature_names_].copy()
        channel = self._channel(channels, out.index)
        out["_treated"] = treated.astype(float)
        out["_action"] = pd.Categorical(
            np.where(treated, np.asarray(actions, dtype=object), None), self.actions_
        )
        out["_channel"] = pd.Categorical(
            np.where(treated, np.asarray(channel, dtype=object), None), self.channels_
        )
        return out

    def churn_probability(self, X: pd.DataFrame) -> np.ndarray:
        """p(churn within the horizon) without any action."""
        if self.learner == "s":
            design = self._design(X, np.full(len(X), None), np.full(len(X), ""), np.zeros(len(X), bool))
            return self.model_.predict_proba(design)[:, 1]
        return self.control_.predict_proba(X[self.feature_names_])[:, 1]

    def saved_probability(self, X: pd.DataFrame, actions, channels=None) -> np.ndarray:
        """The chance that each row's action (on its channel) saves the customer; 0 for unknown actions.

        Args:
            channels: the contact channel per row ("a+b": the first counts); default `X["channel"]`.
        """
        actions = np.asarray(actions, dtype=object)
        channels = X["channel"] if channels is None else channels
        known = np.isin(actions, self.actions_)
        if self.learner == "s":
            design = self._design(X, actions, channels, known)
            treated = self.model_.predict_proba(design)[:, 1]
            return np.where(known, self.churn_probability(X) - treated, 0.0)
        out = np.zeros(len(X))
        base = self.churn_probability(X) if self.learner == "t" else None
        channels = np.asarray(channels, dtype=object)
        for action in self.actions_:
            rows = actions == action
            if not rows.any():
                continue
            x = self._with_channel(X.loc[rows], channels[rows])
            if self.learner == "t":
                out[rows] = base[rows] - self.treated_[action].predict_proba(x)[:, 1]
            else:
                on_treated, on_control = self.effects_[action]
                w = self.weights_[action]
                out[rows] = w * on_control.predict(x) + (1 - w) * on_treated.predict(x)
        return out


def out_of_time_split(
    frame: pd.DataFrame, test_days: int, horizon_days: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Test on the listings of the last `test_days` days; train on those whose horizon ended before."""
    test_start = frame["day"].max() - pd.Timedelta(days=test_days - 1)
    train = frame[frame["day"] + pd.Timedelta(days=horizon_days) <= test_start]
    test = frame[frame["day"] >= test_start]
    return train.reset_index(drop=True), test.reset_index(drop=True)


def qini_auc(score: np.ndarray, test: pd.DataFrame) -> tuple[float, np.ndarray, np.ndarray]:
    """Area under the Qini curve above random targeting (saved customers), and the curve."""
    treated = (test["group"] == "treatment").to_numpy()
    churned = test["churned"].to_numpy(bool)
    order = np.argsort(-np.asarray(score, float), kind="stable")
    t, y = treated[order], churned[order]
    nt, nc = np.cumsum(t), np.cumsum(~t)
    with np.errstate(invalid="ignore", divide="ignore"):
        saved = np.concatenate([[0.0], np.where(nc > 0, np.cumsum(~t & y) * nt / nc, 0.0) - np.cumsum(t & y)])
    x = np.arange(len(order) + 1) / max(len(order), 1)
    return float(np.trapezoid(saved - x * saved[-1], x)), x, saved
