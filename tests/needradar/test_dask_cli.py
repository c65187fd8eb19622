"""The heavy commands with `--dask ADDRESS` on a real cluster write what they write without it."""

from __future__ import annotations

import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from core.errors import NeedradarError
from needradar.cli import app

pytestmark = pytest.mark.slow

SMALL = {
    "churn": {"lightgbm": {"n_estimators": 40, "learning_rate": 0.1, "num_leaves": 7}, "n_cutoffs": 5},
    "forecast": {
        "backtest_folds": 1,
        "evidence_windows": 2,
        "models": ["lightgbm", "seasonal_naive", "auto_ets"],
    },
}


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    home = tmp_path_factory.mktemp("dask-home")
    (home / "needradar.yaml").write_text(yaml.safe_dump(SMALL))
    mp = pytest.MonkeyPatch()
    mp.setenv("NEEDRADAR_HOME", str(home))
    mp.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{home}/mlflow.db")
    mp.setenv("NEEDRADAR_CONFIG", str(home / "needradar.yaml"))
    yield home
    mp.undo()


def run(*args: str) -> str:
    result = CliRunner().invoke(app, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    return result.output


def test_train_score_forecast_and_daily_on_a_cluster(home, cluster, sample, sample_dir):
    address = cluster.scheduler.address
    data = ["--data", sample_dir]
    trained = run("churn", "train", *data, "--dask", address, "--distributed-training")
    assert "version 1 as challenger" in " ".join(trained.split())
    run("models", "promote", "churn")
    as_of = f"{sample.events.last_event_ts() - pd.Timedelta(days=10):%Y-%m-%d}"
    score = ["churn", "score", *data, "--as-of", as_of, "--top", "40"]
    run(*score, "--out", home / "here.parquet")
    run(*score, "--out", home / "there.parquet", "--dask", address)
    pd.testing.assert_frame_equal(
        pd.read_parquet(home / "there.parquet"), pd.read_parquet(home / "here.parquet")
    )

    run("forecast", "train", *data, "--dask", address)
    run("models", "promote", "volume")
    day = f"{sample.events.last_event_ts():%Y-%m-%d}"
    run("daily", *data, "--as-of", day, "--out", home / "here")
    run("daily", *data, "--as-of", day, "--out", home / "there", "--dask", address)
    for name in ("vectors.parquet", "at_risk.parquet"):
        here, there = (pd.read_parquet(home / side / day / name) for side in ("here", "there"))
        pd.testing.assert_frame_equal(there, here)
    here, there = (pd.read_csv(home / side / day / "forecast.csv") for side in ("here", "there"))
    pd.testing.assert_frame_equal(there, here)


def test_forecast_backtest_of_user_series_on_a_cluster(home, cluster, tmp_path):
    days = pd.date_range("2024-01-01", periods=120)
    weekly = [1.0, 1.2, 1.1, 1.0, 0.9, 0.4, 0.3]
    rows = [
        {"id": f"s{k}", "ds": d, "y": (10 + 3 * k) * weekly[d.dayofweek] + (i % 5)}
        for k in range(3)
        for i, d in enumerate(days)
    ]
    series = tmp_path / "series.csv"
    pd.DataFrame(rows).to_csv(series, index=False)
    args = ["forecast", "backtest", "--series", series, "--time-col", "ds", "--value-col", "y"]
    args += ["--id-col", "id", "--horizon", "7", "--folds", "2"]
    run(*args, "--out", tmp_path / "here.csv")
    run(*args, "--out", tmp_path / "there.csv", "--dask", cluster.scheduler.address)
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "there.csv"), pd.read_csv(tmp_path / "here.csv"))


def test_distributed_training_without_a_cluster_is_one_line(home, sample_dir):
    result = CliRunner().invoke(app, ["churn", "train", "--data", str(sample_dir), "--distributed-training"])
    assert isinstance(result.exception, NeedradarError)  # the CLI prints it as one line
    assert "--distributed-training needs a cluster" in str(result.exception)
