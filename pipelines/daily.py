"""The daily job: validate and load, vectors, at-risk list, forecasts, alerts, staffing, KPIs,
drift and decay; every output written atomically into OUT/DATE/.

Each step runs on its own: a failure is recorded in run_log.json (which step, why) and only the
steps that need its output are skipped; earlier outputs stay intact.
"""

from __future__ import annotations

import logging
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from core.config import Settings
from core.io import write_frame, write_json

logger = logging.getLogger(__name__)


@dataclass
class DailyResult:
    as_of: str
    day_dir: Path
    steps: list[dict[str, Any]] = field(default_factory=list)
    outputs: dict[str, str] = field(default_factory=dict)
    alerts: list = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(s["status"] == "ok" for s in self.steps)


class _Runner:
    def __init__(self, result: DailyResult, on_step: Callable[[str], None] | None) -> None:
        self.result, self.on_step, self.state = result, on_step, {}

    def step(self, name: str, fn: Callable[[], Any], needs: tuple[str, ...] = ()) -> None:
        missing = [n for n in needs if n not in self.state]
        if missing:
            self.result.steps.append(
                {
                    "step": name,
                    "status": "skipped",
                    "seconds": 0.0,
                    "error": f"needs {', '.join(missing)}, which failed or was skipped",
                }
            )
            return
        if self.on_step:
            self.on_step(name)
        t0 = time.perf_counter()
        try:
            self.state[name] = fn()
            self.result.steps.append(
                {"step": name, "status": "ok", "seconds": round(time.perf_counter() - t0, 3)}
            )
        except Exception as e:  # a failing step must not take the others down
            logger.error("daily step %s failed: %s", name, e)
            self.result.steps.append(
                {
                    "step": name,
                    "status": "failed",
                    "seconds": round(time.perf_counter() - t0, 3),
                    "error": f"{type(e).__name__}: {e}",
                    "traceback": traceback.format_exc(limit=5),
                }
            )


