"""`needradar demo` as a new user runs it: its own lines only, 100 columns, ends with the dashboard."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import yaml

from tests.serving.conftest import repo_root

pytestmark = pytest.mark.slow
TINY = {
    "sample": {"customers": 500, "days": 400},
    "churn": {"lightgbm": {"n_estimators": 30}, "n_cutoffs": 6},
    "forecast": {"backtest_folds": 1, "evidence_windows": 2},
}


def test_demo_prints_one_clean_screen(tmp_path):
    config = tmp_path / "needradar.yaml"
    config.write_text(yaml.safe_dump(TINY))
    env = {
        **os.environ,
        "NEEDRADAR_HOME": str(tmp_path),
        "MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path}/mlflow.db",
        "NEEDRADAR_CONFIG": str(config),
        "COLUMNS": "100",
    }
    r = subprocess.run(
        [sys.executable, "-m", "needradar", "demo"],
        cwd=repo_root(),
        env=env,
        capture_output=True,
        text=True,
        timeout=1200,
    )
    assert r.returncode == 0, r.stderr[-2000:]
    lines = r.stdout.splitlines()
    assert max(len(x) for x in lines) <= 100
    assert r.stderr.strip() == ""
    for chatter in ("INFO mlflow", "WARNING mlflow", "CloudPickle", "cmdstanpy", "Downloading artifacts"):
        assert chatter not in r.stdout, chatter
    assert any("targets met" in x for x in lines)
    assert any(x.startswith("Alerts") for x in lines)
    assert "/ui" in lines[-2] and "needradar serve" in lines[-1]
    log = (tmp_path / "logs" / "demo.log").read_text()
    assert "mlflow" in log.lower()  # the library lines went to the log instead
