"""`needradar needs backlog` and `needradar feedback train` as a user runs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pandas as pd

from features.vectors import build_vectors
from tests.monitoring.test_needs_backlog import at_risk_for


def _run(*args: str, home) -> subprocess.CompletedProcess:
    env = {**os.environ, "NEEDRADAR_HOME": str(home), "MLFLOW_TRACKING_URI": f"sqlite:///{home}/mlflow.db"}
    return subprocess.run(
        [sys.executable, "-m", "needradar", *args], capture_output=True, text=True, timeout=300, env=env
    )


def test_backlog_json_and_out_file(sample, sample_dir, settings, tmp_path):
    as_of = f"{sample.events.last_event_ts():%Y-%m-%d}"
    at_risk = at_risk_for(build_vectors(sample.events, as_of, settings), 9)
    at_risk.to_parquet(tmp_path / "at_risk.parquet")
    r = _run(
        "needs",
        "backlog",
        "--data",
        str(sample_dir),
        "--as-of",
        as_of,
        "--at-risk",
        str(tmp_path / "at_risk.parquet"),
        "--out",
        str(tmp_path / "backlog.csv"),
        "--json",
        home=tmp_path,
    )
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["as_of"] == as_of and len(out["groups"]) > 5
    written = pd.read_csv(tmp_path / "backlog.csv")
    assert [g["value_at_risk"] for g in out["groups"]] == written["value_at_risk"].tolist()


def test_backlog_without_an_at_risk_list_says_what_to_do(sample, sample_dir, tmp_path):
    as_of = f"{sample.events.last_event_ts():%Y-%m-%d}"
    r = _run("needs", "backlog", "--data", str(sample_dir), "--as-of", as_of, home=tmp_path)
    assert r.returncode == 2
    error = r.stderr[r.stderr.index("error:") :]  # after MLflow's own start-up logging
    assert error.startswith(f"error: no at-risk list for {as_of}") and "--at-risk FILE" in error
    assert "Traceback" not in r.stderr


def test_feedback_train_json_registers_a_champion(sample_dir, tmp_path):
    r = _run(
        "feedback",
        "train",
        "--data",
        str(sample_dir),
        "--label-col",
        "text_sentiment",
        "--json",
        home=tmp_path,
    )
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    f1 = out["macro_f1"]
    assert f1["model"] > f1["keywords"] and f1["model"] > f1["majority"]
    assert (
        out["model_name"] == "needradar-feedback-text_sentiment" and out["version"] == 1 and out["champion"]
    )
    r = _run("feedback", "train", "--data", str(sample_dir), "--label-col", "nope", home=tmp_path)
    assert r.returncode == 2 and "0 texts labelled in column 'nope'" in r.stderr


def test_help_lists_the_needs_and_feedback_commands():
    from typer.testing import CliRunner

    from needradar.cli import app

    result = CliRunner().invoke(app, ["--help"])
    assert "needs" in result.stdout and "feedback" in result.stdout
    result = CliRunner().invoke(app, ["needs", "backlog", "--help"])
    assert "--as-of" in result.stdout and "--json" in result.stdout and "--out" in result.stdout