def run_daily(
    data_dir: Path,
    as_of: str,
    out_dir: Path,
    settings: Settings,
    on_step: Callable[[str], None] | None = None,
) -> DailyResult:
    from experiments import registry
    from features.load import load_event_data
    from features.vectors import build_vectors
    from features.volume_series import build_volume_series
    from monitoring import decay, drift
    from monitoring.alerts import emit
    from monitoring.kpis import compute_kpis, kpi_alerts
    from monitoring.volume_alerts import volume_alerts
    from serving.scoring import score_customers
    from serving.staffing import hourly_from_daily, hourly_profile, staffing_plan

    day = pd.Timestamp(as_of).normalize()
    day_dir = Path(out_dir) / f"{day:%Y-%m-%d}"
    result = DailyResult(f"{day:%Y-%m-%d}", day_dir)
    run = _Runner(result, on_step)
    s = run.state
    alerts: list = []

    def out(name: str, frame: pd.DataFrame) -> None:
        result.outputs[name] = str(write_frame(frame, day_dir / name))

    def load():
        return load_event_data(data_dir, settings, as_of=day, quarantine_dir=day_dir / "quarantine")

    def vectors():
        v = build_vectors(s["load"], day, settings)
        out("vectors.parquet", v)
        return v

    def score():
        champion = registry.load("churn", settings)
        scored = score_customers(champion.model, s["vectors"], settings)
        out("at_risk.csv", scored)
        out("at_risk.parquet", scored)
        return champion, scored

    def forecast():
        champion = registry.load("volume", settings)
        actuals = build_volume_series(s["load"], freq="D", end=day)
        # from the as-of day even when the model has seen later days (a replay of an earlier day)
        ahead = champion.model.predict(None, settings.forecast.horizon_days, history=actuals, origin=day)
        today = champion.model.predict(None, 1, history=actuals, origin=day - pd.Timedelta(days=1))
        out("forecast.csv", ahead)
        alerts.extend(volume_alerts(actuals, today, actuals, day, settings))
        return ahead, actuals

    def staffing():
        ahead, _ = s["forecast"]
        hourly = build_volume_series(s["load"], freq="h", end=day, families=("tickets",))
        recent = hourly[hourly["ds"] > day - pd.Timedelta(weeks=8)]
        parts = []
        for sid in [x for x in ahead["series_id"].unique() if x.startswith("tickets/channel=")]:
            channel = sid.split("=", 1)[1]
            profile = hourly_profile(recent[recent["series_id"] == sid])
            daily = ahead[ahead["series_id"] == sid].head(settings.staffing.horizon_hours // 24 + 1)
            parts.append(hourly_from_daily(daily, profile).assign(channel=channel))
        plan = staffing_plan(pd.concat(parts, ignore_index=True), settings)
        out("staffing.csv", plan)
        return plan

    def kpis():
        table = compute_kpis(s["load"], day, settings)
        out("kpis.csv", table)
        alerts.extend(kpi_alerts(table, day, settings))
        return table

    def monitor_drift():
        champion, scored = s["score"]

        def build_reference():
            ref = registry.training_holdout(champion)
            return ref.assign(churn_probability=champion.model.predict_proba(ref))

        reference = drift.cached_reference(settings, champion.version, build_reference)
        current = s["vectors"].merge(scored[["customer_id", "churn_probability"]], on="customer_id")
        features = [c for c in champion.model.feature_names_ if c in current] + [drift.PREDICTION]
        res = drift.check_drift(reference, current, settings, out_dir=day_dir, columns=features)
        result.outputs.update({"drift.html": res.files["html"], "drift.json": res.files["json"]})
        alerts.extend(drift.drift_alerts(res, day, settings))
        return res

    def monitor_decay():
        champion, _ = s["score"]
        realised = {}
        found = decay.latest_matured(Path(out_dir), day, settings.churn.horizon_days, "at_risk.parquet")
        if found:
            list_day, path = found
            quality = decay.realised_churn_quality(
                pd.read_parquet(path), s["load"], list_day, settings.churn.horizon_days
            )
            decay.log_decay(quality, list_day, settings)
            training_auc = champion.metrics.get("auc", float("nan"))
            alerts.extend(decay.decay_alerts(quality, training_auc, day, list_day, settings))
            out("decay.csv", pd.DataFrame([{"list_day": f"{list_day:%Y-%m-%d}", **quality}]))
            realised["churn"] = quality
        found = decay.latest_matured(Path(out_dir), day, settings.forecast.horizon_days, "forecast.csv")
        if found and "forecast" in s:
            forecast_day, path = found
            _, actuals = s["forecast"]
            quality = decay.realised_forecast_quality(pd.read_csv(path, parse_dates=["ds"]), actuals)
            summary = {
                "mase_mean": float(quality["mase"].mean()),
                "coverage_mean": float(quality["coverage"].mean()),
            } | {f"mase/{r.series_id.replace('=', '-')}": r.mase for r in quality.itertuples()}
            decay.log_decay(summary, forecast_day, settings, task="volume")
            nominal = settings.forecast.interval_level
            alerts.extend(decay.forecast_decay_alerts(quality, nominal, day, forecast_day, settings))
            out("forecast_decay.csv", quality.assign(forecast_day=f"{forecast_day:%Y-%m-%d}"))
            realised["volume"] = quality
        return realised

    run.step("load", load)
    run.step("vectors", vectors, ("load",))
    run.step("score", score, ("vectors",))
    run.step("forecast", forecast, ("load",))
    run.step("staffing", staffing, ("forecast",))
    run.step("kpis", kpis, ("load",))
    run.step("drift", monitor_drift, ("score",))
    run.step("decay", monitor_decay, ("score",))

    def emit_alerts():
        return emit(alerts, day_dir, settings)

    run.step("alerts", emit_alerts)
    result.alerts = s.get("alerts", [])
    result.outputs["alerts.jsonl"] = str(day_dir / "alerts.jsonl")
    write_json(
        day_dir / "run_log.json",
        {
            "as_of": result.as_of,
            "data": str(data_dir),
            "ok": result.ok,
            "steps": result.steps,
            "outputs": result.outputs,
        },
    )
    result.outputs["run_log.json"] = str(day_dir / "run_log.json")
    return result
