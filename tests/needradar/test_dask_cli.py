"""The heavy commands with `--dask ADDRESS` on a real cluster: training, backtests of a user's series."""

from __future__ import annotations

import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from core.errors import NeedradarError
from needradar.cli import app
from tests.trained_home import SMALL_CONFIG, home_env

pytestmark = pytest.mark.slow

SMALL = {
    "churn": {"lightgbm": {"n_estimators": 40, "learning_rate": 0.1, "num_leaves": 7}, "n_cutoffs": 5},
    "forecast": SMALL_CONFIG["forecast"],
}


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    home = tmp_path_factory.mktemp("dask-home")
    (home / "needradar.yaml").write_text(yaml.safe_dump(SMALL))
    mp = pytest.MonkeyPatch()
    for key, value in home_env(home).items():
        mp.setenv(key, value)
    yield home
    mp.undo()


def run(*args: str) -> str:
    result = CliRunner().invoke(app, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    return result.output


def test_train_churn_and_volume_on_a_cluster(home, cluster, sample_dir):
    """Training on the cluster registers its models; what the scores and the daily job write on it
    is compared in test_dask_daily.py, with the trained home's champions."""
    address = cluster.scheduler.address
    data = ["--data", sample_dir]
    trained = run("churn", "train", *data, "--dask", address, "--distributed-training")
    assert "version 1 as challenger" in " ".join(trained.split())
    trained = run("forecast", "train", *data, "--dask", address)
    assert "version 1 as challenger" in " ".join(trained.split())


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
