import json
import os
import subprocess
import sys

import pandas as pd
import pytest

from pipelines.daily import run_daily
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
        "_SUCCESS.json",
        "needs_backlog.parquet",
        "targeting.parquet",
        "contacts_planned.csv",
        "campaign_report.json",
    }
    assert expected <= {p.name for p in day.iterdir()}
    targeted = pd.read_parquet(day / "targeting.parquet")
    assert {"treatment", "control"} <= set(targeted["group"])  # the day keeps a control group
    marker = json.loads((day / "_SUCCESS.json").read_text())
    settings = trained_home["settings"]
    assert marker["models"]["churn"]["name"] == settings.tracking.churn_model_name
    assert marker["models"]["volume"]["version"] >= 1 and marker["ok"] is True
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
    assert status["staffing"] == {
        "step": "staffing",
        "status": "not run",
        "seconds": 0.0,
        "reason": "needs forecast, which failed",
    }
    assert status["score"]["status"] == "ok" and status["kpis"]["status"] == "ok"
    log = json.loads((result.day_dir / "run_log.json").read_text())
    assert not log["ok"] and (result.day_dir / "at_risk.parquet").exists()
    assert not (result.day_dir / "forecast.csv").exists()
    at_risk = pd.read_parquet(result.day_dir / "at_risk.parquet")
    active = ~at_risk["lapsed"]
    assert active.iloc[: active.sum()].all()  # the already lapsed come last
    assert at_risk.loc[active, "churn_probability"].is_monotonic_decreasing


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


def test_a_purchase_log_alone_runs_with_reasons_for_what_it_skips(trained_home, tmp_path):
    """customers + transactions only (like the CDNOW import): exit ok, every step ok or skipped."""
    from experiments.churn_experiment import train_and_register
    from experiments.registry import promote
    from features.contract import EventData
    from features.load import load_event_data, write_event_data

    cfg = trained_home["settings"]
    cfg = cfg.model_copy(
        update={"tracking": cfg.tracking.model_copy(update={"churn_model_name": "purchases"})}
    )
    full = load_event_data(trained_home["data"])
    purchases = EventData(customers=full.customers, transactions=full.transactions)
    write_event_data(purchases, tmp_path / "data")
    train_and_register(purchases, cfg)
    promote("churn", cfg)
    result = run_daily(tmp_path / "data", trained_home["as_of"], tmp_path / "out", cfg)
    status = {step["step"]: (step["status"], step.get("reason", "")) for step in result.steps}
    assert result.ok, result.steps
    # the purchases make a daily series, which the sample's volume champion has never seen
    assert status["forecast"][0] == "skipped" and "knows none of this data's series" in status["forecast"][1]
    assert status["forecast"][1].startswith(
        "the volume champion knows none of this data's series (transactions"
    )
    assert status["staffing"][0] == "skipped"
    assert status["kpis"] == ("skipped", "no tickets, requirements or feedback table")
    assert status["score"][0] == status["drift"][0] == "ok"
    assert not (result.day_dir / "kpis.csv").exists()
    drift = json.loads((result.day_dir / "drift.json").read_text())
    assert not set(drift["empty_columns"]) & {row["column"] for row in drift["per_feature"]}
    assert json.loads((result.day_dir / "_SUCCESS.json").read_text())["models"] == {
        "churn": {"name": "purchases", "version": 1}
    }
