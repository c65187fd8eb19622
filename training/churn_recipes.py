"""The churn recipes behind the commands: train on event data, evaluate any table, backtest."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.model_selection import StratifiedKFold

from core.config import Settings
from core.errors import DataError
from features.contract import EventData
from training.churn_model import ChurnModel, params_for
from training.evaluation import compare, feature_columns

logger = logging.getLogger(__name__)

TRUE_LABELS = {"1", "yes", "y", "true", "t", "churned", "churn"}
FALSE_LABELS = {"0", "no", "n", "false", "f", "retained", "stayed"}


def normalise_label(values: pd.Series, column: str) -> np.ndarray:
    """Map yes/no, true/false or 0/1 labels to 0/1; anything else is an error that lists it."""
    text = values.astype(str).str.strip().str.lower().str.replace(r"\.0$", "", regex=True)
    unknown = sorted(set(text) - TRUE_LABELS - FALSE_LABELS)
    if unknown:
        raise DataError(
            f"label column {column!r} has unknown value(s) {', '.join(map(repr, unknown[:5]))}; "
            "use yes/no, true/false or 1/0"
        )
    y = text.isin(TRUE_LABELS).to_numpy().astype(int)
    if y.min() == y.max():
        raise DataError(
            f"label column {column!r} has only one class; churn needs both churned and retained rows"
        )
    return y


def prepare_table(table: pd.DataFrame, label: str, id_col: str | None) -> tuple[pd.DataFrame, np.ndarray]:
    """Features and 0/1 labels from a user's table: strings become categories, blanks become NaN."""
    if label not in table.columns:
        raise DataError(f"label column {label!r} not found; columns are {', '.join(table.columns[:12])}")
    y = normalise_label(table[label], label)
    X = table.drop(columns=[c for c in (label, id_col) if c and c in table.columns])
    for c in X.columns:
        if X[c].dtype == object or pd.api.types.is_string_dtype(X[c]):
            as_num = pd.to_numeric(X[c].replace(r"^\s*$", np.nan, regex=True), errors="coerce")
            if as_num.notna().sum() >= 0.95 * X[c].replace(r"^\s*$", np.nan, regex=True).notna().sum():
                X[c] = as_num  # a numeric column with blanks
            else:
                X[c] = X[c].astype("category")
    if not feature_columns(X, label=label, id_col=id_col):
        raise DataError("the table has no usable feature column (only ids, dates and the label)")
    return X, y


@dataclass
class EvaluationResult:
    folds: list[dict[str, Any]] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        frame = pd.DataFrame(self.folds)
        mean = frame.drop(columns="fold").groupby("model").mean()
        return {"folds": self.folds, "mean": mean.round(4).to_dict("index")}


def evaluate_table(
    table: pd.DataFrame,
    label: str,
    id_col: str | None = None,
    folds: int = 5,
    seed: int = 42,
    params: dict[str, Any] | None = None,
) -> EvaluationResult:
    """Stratified k-fold cross-validation of the full recipe (inner validation split for early
    stopping and calibration) next to the baselines."""
    X, y = prepare_table(table, label, id_col)
    result = EvaluationResult()
    for k, (tr, te) in enumerate(StratifiedKFold(folds, shuffle=True, random_state=seed).split(X, y)):
        model = ChurnModel(params_for(params), random_state=seed).fit(X.iloc[tr], y[tr])
        p = model.predict_proba(X.iloc[te])
        table_k = compare(y[te], p, X.iloc[tr], y[tr], X.iloc[te])
        for name, row in table_k.iterrows():
            result.folds.append({"fold": k, "model": name, **row.to_dict()})
        logger.info("fold %d: AUC %.4f", k, table_k.loc["lightgbm", "auc"])
    return result


@dataclass
class ChurnTrainResult:
    model: ChurnModel
    comparison: pd.DataFrame  # model and baselines on the out-of-time holdout
    holdout: pd.DataFrame  # the last cutoff's vectors with labels
    data_window: dict[str, str]
    cutoffs: dict[str, list[str]]
    params: dict[str, Any]


def split_cutoffs(cutoffs: list[pd.Timestamp], validation: int, holdout: int = 1) -> tuple[list, list, list]:
    """Earliest cutoffs train, the next `validation` validate and calibrate, the last `holdout` test."""
    if len(cutoffs) < validation + holdout + 1:
        raise DataError(
            f"{len(cutoffs)} cutoff(s) are too few for training, {validation} validation and "
            f"{holdout} holdout cutoff(s); use more data, a shorter horizon or fewer validation cutoffs"
        )
    n_train = len(cutoffs) - validation - holdout
    return cutoffs[:n_train], cutoffs[n_train : n_train + validation], cutoffs[n_train + validation :]


