import json
import os
import subprocess
import sys

import pandas as pd
import pytest

from pipelines import steps
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


def test_decay_of_an_earlier_list_and_forecast_is_measured_and_tracked(trained_home, tmp_path):
    import mlflow

    cfg = trained_home["settings"]
    as_of = pd.Timestamp(trained_home["as_of"])
    earlier = as_of - pd.Timedelta(days=max(cfg.churn.horizon_days, cfg.forecast.horizon_days))
    assert run_daily(trained_home["data"], f"{earlier:%Y-%m-%d}", tmp_path, cfg).ok
    result = run_daily(trained_home["data"], trained_home["as_of"], tmp_path, cfg)
    assert result.ok, result.steps
    churn = pd.read_csv(result.day_dir / "decay.csv")
    assert churn["list_day"].tolist() == [f"{earlier:%Y-%m-%d}"]
    assert 0.5 < churn["auc"].iloc[0] <= 1 and 0 < churn["observed_rate"].iloc[0] < 1, churn.T
    volume = pd.read_csv(result.day_dir / "forecast_decay.csv")
    assert set(volume["series_id"]) == set(
        pd.read_csv(tmp_path / f"{earlier:%Y-%m-%d}" / "forecast.csv")["series_id"]
    )
    assert (volume["days"] == cfg.forecast.horizon_days).all()
    assert volume["mase"].between(0, 10).all() and volume["coverage"].between(0, 1).all()
    runs = mlflow.search_runs(experiment_names=[f"{cfg.tracking.churn_experiment}-decay"])
    assert f"list-{earlier:%Y-%m-%d}" in set(runs["tags.mlflow.runName"])
    runs = mlflow.search_runs(experiment_names=[f"{cfg.tracking.volume_experiment}-decay"])
    assert "metrics.mase_mean" in runs and runs["metrics.mase_mean"].notna().all()


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


def test_each_model_step_on_its_own(trained_home, tmp_path):
    settings, day = trained_home["settings"], pd.Timestamp(trained_home["as_of"])
    folder = tmp_path / ".staging"
    folder.mkdir()
    ctx = steps.DayContext(trained_home["data"], day, settings, folder, tmp_path)
    events = steps.load(ctx)
    vectors = steps.vectors(ctx, events)
    scored = steps.score(ctx, events, vectors)
    assert scored.champion.version >= 1 and scored.champion.name == settings.tracking.churn_model_name
    keepable = scored.at_risk[~scored.at_risk["lapsed"].astype(bool)]  # the lapsed are listed apart, last
    assert keepable["churn_probability"].is_monotonic_decreasing
    assert (ctx.folder / "at_risk.parquet").exists() and (ctx.folder / "at_risk.csv").exists()
    forecast = steps.forecast(ctx, events)
    assert forecast.champion.name == settings.tracking.volume_model_name
    assert forecast.ahead["ds"].min() == day + pd.Timedelta(days=1)
    assert (forecast.ahead.groupby("series_id").size() == settings.forecast.horizon_days).all()
    plan = steps.staffing(ctx, events, forecast)
    # agents are planned per handle-time group: app and website are both "online"
    assert set(plan["channel"]) <= {"online", "phone", "social"} and (plan["agents"] >= 0).all()
    drift = steps.drift(ctx, vectors, scored)
    assert 0 <= drift.share_drifted <= 1
    assert (ctx.folder / "drift.html").exists() and (ctx.folder / "drift.json").exists()


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
