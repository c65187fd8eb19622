import json

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