def fit_on_frame(
    frame: pd.DataFrame, train: list, valid: list, params: dict[str, Any] | None, seed: int = 42
) -> ChurnModel:
    tr, va = frame[frame["cutoff"].isin(train)], frame[frame["cutoff"].isin(valid)]
    for name, part in (("training", tr), ("validation", va)):
        if part["churned"].nunique() < 2:
            raise DataError(
                f"the {name} cutoffs have only one label class; use more data or a longer horizon"
            )
    return ChurnModel(params_for(params), random_state=seed).fit(tr, tr["churned"], va, va["churned"])


def train_churn(
    events: EventData,
    settings: Settings,
    frame: pd.DataFrame,
    cutoffs: list[pd.Timestamp],
    horizon_days: int,
    params: dict[str, Any] | None = None,
) -> ChurnTrainResult:
    """Train on earlier cutoffs, validate and calibrate on later ones, report on the last one."""
    train, valid, test = split_cutoffs(cutoffs, settings.churn.validation_cutoffs)
    params = {**settings.churn.lightgbm, **(params or {})}
    model = fit_on_frame(frame, train, valid, params)
    holdout = frame[frame["cutoff"].isin(test)].reset_index(drop=True)
    fitted = frame[frame["cutoff"].isin(train + valid)]
    comparison = compare(
        holdout["churned"],
        model.predict_proba(holdout),
        fitted[model.feature_names_],
        fitted["churned"],
        holdout[model.feature_names_],
    )
    first = min(df["ts"].min() for k, df in events.tables().items() if k != "customers")
    window = {
        "data_start": f"{first:%Y-%m-%d}",
        "data_end": f"{events.last_event_ts():%Y-%m-%d}",
        "first_cutoff": f"{cutoffs[0]:%Y-%m-%d}",
        "last_cutoff": f"{cutoffs[-1]:%Y-%m-%d}",
        "horizon_days": str(horizon_days),
    }
    split = {
        k: [f"{c:%Y-%m-%d}" for c in v] for k, v in (("train", train), ("valid", valid), ("holdout", test))
    }
    return ChurnTrainResult(model, comparison, holdout, window, split, model.params)


def backtest_churn(
    events: EventData,
    settings: Settings,
    cutoff: pd.Timestamp | str,
    horizon_days: int,
    every_days: int | None = None,
    n_cutoffs: int | None = None,
    params: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Train only on what was known by `cutoff`, score everyone active then, compare with reality."""
    from features.labels import build_training_frame, churn_labels, default_cutoffs
    from features.vectors import build_vectors

    cutoff = pd.Timestamp(cutoff)
    last = events.last_event_ts().normalize()
    if cutoff + pd.Timedelta(days=horizon_days) > last:
        raise DataError(
            f"cutoff {cutoff:%Y-%m-%d} + {horizon_days} days reaches past the data's end {last:%Y-%m-%d}; "
            "choose an earlier cutoff or a shorter horizon"
        )
    cutoffs = default_cutoffs(
        events,
        horizon_days,
        every_days or settings.churn.cutoff_every_days,
        n_cutoffs or settings.churn.n_cutoffs,
        end=cutoff,
    )
    frame = build_training_frame(events, settings, cutoffs, horizon_days)
    n_valid = max(1, min(settings.churn.validation_cutoffs, len(cutoffs) - 1))
    train, valid = cutoffs[:-n_valid], cutoffs[-n_valid:]
    if not train:
        raise DataError(
            f"only {len(cutoffs)} cutoff fits before {cutoff:%Y-%m-%d}; use a later cutoff or shorter horizon"
        )
    model = fit_on_frame(frame, train, valid, {**settings.churn.lightgbm, **(params or {})})
    now = build_vectors(events, cutoff, settings)
    y = churn_labels(events, cutoff, horizon_days).reindex(now["customer_id"]).to_numpy()
    table = compare(
        y, model.predict_proba(now), frame[model.feature_names_], frame["churned"], now[model.feature_names_]
    )
    return {
        "cutoff": f"{cutoff:%Y-%m-%d}",
        "horizon_days": horizon_days,
        "customers_scored": len(now),
        "churn_rate": float(np.mean(y)),
        "training_cutoffs": [f"{c:%Y-%m-%d}" for c in cutoffs],
        "training_rows": len(frame),
        "metrics": table.round(4).to_dict("index"),
    }
