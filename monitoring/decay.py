"""Model decay: realised quality of earlier at-risk lists and forecasts once their outcomes are known."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd

from core.config import Settings
from core.day_folders import completed_days
from features.contract import EventData
from features.labels import churn_labels
from monitoring.alerts import Alert, make_alert
from training.evaluation import classification_metrics
from training.forecasting.metrics import coverage, mase, seasonal_naive_scale

logger = logging.getLogger(__name__)


def realised_churn_quality(
    scored: pd.DataFrame, events: EventData, list_day, horizon_days: int
) -> dict[str, float]:
    """AUC, lift, Brier and calibration of a list scored on `list_day`, against what happened."""
    labels = churn_labels(events, list_day, horizon_days)
    churned = labels.reindex(scored["customer_id"]).fillna(0).to_numpy()
    predicted = scored["churn_probability"].to_numpy()
    return classification_metrics(churned, predicted) | {
        "mean_predicted": float(predicted.mean()),
        "observed_rate": float(churned.mean()),
    }


def realised_forecast_quality(forecast: pd.DataFrame, actuals: pd.DataFrame, period: int = 7) -> pd.DataFrame:
    """Per series: MASE, mean absolute error, interval coverage and days compared.

    MASE is scaled, as in the backtests, by the in-sample error of the seasonal naive forecast
    on the history before the forecast's first day.
    """
    compared = forecast.merge(actuals, on=["series_id", "ds"])
    rows = []
    for series_id, days in compared.groupby("series_id"):
        history = actuals[(actuals["series_id"] == series_id) & (actuals["ds"] < days["ds"].min())]
        scale = seasonal_naive_scale(history.sort_values("ds")["y"].to_numpy(), period)
        rows.append(
            {
                "series_id": series_id,
                "mase": mase(days["y"], days["yhat"], scale),
                "mae": float((days["y"] - days["yhat"]).abs().mean()),
                "coverage": coverage(days["y"], days["yhat_lower"], days["yhat_upper"]),
                "days": len(days),
            }
        )
    return pd.DataFrame(rows, columns=["series_id", "mase", "mae", "coverage", "days"])


def latest_matured(out_root: Path, as_of, horizon_days: int, name: str) -> tuple[pd.Timestamp, Path] | None:
    """The newest earlier daily output `name` (at_risk.parquet, forecast.csv) of a completed day
    whose horizon has passed by `as_of`: run daily, each output is judged once, when its outcome
    is complete. Days without a completion marker (a run that died) are never read."""
    for day_dir in reversed(completed_days(out_root)):
        day = pd.Timestamp(day_dir.name)
        if day + pd.Timedelta(days=horizon_days) <= pd.Timestamp(as_of) and (day_dir / name).exists():
            return day, day_dir / name
    return None


def decay_alerts(
    realised: dict[str, float], training_auc: float, as_of, list_day, settings: Settings
) -> list[Alert]:
    drop = training_auc - realised["auc"]
    if not np.isfinite(drop) or drop <= settings.monitoring.auc_drop_threshold:
        return []
    return [
        make_alert(
            "decay",
            "orange",
            "churn model",
            as_of,
            f"the list of {pd.Timestamp(list_day):%Y-%m-%d} reached AUC {realised['auc']:.3f}, "
            f"{drop:.3f} below the training figure {training_auc:.3f}; retrain with `needradar churn train`",
            settings,
            actual=realised["auc"],
            expected=training_auc,
            rule=f"auc:{pd.Timestamp(list_day):%Y-%m-%d}",
            evidence=realised,
        )
    ]


def forecast_decay_alerts(
    quality: pd.DataFrame, nominal: float, as_of, forecast_day, settings: Settings
) -> list[Alert]:
    """Per series: worse than the seasonal naive (MASE above `mase_threshold`) or interval coverage
    below nominal by more than `coverage_tolerance`. Yellow: the planners check, then retrain."""
    cfg = settings.monitoring
    origin = f"{pd.Timestamp(forecast_day):%Y-%m-%d}"
    alerts = []
    for row in quality.itertuples():
        problems = []
        if np.isfinite(row.mase) and row.mase > cfg.mase_threshold:
            problems.append(f"MASE {row.mase:.2f} (above {cfg.mase_threshold:g})")
        if row.coverage < nominal - cfg.coverage_tolerance:
            problems.append(f"intervals covered {row.coverage:.0%} (nominal {nominal:.0%})")
        if problems:
            alerts.append(
                make_alert(
                    "decay",
                    "yellow",
                    row.series_id,
                    as_of,
                    f"{row.series_id}: the forecast of {origin} reached {' and '.join(problems)} over "
                    f"{row.days} days; retrain with `needradar forecast train`",
                    settings,
                    actual=row.mase,
                    expected=cfg.mase_threshold,
                    rule=f"forecast:{origin}",
                    evidence={"mase": row.mase, "mae": row.mae, "coverage": row.coverage, "days": row.days},
                )
            )
    return alerts


def log_decay(metrics: dict[str, float], list_day, settings: Settings, task: str = "churn") -> None:
    """Track realised quality over time in MLflow (experiment `<task experiment>-decay`)."""
    import mlflow

    from experiments.tracking import ensure_experiment, use_tracking

    use_tracking(settings)
    base = settings.tracking.churn_experiment if task == "churn" else settings.tracking.volume_experiment
    exp = ensure_experiment(f"{base}-decay", settings)
    day = f"{pd.Timestamp(list_day):%Y-%m-%d}"
    with mlflow.start_run(experiment_id=exp, run_name=f"{'list' if task == 'churn' else 'forecast'}-{day}"):
        mlflow.log_metrics({k: float(v) for k, v in metrics.items() if np.isfinite(v)})
        mlflow.log_param("list_day" if task == "churn" else "forecast_day", day)
