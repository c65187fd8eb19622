import json
import os
import subprocess
import sys

import pandas as pd
import pytest

from serving.daily import run_daily
from tests.serving.conftest import repo_root

pytestmark = pytest.mark.slow


def test_outputs_and_rerun_gives_the_same_result(trained_home):
    first = trained_home["daily"]
    assert first.ok, first.steps
    day = first.day_dir
    expected = {
        "vectors.parquet",
        "at_risk.csv",
        "at_risk.parquet",
        "forecast.csv",
        "staffing.csv",
        "kpis.csv",
        "drift.html",
        "drift.json",
        "alerts.jsonl",
        "run_log.json",
    }
    assert expected <= {p.name for p in day.iterdir()}
    before = {
        n: (day / n).read_bytes()
        for n in ("at_risk.csv", "forecast.csv", "staffing.csv", "kpis.csv", "alerts.jsonl")
    }
    again = run_daily(trained_home["data"], trained_home["as_of"], day.parent, trained_home["settings"])
    assert again.ok
    for name, content in before.items():
        assert (day / name).read_bytes() == content, name
    ids = [json.loads(x)["id"] for x in (day / "alerts.jsonl").read_text().splitlines()]
    assert len(ids) == len(set(ids))
    log = json.loads((day / "run_log.json").read_text())
    assert [s["step"] for s in log["steps"]][:3] == ["load", "vectors", "score"]


def test_a_failing_step_leaves_the_rest(trained_home, tmp_path):
    cfg = trained_home["settings"]
    broken = cfg.model_copy(
        update={"tracking": cfg.tracking.model_copy(update={"volume_model_name": "no-such-model"})}
    )
    result = run_daily(trained_home["data"], trained_home["as_of"], tmp_path, broken)
    status = {s["step"]: s for s in result.steps}
    assert status["forecast"]["status"] == "failed"
    assert "no champion for no-such-model" in status["forecast"]["error"]
    assert status["staffing"]["status"] == "skipped" and "needs forecast" in status["staffing"]["error"]
    assert status["score"]["status"] == "ok" and status["kpis"]["status"] == "ok"
    log = json.loads((result.day_dir / "run_log.json").read_text())
    assert not log["ok"] and (result.day_dir / "at_risk.parquet").exists()
    assert not (result.day_dir / "forecast.csv").exists()
    at_risk = pd.read_parquet(result.day_dir / "at_risk.parquet")
    assert at_risk["churn_probability"].is_monotonic_decreasing


def test_bentoml_build(tmp_path):
    env = {**os.environ, "BENTOML_HOME": str(tmp_path / "bentoml")}
    r = subprocess.run(
        [sys.executable, "-m", "bentoml", "build", str(repo_root())],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert r.returncode == 0, r.stdout + r.stderr
    bentos = list((tmp_path / "bentoml" / "bentos" / "needradar").iterdir())
    assert bentos
    built = next(p for p in bentos if p.is_dir())
    assert (built / "src" / "serving" / "service.py").exists() and (
        built / "src" / "configs" / "needradar.yaml"
    ).exists()
