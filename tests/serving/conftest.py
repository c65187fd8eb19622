"""A trained runtime home (tiny models, real MLflow registry, one daily run) shared by serving tests."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml

SMALL_CONFIG = {
    "churn": {"lightgbm": {"n_estimators": 60, "learning_rate": 0.1, "num_leaves": 15}, "n_cutoffs": 6},
    "forecast": {
        "backtest_folds": 1,
        "evidence_windows": 2,
        "models": ["lightgbm", "seasonal_naive", "auto_ets"],
    },
}


@pytest.fixture(scope="module")
def trained_home(tmp_path_factory, settings):
    """Sample data, champions for churn and volume, and the daily outputs of the data's last day."""
    from core.config import load_config
    from experiments.churn_experiment import train_and_register as train_churn
    from experiments.registry import promote
    from experiments.volume_experiment import train_and_register as train_volume
    from features.generate import generate_sample
    from features.load import write_event_data
    from pipelines.daily import run_daily

    home = tmp_path_factory.mktemp("served")
    config = home / "needradar.yaml"
    config.write_text(yaml.safe_dump(SMALL_CONFIG))
    env = {
        "NEEDRADAR_HOME": str(home),
        "MLFLOW_TRACKING_URI": f"sqlite:///{home}/mlflow.db",
        "NEEDRADAR_CONFIG": str(config),
    }
    mp = pytest.MonkeyPatch()
    for k, v in env.items():
        mp.setenv(k, v)
    cfg = load_config()
    sample = generate_sample(cfg, customers=600, days=400, seed=7)
    data = home / "data"
    write_event_data(sample.events, data)
    train_churn(sample.events, cfg)
    train_volume(sample.events, cfg)
    promote("churn", cfg)
    promote("volume", cfg)
    as_of = f"{sample.events.last_event_ts():%Y-%m-%d}"
    result = run_daily(data, as_of, cfg.path("output"), cfg)
    customers = pd.read_parquet(result.outputs["vectors.parquet"])["customer_id"].tolist()
    yield {
        "home": home,
        "env": env,
        "data": data,
        "as_of": as_of,
        "daily": result,
        "settings": cfg,
        "customers": customers,
    }
    mp.undo()  # restores the session's isolated home


def repo_root() -> Path:
    return Path(__file__).resolve().parents[2]
