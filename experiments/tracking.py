"""MLflow tracking set-up, called at the edges (commands, service start-up), never on import."""

from __future__ import annotations

import hashlib
from importlib.metadata import version
from pathlib import Path

import mlflow
import pandas as pd

from core.config import Settings

# What a logged model needs to load and predict (the churn, volume and uplift models).
MODEL_PACKAGES = (
    "mlflow", "cloudpickle", "pandas", "numpy", "pyarrow", "scikit-learn", "scipy", "lightgbm",
    "shap", "prophet", "statsforecast", "holidays",
)  # fmt: skip


def model_requirements() -> list[str]:
    """The packages a logged model needs, pinned to this environment's versions. Stated rather
    than inferred: MLflow's inference loads every model in a subprocess (seconds per version) and
    misses what the model imports lazily."""
    return [f"{package}=={version(package)}" for package in MODEL_PACKAGES]


def use_tracking(settings: Settings) -> str:
    """Point MLflow at the configured store (env MLFLOW_TRACKING_URI wins); returns the URI."""
    uri = settings.tracking_uri
    if uri.startswith("sqlite:///"):
        Path(uri.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    mlflow.set_tracking_uri(uri)
    return uri


def ensure_experiment(name: str, settings: Settings) -> str:
    """The experiment's id, creating it with artifacts under the runtime home (not the CWD)."""
    exp = mlflow.get_experiment_by_name(name)
    if exp is not None:
        return exp.experiment_id
    if settings.tracking_uri.startswith(("http://", "https://")):
        return mlflow.create_experiment(name)  # the tracking server keeps (proxies) the artifacts
    location = settings.tracking.artifact_location.format(home=settings.home)
    if "://" not in location:
        location = Path(location).resolve().as_uri()
    return mlflow.create_experiment(name, artifact_location=f"{location}/{name}")


def data_fingerprint(frames: dict[str, pd.DataFrame]) -> str:
    """A stable hash of the tables' names, shapes, columns and content."""
    h = hashlib.sha256()
    for name in sorted(frames):
        df = frames[name]
        h.update(f"{name}:{df.shape}:{list(df.columns)}".encode())
        h.update(pd.util.hash_pandas_object(df, index=False).to_numpy().tobytes())
    return h.hexdigest()[:16]
