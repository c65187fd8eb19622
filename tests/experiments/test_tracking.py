import mlflow
import pandas as pd

from core.config import load_config
from experiments.tracking import data_fingerprint, ensure_experiment, use_tracking


def test_default_store_is_sqlite_under_home_and_env_wins(tmp_path):
    home = tmp_path / "new" / "home"
    uri = use_tracking(load_config(environ={"NEEDRADAR_HOME": str(home)}))
    assert uri == f"sqlite:///{home}/mlflow.db" and home.is_dir()
    assert mlflow.get_tracking_uri() == uri
    other = f"sqlite:///{tmp_path}/elsewhere/m.db"
    settings = load_config(environ={"NEEDRADAR_HOME": str(home), "MLFLOW_TRACKING_URI": other})
    assert use_tracking(settings) == other and (tmp_path / "elsewhere").is_dir()


def test_experiment_artifacts_live_under_home(tmp_path):
    environ = {"NEEDRADAR_HOME": str(tmp_path), "MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path}/mlflow.db"}
    settings = load_config(environ=environ)
    use_tracking(settings)
    exp_id = ensure_experiment("needradar-test", settings)
    assert ensure_experiment("needradar-test", settings) == exp_id  # idempotent
    location = mlflow.get_experiment(exp_id).artifact_location
    assert location == (tmp_path / "mlartifacts" / "needradar-test").as_uri()


def test_fingerprint_is_stable_order_free_and_content_sensitive():
    a = pd.DataFrame({"x": [1, 2, 3], "y": ["a", "b", "c"]})
    b = pd.DataFrame({"z": [0.5]})
    fp = data_fingerprint({"a": a, "b": b})
    assert fp == data_fingerprint({"b": b.copy(), "a": a.copy()})
    assert fp != data_fingerprint({"a": a.assign(y=["a", "b", "d"]), "b": b})
    assert fp != data_fingerprint({"a": a.rename(columns={"y": "w"}), "b": b})
    assert fp != data_fingerprint({"a": a.head(2), "b": b})
    assert len(fp) == 16
