import importlib.metadata
import json
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from core.config import load_config
from core.errors import ModelNotFoundError, NeedradarError
from experiments import registry
from experiments.tracking import data_fingerprint, ensure_experiment, use_tracking
from needradar.cli import app
from training.churn_model import ChurnModel


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """A fresh MLflow store for this module only (the environment is for the CLI's own settings)."""
    home = tmp_path_factory.mktemp("registry")
    mp = pytest.MonkeyPatch()
    mp.setenv("NEEDRADAR_HOME", str(home))
    mp.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{home}/mlflow.db")
    use_tracking(load_config())
    yield home
    mp.undo()


@pytest.fixture(scope="module")
def settings(store):
    """Settings resolved with this module's store."""
    return load_config()


def _data(seed: int, signal: float, n: int = 800) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 3))
    churned = (signal * x[:, 0] + rng.normal(size=n) > 1.2).astype(int)
    return pd.DataFrame(
        {
            "customer_id": [f"C{i}" for i in range(n)],
            "a": x[:, 0],
            "b": x[:, 1],
            "c": x[:, 2],
            "churned": churned,
        }
    )


def _register(settings, signal: float) -> int:
    train, holdout = _data(1, 2.0), _data(2, 2.0)
    model = ChurnModel({"n_estimators": 40}).fit(train, train["churned"])
    exp = ensure_experiment(settings.tracking.churn_experiment, settings)
    if signal == 0:  # a useless challenger: trained on labels unrelated to the features
        model = ChurnModel({"n_estimators": 40}).fit(
            train, np.random.default_rng(3).integers(0, 2, len(train))
        )
    with mlflow.start_run(experiment_id=exp) as run:
        metrics = model.evaluate(holdout)
        return registry.register(
            "churn",
            model,
            settings=settings,
            run_id=run.info.run_id,
            holdout=holdout,
            metrics=metrics,
            data_window={"data_end": "2026-01-01"},
        )


def test_missing_champion_says_what_to_run(store, settings):
    with pytest.raises(
        ModelNotFoundError, match="no champion for needradar-churn; run `needradar churn train` then"
    ):
        registry.load("churn", settings)


def test_register_promote_refuse_force_rollback(store, settings):
    v1 = _register(settings, 2.0)
    assert registry.load("churn", settings, "challenger").version == v1
    first = registry.promote("churn", settings)
    assert first.promoted and first.reason == "no champion yet"
    with pytest.raises(NeedradarError, match="already the champion"):
        registry.promote("churn", settings)

    v2 = _register(settings, 0.0)
    refused = registry.promote("churn", settings)
    assert not refused.promoted and "AUC" in refused.reason
    assert registry.load("churn", settings).version == v1
    assert refused.comparison["champion"]["auc"] > refused.comparison["challenger"]["auc"]

    forced = registry.promote("churn", settings, force=True)
    assert forced.promoted and forced.reason.startswith("forced:")
    champion = registry.load("churn", settings)
    assert champion.version == v2 and champion.data_window == {"data_end": "2026-01-01"}

    assert registry.rollback("churn", settings) == (v2, v1)
    assert registry.load("churn", settings).version == v1
    with pytest.raises(NeedradarError, match="no previous champion"):
        registry.rollback("churn", settings)

    listing = registry.list_versions(settings, "churn")
    assert listing["version"].tolist() == [v1, v2]
    assert listing.set_index("version").loc[v1, "aliases"] == "champion"
    assert listing.set_index("version").loc[v2, "aliases"] == "challenger"


def test_cli_refusal_exits_non_zero(store, settings):
    _register(settings, 0.0)
    result = CliRunner().invoke(app, ["models", "promote", "churn"])
    assert result.exit_code == 1
    assert "error: promotion refused: challenger AUC" in result.stderr
    listed = CliRunner().invoke(app, ["models", "list", "--task", "churn", "--json"])
    assert listed.exit_code == 0
    rows = json.loads(listed.stdout)
    assert [r["version"] for r in rows] == sorted(r["version"] for r in rows) and "auc" in rows[0]
    assert any(r["aliases"] == "champion" for r in rows)


def test_fingerprint_is_stable_and_sensitive():
    a = pd.DataFrame({"x": [1, 2, 3]})
    assert data_fingerprint({"t": a}) == data_fingerprint({"t": a.copy()})
    assert data_fingerprint({"t": a}) != data_fingerprint({"t": a.assign(x=[1, 2, 4])})


