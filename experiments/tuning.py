"""Optuna tuning of the churn model on the out-of-time validation fold; each trial a nested run."""

from __future__ import annotations

import logging
from typing import Any

import mlflow
import optuna
import pandas as pd

from training.churn_recipes import fit_on_frame

logger = logging.getLogger(__name__)


def search_space(trial: optuna.Trial) -> dict[str, Any]:
    return {
        "learning_rate": trial.suggest_float("learning_rate", 0.01, 0.15, log=True),
        "num_leaves": trial.suggest_int("num_leaves", 4, 64, log=True),
        "min_child_samples": trial.suggest_int("min_child_samples", 10, 400, log=True),
        "colsample_bytree": trial.suggest_float("colsample_bytree", 0.3, 1.0),
        "subsample": trial.suggest_float("subsample", 0.5, 1.0),
        "reg_lambda": trial.suggest_float("reg_lambda", 1e-3, 30, log=True),
    }


def tune(
    frame: pd.DataFrame,
    train: list,
    valid: list,
    base_params: dict[str, Any],
    trials: int,
    study_name: str,
    storage: str,
    seed: int = 42,
) -> dict[str, Any]:
    """Run (or resume) a persisted study maximising validation AUC; returns the best parameters."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(
        study_name=study_name,
        storage=storage,
        direction="maximize",
        load_if_exists=True,
        sampler=optuna.samplers.TPESampler(seed=seed),
    )

    def objective(trial: optuna.Trial) -> float:
        params = {**base_params, **search_space(trial)}
        with mlflow.start_run(run_name=f"trial-{trial.number}", nested=True):
            mlflow.log_params(params)
            auc = fit_on_frame(frame, train, valid, params, seed, refit=False).metrics_["auc"]
            mlflow.log_metric("valid_auc", auc)
        return auc

    done = len([t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE])
    study.optimize(objective, n_trials=trials)
    logger.info(
        "study %s: %d trials (%d resumed), best AUC %.4f", study_name, done + trials, done, study.best_value
    )
    return {**base_params, **study.best_params}
