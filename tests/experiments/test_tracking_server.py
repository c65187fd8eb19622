"""Train, register, promote and score through a real `mlflow server` on loopback."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from tests.churn_fixtures import FAST_LGBM

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    root = tmp_path_factory.mktemp("mlflow-server")
    port = _free_port()
    cmd = [
        *(sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1", "--port", str(port)),
        *("--workers", "1", "--backend-store-uri", f"sqlite:///{root}/server.db"),
        *("--artifacts-destination", str(root / "artifacts")),
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 240  # slow to start on a busy 2-core machine
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.5)
    else:
        proc.terminate()
        pytest.fail("mlflow server did not start within 240 s")
    yield url, root
    proc.terminate()
    proc.wait(timeout=30)


def test_train_register_promote_and_score_through_the_server(server, sample_dir, tmp_path, monkeypatch):
    from needradar.cli import app

    url, root = server
    config = tmp_path / "needradar.yaml"
    config.write_text(yaml.safe_dump({"churn": {"lightgbm": FAST_LGBM, "n_cutoffs": 4}}))
    home = tmp_path / "home"
    monkeypatch.setenv("NEEDRADAR_HOME", str(home))
    monkeypatch.setenv("NEEDRADAR_CONFIG", str(config))
    monkeypatch.setenv("MLFLOW_TRACKING_URI", url)
    runner = CliRunner()
    for args in (["churn", "train", "--data", str(sample_dir)], ["models", "promote", "churn"]):
        result = runner.invoke(app, args)
        assert result.exit_code == 0, result.output
    last = pd.read_csv(sample_dir / "transactions.csv", usecols=["ts"])["ts"].max()[:10]
    out = tmp_path / "at_risk.csv"
    result = runner.invoke(
        app, ["churn", "score", "--data", str(sample_dir), "--as-of", last, "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert len(pd.read_csv(out)) > 0

    from mlflow import MlflowClient

    versions = MlflowClient(url).search_model_versions("name='needradar-churn'")
    assert versions, "the model was registered in the server's registry"
    assert MlflowClient(url).get_model_version_by_alias("needradar-churn", "champion").version
    # the artifacts went through the server into its own store, not into the local home
    assert any((root / "artifacts").rglob("MLmodel"))
    assert not (home / "mlartifacts").exists()
    assert not (home / "mlflow.db").exists()
    assert not Path("mlruns").exists()