@pytest.mark.parametrize(
    "task, new, old, bad",
    [
        ("churn", {"auc": float("nan"), "brier": 0.1}, {"auc": 0.8, "brier": 0.1}, "challenger auc"),
        ("churn", {"auc": 0.8, "brier": 0.1}, {"auc": 0.8, "brier": float("inf")}, "champion brier"),
        ("volume", {"mase": 999.0}, {"mase": float("nan")}, "champion mase"),
        ("volume", {"mase": 0.5}, {}, "champion mase"),
    ],
)
def test_gate_refuses_what_it_cannot_compare(settings, task, new, old, bad):
    ok, reason = registry.gate(task, new, old, settings)
    assert not ok and reason == f"cannot compare: {bad} is not a finite number"


def test_gate_compares_finite_numbers(settings):
    assert registry.gate("volume", {"mase": 0.9}, {"mase": 1.0}, settings)[0]
    assert not registry.gate("volume", {"mase": 1.1}, {"mase": 1.0}, settings)[0]
    assert registry.gate("churn", {"auc": 0.80, "brier": 0.1}, {"auc": 0.801, "brier": 0.1}, settings)[0]


@pytest.fixture(scope="module")
def volume_long(settings):
    # Its own sample: the session-wide `sample` fixture cannot use this module's `settings`.
    from features.generate import generate_sample
    from features.volume_series import build_volume_series

    long = build_volume_series(generate_sample(settings, customers=600, days=400, seed=7).events)
    return long[long["series_id"].isin(["tickets/total", "requirements/total"])].reset_index(drop=True)


def _register_volume(settings, long: pd.DataFrame) -> int:
    from training.forecasting.forecaster import train_volume

    forecast = settings.forecast.model_copy(update={"backtest_folds": 1})
    result = train_volume(
        long, settings.model_copy(update={"forecast": forecast}), models=("seasonal_naive", "auto_ets")
    )
    exp = ensure_experiment(settings.tracking.volume_experiment, settings)
    with mlflow.start_run(experiment_id=exp) as run:
        return registry.register(
            "volume",
            result.forecaster,
            settings=settings,
            run_id=run.info.run_id,
            holdout=result.holdout,
            metrics=result.forecaster.evaluate(result.holdout),
            data_window={"data_end": f"{long['ds'].max():%Y-%m-%d}"},
        )


def test_volume_gate_scores_an_older_champion_with_the_challengers_history(store, settings, volume_long):
    end = volume_long["ds"].max()
    _register_volume(settings, volume_long[volume_long["ds"] <= end - pd.Timedelta(days=60)])
    assert registry.promote("volume", settings).reason == "no champion yet"
    _register_volume(settings, volume_long)
    r = registry.promote("volume", settings)
    # The old champion's own history ends 60 days before the holdout: scored from it, no forecast
    # day meets a holdout day and its MASE is NaN (which used to pass the gate).
    assert np.isfinite(r.comparison["champion"]["mase"]) and np.isfinite(r.comparison["challenger"]["mase"])
    assert r.reason.startswith("challenger MASE") and r.promoted == (
        r.comparison["challenger"]["mase"] <= r.comparison["champion"]["mase"]
    )


def test_volume_gate_refuses_when_nothing_is_comparable(store, settings, volume_long):
    _register_volume(settings, volume_long[volume_long["series_id"] == "requirements/total"])
    registry.promote("volume", settings, force=True)
    _register_volume(settings, volume_long[volume_long["series_id"] == "tickets/total"])
    r = registry.promote("volume", settings)
    assert not r.promoted
    assert r.reason == "cannot compare: challenger mase, champion mase is not a finite number"


def test_a_registered_model_states_its_pinned_requirements(store, settings):
    # stated, not inferred: MLflow's inference (a subprocess loading the model) would miss the
    # forecasters' statsforecast and prophet, which the churn model does not import
    version = _register(settings, 2.0)
    uri = f"models:/{registry.model_name('churn', settings)}/{version}"
    path = mlflow.artifacts.download_artifacts(f"{uri}/requirements.txt")
    lines = Path(path).read_text().split()
    for package in ("lightgbm", "statsforecast", "prophet", "scikit-learn"):
        assert f"{package}=={importlib.metadata.version(package)}" in lines, lines
