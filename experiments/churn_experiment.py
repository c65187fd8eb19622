"""The edge of churn training: build the frame, (tune,) train, log to MLflow and register."""

from __future__ import annotations

import logging
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import mlflow
import numpy as np

from core.config import Settings
from experiments import registry
from experiments.tracking import data_fingerprint, ensure_experiment, use_tracking
from features.contract import EventData
from features.distributed import training_frame_on_cluster
from features.labels import build_training_frame, default_cutoffs
from training.calibration import calibration_slope
from training.churn_recipes import (
    ChurnTrainResult,
    check_horizon,
    default_horizon,
    split_cutoffs,
    train_churn,
)
from training.evaluation import reliability_curve, save_plots

if TYPE_CHECKING:  # pragma: no cover - typing only
    from distributed import Client

logger = logging.getLogger(__name__)


@dataclass
class TrainOutcome:
    result: ChurnTrainResult
    run_id: str
    version: int
    fingerprint: str


def _shap_summary(result: ChurnTrainResult, out: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import shap

    sample = result.holdout.sample(min(2000, len(result.holdout)), random_state=0)
    contrib = result.model.contributions(sample)[:, :-1]
    X = result.model.prepare(sample)
    shap.summary_plot(
        contrib, X.apply(lambda c: c.cat.codes if c.dtype == "category" else c), show=False, max_display=15
    )
    path = out / "shap_summary.png"
    plt.savefig(path, dpi=100, bbox_inches="tight")
    plt.close("all")
    return path


def train_and_register(
    events: EventData,
    settings: Settings,
    horizon_days: int | None = None,
    trials: int | None = None,
    progress=None,
    client: Client | None = None,
    distributed_training: bool = False,
) -> TrainOutcome:
    """Train the churn model on stacked cutoffs, log everything to MLflow, register a challenger.

    With a Dask `client` the training frame is built per partition on its workers; with
    `distributed_training` as well, the shipped trees are trained there by lightgbm.dask. Only
    this process writes to MLflow.
    """
    if horizon_days is None:
        horizon, why = default_horizon(events, settings)
        logger.info("churn horizon %d days: %s", horizon, why)
    else:
        horizon = check_horizon(horizon_days)
    cutoffs = default_cutoffs(events, horizon, settings.churn.cutoff_every_days, settings.churn.n_cutoffs)
    if client is None:
        frame = build_training_frame(events, settings, cutoffs, horizon)
    else:
        frame = training_frame_on_cluster(client, events, settings, cutoffs, horizon)
    fingerprint = data_fingerprint(events.tables())
    use_tracking(settings)
    experiment_id = ensure_experiment(settings.tracking.churn_experiment, settings)
    with mlflow.start_run(experiment_id=experiment_id, run_name=f"churn-h{horizon}") as run:
        params = None
        if trials:
            from experiments.tuning import tune

            train, valid, _ = split_cutoffs(cutoffs, settings.churn.validation_cutoffs, horizon)
            params = tune(
                frame,
                train,
                valid,
                dict(settings.churn.lightgbm),
                trials,
                study_name=f"needradar-churn-{fingerprint}-h{horizon}",
                storage=settings.optuna_storage,
            )
        trees_on = client if distributed_training else None
        result = train_churn(events, settings, frame, cutoffs, horizon, params, client=trees_on)
        mlflow.log_params({f"lgbm.{k}": v for k, v in result.params.items()})
        mlflow.log_params(
            {
                "horizon_days": horizon,
                "calibration": result.model.calibrator_.method,
                "recipe": result.model.recipe_,
                "n_trees": result.model.best_iteration_,
                "data_fingerprint": fingerprint,
                "training_rows": len(frame),
                "trials": trials or 0,
                "trees_trained_on": "lightgbm.dask" if trees_on is not None else "one process",
            }
        )
        mlflow.log_params({f"window.{k}": v for k, v in result.data_window.items()})
        for model_name, row in result.comparison.iterrows():
            mlflow.log_metrics({f"{model_name}.{k}": float(v) for k, v in row.items() if np.isfinite(v)})
        holdout_metrics = result.comparison.loc["lightgbm"].to_dict()
        mlflow.log_metrics({f"holdout_{k}": float(v) for k, v in holdout_metrics.items()})
        slope = calibration_slope(result.holdout["churned"], result.model.predict_proba(result.holdout))
        if np.isfinite(slope):
            mlflow.log_metric("holdout_calibration_slope", slope)
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp)
            p = result.model.predict_proba(result.holdout)
            save_plots(out, result.holdout["churned"], p, result.model.feature_importance())
            _shap_summary(result, out)
            reliability_curve(result.holdout["churned"], p).to_csv(out / "reliability_curve.csv", index=False)
            result.comparison.to_csv(out / "comparison.csv")
            mlflow.log_artifacts(str(out), "report")
        example = result.holdout[result.model.feature_names_].head(5)
        example = example.astype({c: "object" for c in result.model.categorical_features_})
        signature = mlflow.models.infer_signature(example, result.model.predict_proba(example))
        version = registry.register(
            "churn",
            result.model,
            settings=settings,
            run_id=run.info.run_id,
            holdout=result.holdout,
            metrics=holdout_metrics,
            data_window=result.data_window,
            input_example=example,
            signature=signature,
        )
    return TrainOutcome(result, run.info.run_id, version, fingerprint)
