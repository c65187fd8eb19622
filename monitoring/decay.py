"""Model decay: realised quality of earlier at-risk lists and forecasts once their outcomes are known."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd

from features.contract import EventData
from features.labels import churn_labels
from monitoring.alerts import Alert, make_alert
from needradar.config import Settings
from training.evaluation import classification_metrics
from training.forecasting.metrics import coverage

logger = logging.getLogger(__name__)


def realised_churn_quality(
    scored: pd.DataFrame, events: EventData, list_day, horizon_days: int
) -> dict[str, float]:
    """AUC, lift, Brier and calibration of a list scored on `list_day`, against what happened."""
    y = churn_labels(events, list_day, horizon_days).reindex(scored["customer_id"]).fillna(0).to_numpy()
    p = scored["churn_probability"].to_numpy()
    return classification_metrics(y, p) | {
        "mean_predicted": float(p.mean()),
        "observed_rate": float(y.mean()),
    }


def realised_forecast_quality(forecast: pd.DataFrame, actuals: pd.DataFrame) -> pd.DataFrame:
    """Per series: mean absolute error, interval coverage and days compared (forecast vs actuals)."""
    m = forecast.merge(actuals, on=["series_id", "ds"])
    rows = []
    for sid, g in m.groupby("series_id"):
        rows.append(
            {
                "series_id": sid,
                "mae": float((g["y"] - g["yhat"]).abs().mean()),
                "coverage": coverage(g["y"], g["yhat_lower"], g["yhat_upper"]),
                "days": len(g),
            }
        )
    return pd.DataFrame(rows)


def matured_lists(out_root: Path, as_of, horizon_days: int) -> list[tuple[pd.Timestamp, Path]]:
    """Earlier daily outputs whose churn horizon has passed by `as_of`."""
    found = []
    for day_dir in sorted(Path(out_root).glob("????-??-??")):
        day = pd.Timestamp(day_dir.name)
        if (
            day + pd.Timedelta(days=horizon_days) <= pd.Timestamp(as_of)
            and (day_dir / "at_risk.parquet").exists()
        ):
            found.append((day, day_dir / "at_risk.parquet"))
    return found


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


def coverage_alerts(quality: pd.DataFrame, nominal: float, as_of, settings: Settings) -> list[Alert]:
    """Interval coverage far below nominal (by more than the configured tolerance) per series."""
    low = quality[quality["coverage"] < nominal - settings.monitoring.coverage_tolerance]
    return [
        make_alert(
            "decay",
            "yellow",
            row.series_id,
            as_of,
            f"{row.series_id}: intervals covered {row.coverage:.0%} of actuals over {row.days} days "
            f"(nominal {nominal:.0%}); retrain with `needradar forecast train`",
            settings,
            actual=row.coverage,
            expected=nominal,
            rule="coverage",
        )
        for row in low.itertuples()
    ]


def log_decay(metrics: dict[str, float], list_day, settings: Settings) -> None:
    """Track realised quality over time in MLflow (experiment `<churn experiment>-decay`)."""
    import mlflow

    from experiments.tracking import ensure_experiment, use_tracking

    use_tracking(settings)
    exp = ensure_experiment(f"{settings.tracking.churn_experiment}-decay", settings)
    with mlflow.start_run(experiment_id=exp, run_name=f"list-{pd.Timestamp(list_day):%Y-%m-%d}"):
        mlflow.log_metrics({k: float(v) for k, v in metrics.items() if np.isfinite(v)})
        mlflow.log_param("list_day", f"{pd.Timestamp(list_day):%Y-%m-%d}")
