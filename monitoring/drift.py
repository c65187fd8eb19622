"""Data and prediction drift with Evidently: today's vectors and scores against the reference.

The reference is a fixed-size sample of the champion's training vectors with their scores,
computed once per model version and cached on disk; the current day is sampled to the same size
(seeded), which keeps the daily check on 100,000+ customers fast (docs/benchmarks.md).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from core.config import Settings
from core.io import atomic_path, write_frame, write_json
from monitoring.alerts import Alert, make_alert

logger = logging.getLogger(__name__)
PREDICTION = "churn_probability"
# Features that grow with time by construction (age, lifetime totals): their shift is not drift.
TIME_TRENDING = ("tenure_days", "txn_count_total", "spend_total", "txn_first_days")
SAMPLE_ROWS = 20_000


@dataclass
class DriftResult:
    share_drifted: float
    drifted_features: list[str]
    per_feature: pd.DataFrame  # column, method, threshold, value, drifted
    prediction_drift: bool | None
    files: dict[str, str] = field(default_factory=dict)
    empty_columns: list[str] = field(default_factory=list)  # no value in the reference or today


def reference_cache(settings: Settings, model_version: int | str) -> Path:
    return settings.home / "reference" / f"churn-v{model_version}.parquet"


def cached_reference(settings: Settings, model_version: int | str, build) -> pd.DataFrame:
    """The reference sample of a model version, built once by `build()` and then read from disk."""
    path = reference_cache(settings, model_version)
    if path.exists():
        return pd.read_parquet(path)
    ref = sample_rows(build(), SAMPLE_ROWS).drop(columns="customer_id", errors="ignore")  # not needed
    write_frame(ref, path)
    logger.info("cached the drift reference of model v%s (%d rows)", model_version, len(ref))
    return ref


def sample_rows(df: pd.DataFrame, n: int, seed: int = 0) -> pd.DataFrame:
    return (
        df.sample(n, random_state=seed).reset_index(drop=True) if len(df) > n else df.reset_index(drop=True)
    )


def _drifted(method: str, threshold: float, value: float) -> bool:
    return value < threshold if "p_value" in method else value >= threshold


def check_drift(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    settings: Settings,
    out_dir: Path | None = None,
    columns: list[str] | None = None,
    workspace: bool = True,
) -> DriftResult:
    """Per-feature drift, the drifted share and prediction drift; HTML and JSON into `out_dir`."""
    from evidently import Report
    from evidently.presets import DataDriftPreset

    skip = ("customer_id", "cutoff", "churned", *TIME_TRENDING)
    shared = [
        c
        for c in (columns or reference.columns)
        if c in current.columns and c in reference.columns and c not in skip
    ]
    # A column without values on either side (a table the data does not have) cannot drift.
    empty = [c for c in shared if reference[c].isna().all() or current[c].isna().all()]
    if empty:
        logger.info("drift: %d column(s) without values left out: %s", len(empty), ", ".join(empty))
    cols = [c for c in shared if c not in empty]
    ref = sample_rows(reference[cols], SAMPLE_ROWS)
    cur = sample_rows(current[cols], SAMPLE_ROWS)
    for column in cols:  # Evidently wants plain types
        if ref[column].dtype == "category" or cur[column].dtype == "category":
            ref[column], cur[column] = ref[column].astype(str), cur[column].astype(str)
    snapshot = Report([DataDriftPreset(columns=cols)]).run(cur, ref)
    rows = []
    for metric in snapshot.dict()["metrics"]:
        test = metric["config"]
        if test.get("type", "").endswith("ValueDrift"):
            value = float(metric["value"])
            rows.append(
                {
                    "column": test["column"],
                    "method": test["method"],
                    "threshold": test["threshold"],
                    "value": value,
                    "drifted": _drifted(test["method"], test["threshold"], value),
                }
            )
    per_column = pd.DataFrame(rows, columns=["column", "method", "threshold", "value", "drifted"])
    features = per_column[per_column["column"] != PREDICTION]
    drifted = features.loc[features["drifted"], "column"].tolist()
    prediction = per_column.loc[per_column["column"] == PREDICTION, "drifted"]
    result = DriftResult(
        share_drifted=float(features["drifted"].mean()) if len(features) else 0.0,
        drifted_features=drifted,
        per_feature=per_column,
        prediction_drift=bool(prediction.iloc[0]) if len(prediction) else None,
        empty_columns=empty,
    )
    if out_dir is not None:
        out_dir = Path(out_dir)
        with atomic_path(out_dir / "drift.html") as tmp:
            snapshot.save_html(str(tmp))
        summary = {
            "share_drifted": result.share_drifted,
            "drifted_features": drifted,
            "prediction_drift": result.prediction_drift,
            "empty_columns": empty,
            "per_feature": per_column.to_dict("records"),
        }
        write_json(out_dir / "drift.json", summary)
        result.files = {"html": str(out_dir / "drift.html"), "json": str(out_dir / "drift.json")}
        if workspace:
            _add_to_workspace(snapshot, settings)
    return result


def _add_to_workspace(snapshot, settings: Settings) -> None:
    """Keep the history for `evidently ui --workspace <home>/evidently`."""
    from evidently.ui.workspace import Workspace

    ws = Workspace.create(str(settings.path("evidently_workspace")))
    projects = ws.search_project("needradar")
    project = projects[0] if projects else ws.create_project("needradar", description="needradar daily drift")
    ws.add_run(project.id, snapshot)


def drift_alerts(result: DriftResult, as_of, settings: Settings) -> list[Alert]:
    """Orange when the drifted share exceeds the threshold (red at twice it), orange on prediction
    drift. A few drifted features alone are listed in drift.json but raise nothing."""
    alerts = []
    threshold = settings.monitoring.drift_share_threshold
    if result.share_drifted > threshold:
        alerts.append(
            make_alert(
                "drift",
                "red" if result.share_drifted >= 2 * threshold else "orange",
                "churn features",
                as_of,
                f"{result.share_drifted:.0%} of features drifted (threshold {threshold:.0%}): "
                f"{', '.join(result.drifted_features[:5])}; retrain with `needradar churn train`",
                settings,
                actual=result.share_drifted,
                expected=threshold,
                rule="feature_share",
                evidence={"drifted_features": result.drifted_features},
            )
        )
    if result.prediction_drift:
        alerts.append(
            make_alert(
                "drift",
                "orange",
                "churn predictions",
                as_of,
                "the distribution of churn probabilities drifted from the training reference; "
                "check the data and retrain with `needradar churn train`",
                settings,
                rule="prediction",
                evidence={
                    "test": json.loads(
                        result.per_feature[result.per_feature["column"] == PREDICTION].to_json(
                            orient="records"
                        )
                    )[0]
                },
            )
        )
    return alerts
