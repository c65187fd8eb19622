"""The edge of volume training: build series, backtest, fit, log to MLflow and register."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import mlflow
import numpy as np

from core.config import Settings
from experiments import registry
from experiments.tracking import data_fingerprint, ensure_experiment, use_tracking
from features.contract import EventData
from features.volume_series import build_volume_series
from training.forecasting.forecaster import VolumeTrainResult, train_volume


@dataclass
class VolumeOutcome:
    result: VolumeTrainResult
    run_id: str
    version: int


def _plots(result: VolumeTrainResult, out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fc = result.backtest.forecasts
    for sid in [s for s in fc["id"].unique() if s.endswith("/total")]:
        g = fc[fc["id"] == sid]
        fig, ax = plt.subplots(figsize=(9, 3.5))
        ax.plot(g["ds"], g["y"], "k.", label="actual")
        g = g[g["fold"] >= 0]
        ax.plot(g["ds"], g["yhat"], label="selected (honest)")
        for m in ("prophet", "lightgbm", "seasonal_naive"):
            if m in g:
                ax.plot(g["ds"], g[m], label=m, alpha=0.6)
        ax.set(title=f"Backtest: {sid} (ships: {result.backtest.selection[sid]})")
        ax.legend(fontsize=7)
        fig.savefig(out / f"backtest_{sid.replace('/', '_')}.png", dpi=90, bbox_inches="tight")
        plt.close(fig)


def train_and_register(
    events: EventData, settings: Settings, on_step: Callable[[str], None] | None = None, client=None
) -> VolumeOutcome:
    """Build the daily series, train (`on_step` after each backtest fold and the final fit), log, register.

    With a Dask `client` the per-series fits run on its workers; only this process writes to MLflow.
    """
    long = build_volume_series(events, freq="D")
    result = train_volume(long, settings, on_step=on_step, client=client)
    use_tracking(settings)
    exp = ensure_experiment(settings.tracking.volume_experiment, settings)
    with mlflow.start_run(experiment_id=exp, run_name="volume-daily") as run:
        summary = result.backtest.summary()
        mlflow.log_params(
            {
                "horizon_days": settings.forecast.horizon_days,
                "folds": settings.forecast.backtest_folds,
                "series": long["series_id"].nunique(),
                "data_fingerprint": data_fingerprint(events.tables()),
                "country_holidays": settings.forecast.country_holidays,
                "interval_level": settings.forecast.interval_level,
            }
        )
        mlflow.log_metrics({f"backtest_mase.{k}": v for k, v in summary["mase"].items()})
        mlflow.log_metrics({f"coverage.{k}": v for k, v in summary["coverage"].items()})
        mlflow.log_metrics({f"fit_seconds.{k}": v for k, v in summary["fit_seconds"].items()})
        mlflow.log_metric("train_seconds", result.seconds)
        per_series = result.backtest.per_series()
        for _, row in per_series.iterrows():
            if np.isfinite(row["selected"]):
                mlflow.log_metric(f"series_mase.{row['id'].replace('=', '_')}", row["selected"])
        with tempfile.TemporaryDirectory() as tmp:
            _plots(result, Path(tmp))
            per_series.to_csv(Path(tmp) / "backtest_per_series.csv", index=False)
            mlflow.log_artifacts(tmp, "report")
        # The honest selection's own forecasts of the last window, not a refit that saw it.
        holdout_metrics = result.holdout_metrics
        mlflow.log_metrics({f"holdout_{k}": v for k, v in holdout_metrics.items()})
        window = {
            "data_start": f"{long['ds'].min():%Y-%m-%d}",
            "data_end": f"{long['ds'].max():%Y-%m-%d}",
            "fit_end": f"{result.forecaster.last_ds_:%Y-%m-%d}",
            "holdout_start": f"{result.holdout['ds'].min():%Y-%m-%d}",
        }
        version = registry.register(
            "volume",
            result.forecaster,
            settings=settings,
            run_id=run.info.run_id,
            holdout=result.holdout,
            metrics=holdout_metrics,
            data_window=window,
        )
    return VolumeOutcome(result, run.info.run_id, version)
