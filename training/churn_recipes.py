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
from training.evaluation import classification_metrics, compare, feature_columns

logger = logging.getLogger(__name__)

BASE_RATE_BAND = (0.01, 0.5)  # outside it a ranked list tells little (nearly nobody, or nearly everyone)
RHYTHM_QUANTILE = 0.8  # the horizon most of a customer's usual gaps between activities fit in

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
    folds: list[dict[str, Any]] = field(default_factory=list)  # one row per seed, fold and model
    recipes: list[str] = field(default_factory=list)  # what the inner validation chose, per fold

    def summary(self) -> dict[str, Any]:
        """Per model: the mean over the first seed's folds ("mean") and over every seed's
        ("mean_over_seeds", with the seeds' spread), as `churn evaluate` reports them."""
        frame = pd.DataFrame(self.folds)
        first = frame[frame["seed"] == frame["seed"].min()]
        per_seed = frame.drop(columns="fold").groupby(["model", "seed"]).mean()
        over = per_seed.groupby("model").mean()
        spread = per_seed["auc"].groupby("model").std(ddof=0)
        return {
            "folds": self.folds,
            "seeds": sorted(frame["seed"].unique().tolist()),
            "mean": first.drop(columns=["fold", "seed"]).groupby("model").mean().round(4).to_dict("index"),
            "mean_over_seeds": over.round(4).to_dict("index"),
            "auc_sd_over_seeds": spread.round(4).to_dict(),
            "recipes": self.recipes,
        }


def lightgbm_defaults(X_train: pd.DataFrame, y_train, X_test: pd.DataFrame) -> np.ndarray:
    """The peer a user reaches for first: `LGBMClassifier()` with its library defaults."""
    import lightgbm as lgb

    return lgb.LGBMClassifier(verbose=-1, n_jobs=1).fit(X_train, y_train).predict_proba(X_test)[:, 1]


def evaluate_table(
    table: pd.DataFrame,
    label: str,
    id_col: str | None = None,
    folds: int = 5,
    seed: int = 42,
    params: dict[str, Any] | None = None,
    repeats: int = 5,
) -> EvaluationResult:
    """Stratified k-fold cross-validation of the full recipe next to its peers, repeated with the
    fold seeds seed, seed + 1, ...; the recipe chooses and calibrates inside each training part."""
    if id_col is not None and id_col not in table.columns:
        raise DataError(
            f"id column {id_col!r} not found; columns are {', '.join(map(str, table.columns[:12]))}"
        )
    X, y = prepare_table(table, label, id_col)
    result = EvaluationResult()
    for s in range(seed, seed + max(1, repeats)):
        for k, (tr, te) in enumerate(StratifiedKFold(folds, shuffle=True, random_state=s).split(X, y)):
            model = ChurnModel(params_for(params), random_state=s, linear=True).fit(X.iloc[tr], y[tr])
            table_k = compare(y[te], model.predict_proba(X.iloc[te]), X.iloc[tr], y[tr], X.iloc[te])
            table_k.loc["lightgbm_defaults"] = classification_metrics(
                y[te], lightgbm_defaults(X.iloc[tr], y[tr], X.iloc[te])
            )
            for name, row in table_k.iterrows():
                result.folds.append({"seed": s, "fold": k, "model": name, **row.to_dict()})
            result.recipes.append(model.recipe_)
            logger.info("seed %d fold %d: AUC %.4f (%s)", s, k, table_k.loc["lightgbm", "auc"], model.recipe_)
    return result


def check_horizon(horizon_days: int) -> int:
    if horizon_days < 1:
        raise DataError(f"--horizon-days must be a whole number of days >= 1, got {horizon_days}")
    return horizon_days


def default_horizon(events: EventData, settings: Settings) -> tuple[int, str]:
    """The churn horizon when the user gives none, and why.

    A horizon set in the config wins; data that records churn dates keeps the config's default.
    When churn means "no activity in the window", the window must fit the data's rhythm: the
    RHYTHM_QUANTILE of the gaps between a customer's active days, rounded up to whole weeks (7 to
    364 days), so that customers buying at their usual pace are rarely labelled churned.
    """
    from core.config import ChurnConfig

    configured = settings.churn.horizon_days
    if configured != ChurnConfig.model_fields["horizon_days"].default:
        return configured, "set in the config"
    if events.customers["churn_ts"].notna().any():
        return configured, "the config's default; the data records churn dates"
    days = []
    for name, df in events.tables().items():
        if name != "customers" and len(df):
            days.append(df[["customer_id"]].assign(day=df["ts"].dt.normalize()))
    if not days:
        return configured, "the config's default; the data has no activity to learn a rhythm from"
    active = pd.concat(days).drop_duplicates().sort_values(["customer_id", "day"])
    gaps = active.groupby("customer_id")["day"].diff().dt.days.dropna()
    if len(gaps) < 30:
        return configured, f"the config's default; only {len(gaps)} repeat activities to learn a rhythm from"
    q = float(gaps.quantile(RHYTHM_QUANTILE))
    weeks = int(np.clip(np.ceil(q / 7), 1, 52))
    return (
        7 * weeks,
        f"{RHYTHM_QUANTILE:.0%} of the gaps between a customer's active days are {q:.0f} days or less",
    )


