"""Train the uplift model, validate it out of time against risk-only targeting, track and register it.

The learner (S, T, X, or the relative learner: the priors corrected by the history) and its capacity
are chosen on the training lists alone, by an inner out-of-time split (`training.uplift_selection`).
The validation holds out the lists of the last
`test_days` days (trained only on listings whose horizon ended before them) and compares Qini
curves: contacting customers by the model's saved probability vs by churn risk alone. The model
becomes `champion` only when its area under the Qini curve beats risk-only targeting; otherwise it
stays `challenger` and the targeting keeps the priors.
"""

from __future__ import annotations

import json
import logging
import pickle
import tempfile
from dataclasses import dataclass
from pathlib import Path

import mlflow
import pandas as pd
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from core.config import Settings
from experiments.tracking import data_fingerprint, ensure_experiment, model_requirements, use_tracking
from features.contract import EventData
from training.uplift import UpliftModel, out_of_time_split, qini_auc, uplift_frame
from training.uplift_selection import select_uplift_model

logger = logging.getLogger(__name__)


class UpliftPyfunc(mlflow.pyfunc.PythonModel):
    """`predict` takes vectors with an `action` column and returns the saved probability per row."""

    def load_context(self, context) -> None:
        with open(context.artifacts["model"], "rb") as f:
            self.model = pickle.load(f)

    def predict(self, context, model_input: pd.DataFrame, params: dict | None = None):
        return self.model.saved_probability(model_input, model_input["action"])


@dataclass
class UpliftOutcome:
    run_id: str
    version: int
    champion: bool
    metrics: dict[str, float]
    learner: str = "x"  # chosen out of time on the training lists
    capacity: str = "medium"


def learner_label(learner: str) -> str:
    """How a learner is named to people: 'S-learner (LightGBM)', 'relative (priors x history)'."""
    return "relative (priors x history)" if learner == "relative" else f"{learner.upper()}-learner (LightGBM)"


def evaluate(model: UpliftModel, test: pd.DataFrame) -> tuple[dict[str, float], dict[str, tuple]]:
    """Qini areas of targeting by saved probability, by risk, and by risk x value, on held-out lists."""
    scores = {
        "uplift": model.saved_probability(test, test["action"]),
        "risk": model.churn_probability(test),
    }
    scores["risk_x_value"] = scores["risk"] * test["annual_fee"].to_numpy(float)
    metrics, curves = {}, {}
    for name, score in scores.items():
        area, x, q = qini_auc(score, test)
        metrics[f"auuc_{name}"] = area
        curves[name] = (x, q)
    metrics["test_listings"] = float(len(test))
    return metrics, curves


def _qini_figure(curves: dict[str, tuple]):
    import plotly.graph_objects as go

    fig = go.Figure()
    for name, (x, q) in curves.items():
        step = max(1, len(x) // 400)
        fig.add_scatter(x=x[::step], y=q[::step], name=name, mode="lines")
    x, q = next(iter(curves.values()))
    fig.add_scatter(x=[0, 1], y=[0, q[-1]], name="random", mode="lines", line={"dash": "dot"})
    fig.update_layout(
        title="Qini curve, held-out lists",
        xaxis_title="share of listed customers contacted",
        yaxis_title="customers saved",
    )
    return fig


def train_and_register(events: EventData, settings: Settings, test_days: int = 90) -> UpliftOutcome:
    """Choose and fit on the older lists, validate on the last `test_days` days, log and register."""
    r = settings.retention
    frame = uplift_frame(events, settings)
    train, test = out_of_time_split(frame, test_days, r.effect_horizon_days)
    chosen = select_uplift_model(train, r.effect_horizon_days, inner_days=test_days, priors=r.effect_priors)
    model = chosen.model
    metrics, curves = evaluate(model, test)
    metrics["train_listings"] = float(len(train))
    metrics |= {f"inner_{k}": v for k, v in chosen.inner.items()}
    use_tracking(settings)
    experiment_id = ensure_experiment(r.uplift_experiment, settings)
    with mlflow.start_run(experiment_id=experiment_id, run_name=f"uplift-{model.learner}-learner") as run:
        mlflow.set_tag("kind", "uplift_model")
        mlflow.log_params({f"lgbm.{k}": v for k, v in model.params.items()})
        mlflow.log_params(
            {
                "learner": learner_label(model.learner),
                "capacity": chosen.capacity,
                "actions": ",".join(model.actions_),
                "horizon_days": r.effect_horizon_days,
                "test_days": test_days,
                "train_until": str(train["day"].max().date()) if len(train) else "",
                "test_from": str(test["day"].min().date()) if len(test) else "",
                "data_fingerprint": data_fingerprint(events.tables()),
            }
        )
        mlflow.log_metrics(metrics)
        mlflow.log_figure(_qini_figure(curves), "qini_curve.html")
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "uplift_model.pkl"
            with open(path, "wb") as f:
                pickle.dump(model, f)
            (Path(tmp) / "metrics.json").write_text(json.dumps(metrics))
            mlflow.log_artifact(str(Path(tmp) / "metrics.json"), "validation")
            info = mlflow.pyfunc.log_model(
                name="model",
                python_model=UpliftPyfunc(),
                artifacts={"model": str(path)},
                registered_model_name=r.uplift_model_name,
                pip_requirements=model_requirements(),
            )
    version = int(info.registered_model_version)
    client = MlflowClient()
    client.set_registered_model_alias(r.uplift_model_name, "challenger", str(version))
    champion = metrics["auuc_uplift"] > metrics["auuc_risk"]
    if champion:
        client.set_registered_model_alias(r.uplift_model_name, "champion", str(version))
    logger.info("uplift model version %d registered (champion: %s)", version, champion)
    return UpliftOutcome(run.info.run_id, version, champion, metrics, chosen.learner, chosen.capacity)


def load_uplift(settings: Settings, alias: str = "champion") -> UpliftModel | None:
    """The registered uplift model under `alias`, or None when there is none (use the priors)."""
    use_tracking(settings)
    try:
        version = MlflowClient().get_model_version_by_alias(settings.retention.uplift_model_name, alias)
    except MlflowException:
        return None
    pyfunc = mlflow.pyfunc.load_model(f"models:/{settings.retention.uplift_model_name}@{alias}")
    logger.info("uplift model version %s loaded", version.version)
    return pyfunc.unwrap_python_model().model
