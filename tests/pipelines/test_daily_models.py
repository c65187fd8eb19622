"""The daily job's model steps one by one, and the measured decay of an earlier list and forecast.

Apart from test_daily.py so that the two heavy files run on both test workers."""

import pandas as pd
import pytest

from pipelines import steps
from pipelines.daily import STEPS, run_daily

pytestmark = pytest.mark.slow


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


def test_decay_of_an_earlier_list_and_forecast_is_measured_and_tracked(trained_home, tmp_path):
    import mlflow

    cfg = trained_home["settings"]
    as_of = pd.Timestamp(trained_home["as_of"])
    earlier = as_of - pd.Timedelta(days=max(cfg.churn.horizon_days, cfg.forecast.horizon_days))
    # the earlier day needs only the list and the forecast whose decay is measured, the day itself
    # only what decay reads (the whole day runs in test_daily.py and in the demo)
    listed = ("load", "vectors", "score", "forecast")
    listing = [step for step in STEPS if step.name in listed]
    assert run_daily(trained_home["data"], f"{earlier:%Y-%m-%d}", tmp_path, cfg, step_table=listing).ok
    measuring = [step for step in STEPS if step.name in (*listed, "decay")]
    result = run_daily(trained_home["data"], trained_home["as_of"], tmp_path, cfg, step_table=measuring)
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