def base_rate_warning(frame: pd.DataFrame, horizon_days: int) -> str | None:
    """A sentence when the share of churners is outside BASE_RATE_BAND, else None."""
    rate = float(frame["churned"].mean())
    low, high = BASE_RATE_BAND
    if low <= rate <= high:
        return None
    hint = "a longer" if rate < low else "a shorter"
    return (
        f"{rate:.1%} of training rows churn within {horizon_days} days (sensible: {low:.0%} to {high:.0%}); "
        f"the risk list will rank poorly: try {hint} --horizon-days"
        + (", or leave out customers who lapsed long ago" if rate > high else "")
    )


@dataclass
class ChurnTrainResult:
    model: ChurnModel
    comparison: pd.DataFrame  # model and baselines on the out-of-time holdout
    holdout: pd.DataFrame  # the last cutoff's vectors with labels
    data_window: dict[str, str]
    cutoffs: dict[str, list[str]]
    params: dict[str, Any]
    warnings: list[str] = field(default_factory=list)


def split_cutoffs(
    cutoffs: list[pd.Timestamp], validation: int, horizon_days: int = 0, holdout: int = 1
) -> tuple[list, list, list]:
    """The last `holdout` cutoffs test; of the cutoffs whose label window ends by the first test
    cutoff (a gap of one horizon, so no training outcome lies in the test window), the latest
    `validation` validate and calibrate and the earlier ones train."""
    test = cutoffs[len(cutoffs) - holdout :]
    gap = pd.Timedelta(days=horizon_days)
    before = [c for c in cutoffs[: len(cutoffs) - holdout] if c + gap <= test[0]]
    if len(before) < validation + 1:
        raise DataError(
            f"{len(cutoffs)} cutoff(s) leave {len(before)} whose {horizon_days}-day label window ends before "
            f"the holdout cutoff: too few for training and {validation} validation cutoff(s); use more "
            "data, a shorter horizon or fewer validation cutoffs"
        )
    return before[:-validation], before[-validation:], test


def fit_on_frame(
    frame: pd.DataFrame,
    train: list,
    valid: list,
    params: dict[str, Any] | None,
    seed: int = 42,
    refit: bool = True,
    client=None,
) -> ChurnModel:
    """The recipe on stacked cutoffs: chosen on the validation cutoffs, refit on both (unless
    `refit` is off, as in tuning, where `metrics_` are then the validation cutoffs' own). With a
    Dask `client` the refit's trees are trained by lightgbm.dask across its workers."""
    tr, va = frame[frame["cutoff"].isin(train)], frame[frame["cutoff"].isin(valid)]
    for name, part in (("training", tr), ("validation", va)):
        if part["churned"].nunique() < 2:
            raise DataError(
                f"the {name} cutoffs have only one label class; use more data or a longer horizon"
            )
    model = ChurnModel(params_for(params), random_state=seed, linear=True, refit=refit)
    return model.fit(tr, tr["churned"], va, va["churned"], client=client)


def train_churn(
    events: EventData,
    settings: Settings,
    frame: pd.DataFrame,
    cutoffs: list[pd.Timestamp],
    horizon_days: int,
    params: dict[str, Any] | None = None,
    client=None,
) -> ChurnTrainResult:
    """Train on earlier cutoffs, validate and calibrate on later ones, report on the last one.

    With a Dask `client` the shipped trees are trained by lightgbm.dask across its workers.
    """
    train, valid, test = split_cutoffs(cutoffs, settings.churn.validation_cutoffs, horizon_days)
    params = {**settings.churn.lightgbm, **(params or {})}
    warning = base_rate_warning(frame[frame["cutoff"].isin(train + valid)], horizon_days)
    if warning:
        logger.warning("%s", warning)
    model = fit_on_frame(frame, train, valid, params, client=client)
    model.trained_on_ |= {"tables": sorted(events.tables()), "horizon_days": horizon_days}
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
    return ChurnTrainResult(
        model, comparison, holdout, window, split, model.params, [warning] if warning else []
    )


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
        "recipe": model.recipe_,
        "metrics": table.round(4).to_dict("index"),
    }
