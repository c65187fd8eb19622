"""The daily job's steps: top-level functions of the day's context and the outputs they need.

Each step reads what it needs as arguments, writes its files into the day's staging folder and
returns a small typed output. A step with nothing to work on raises `StepSkipped` with the reason.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from core.config import Settings
from core.io import write_frame
from features.contract import EventData
from monitoring.alerts import Alert
from pipelines.runner import StepSkipped

if TYPE_CHECKING:
    from experiments.registry import LoadedModel


@dataclass(frozen=True)
class DayContext:
    """What every step may read: the day, where the data and earlier days are, where to write."""

    data: Path
    day: pd.Timestamp
    settings: Settings
    folder: Path  # the staging folder of this day's outputs
    out_root: Path  # where completed days live (earlier days, for decay)
    client: Any = None  # a Dask client: vectors, scores and forecasts then run on its workers

    def write(self, name: str, frame: pd.DataFrame) -> Path:
        return write_frame(frame, self.folder / name)


@dataclass(frozen=True)
class Scored:
    champion: LoadedModel  # the churn model that produced the list
    at_risk: pd.DataFrame


@dataclass(frozen=True)
class Forecast:
    champion: LoadedModel  # the volume model that produced the forecast
    ahead: pd.DataFrame  # series_id, ds, yhat, yhat_lower, yhat_upper from the day after
    actuals: pd.DataFrame  # series_id, ds, y up to the day
    alerts: list[Alert] = field(default_factory=list)


@dataclass(frozen=True)
class KPIs:
    table: pd.DataFrame
    alerts: list[Alert] = field(default_factory=list)


@dataclass(frozen=True)
class Drift:
    share_drifted: float
    alerts: list[Alert] = field(default_factory=list)


@dataclass(frozen=True)
class Decay:
    churn: dict[str, float] | None
    volume: pd.DataFrame | None
    alerts: list[Alert] = field(default_factory=list)


def load(ctx: DayContext) -> EventData:
    """Validate and load the event data as known on the day; invalid rows go to quarantine/.

    Feedback and ticket texts get the champion text models' classes and sentiments, when there are
    text models (without them the human labels are used where present).
    """
    from experiments.feedback_experiment import load_text_models
    from features.load import load_event_data
    from pipelines.needs import annotate_texts

    events = load_event_data(ctx.data, ctx.settings, as_of=ctx.day, quarantine_dir=ctx.folder / "quarantine")
    has_texts = any(df is not None and "text" in df for df in (events.feedback, events.tickets))
    return annotate_texts(events, load_text_models(ctx.settings)) if has_texts else events


def vectors(ctx: DayContext, load: EventData) -> pd.DataFrame:
    """Point-in-time behaviour vectors of every active customer (vectors.parquet)."""
    from features.distributed import vectors_on_cluster
    from features.vectors import build_vectors

    if ctx.client is None:
        behaviour = build_vectors(load, ctx.day, ctx.settings)
    else:
        behaviour, _ = vectors_on_cluster(ctx.client, load, f"{ctx.day:%Y-%m-%d}", ctx.settings)
    ctx.write("vectors.parquet", behaviour)
    return behaviour


def score(ctx: DayContext, load: EventData, vectors: pd.DataFrame) -> Scored:
    """The at-risk list from the churn champion (at_risk.csv, at_risk.parquet).

    The champion must know the day's tables (one line naming what is missing otherwise); customers
    idle for longer than the model's own horizon are listed apart as already lapsed.
    """
    from experiments import registry
    from serving.scoring import lapsed_after, score_customers

    champion = registry.load("churn", ctx.settings)
    if hasattr(champion.model, "check_tables"):
        champion.model.check_tables(sorted(load.tables()))
    lapsed_days = lapsed_after(champion.model, ctx.settings, champion.data_window)
    at_risk = score_customers(
        champion.model, vectors, ctx.settings, lapsed_after_days=lapsed_days, client=ctx.client
    )
    ctx.write("at_risk.csv", at_risk)
    ctx.write("at_risk.parquet", at_risk)
    return Scored(champion, at_risk)


def _no_volume_tables() -> str:
    from features.volume_series import FAMILIES

    return "no " + " or ".join(table for table, *_ in FAMILIES.values()) + " table"


def forecast(ctx: DayContext, load: EventData) -> Forecast:
    """Volume forecasts from the day after (forecast.csv) and today's volume alerts.

    Runs when the data has at least one volume series; the volume champion must then exist.
    """
    from experiments import registry
    from features.volume_series import build_volume_series
    from monitoring.volume_alerts import volume_alerts

    actuals = build_volume_series(load, freq="D", end=ctx.day)
    if actuals.empty:
        raise StepSkipped(_no_volume_tables())
    champion = registry.load("volume", ctx.settings)
    model = champion.model
    present = set(actuals["series_id"])
    series = [sid for sid in model.series_ids_ if sid in present]
    if not series:
        shown = ", ".join(sorted(present)[:3]) + (", ..." if len(present) > 3 else "")
        raise StepSkipped(
            f"the volume champion knows none of this data's series ({shown}); "
            "train one on it with `needradar forecast train --data DIR`"
        )
    # From the as-of day even when the model has seen later days (a replay of an earlier day).
    ahead = model.predict(
        series, ctx.settings.forecast.horizon_days, history=actuals, origin=ctx.day, client=ctx.client
    )
    today = model.predict(series, 1, history=actuals, origin=ctx.day - pd.Timedelta(days=1))
    ctx.write("forecast.csv", ahead)
    alerts = volume_alerts(actuals, today, actuals, ctx.day, ctx.settings)
    return Forecast(champion, ahead, actuals, alerts)


def staffing(ctx: DayContext, load: EventData, forecast: Forecast) -> pd.DataFrame:
    """Agents needed per hour and channel over the next `staffing.horizon_hours` (staffing.csv)."""
    from features.volume_series import build_volume_series
    from serving.staffing import hourly_from_daily, hourly_profile, staffing_plan

    prefix = "tickets/channel="
    channel_series = [sid for sid in forecast.ahead["series_id"].unique() if sid.startswith(prefix)]
    if not channel_series:
        raise StepSkipped("no tickets table (staffing plans agents per ticket channel)")
    hourly = build_volume_series(load, freq="h", end=ctx.day, families=("tickets",))
    recent = hourly[hourly["ds"] > ctx.day - pd.Timedelta(weeks=8)]
    days_ahead = ctx.settings.staffing.horizon_hours // 24 + 1
    per_channel = []
    for series_id in channel_series:
        profile = hourly_profile(recent[recent["series_id"] == series_id])
        daily = forecast.ahead[forecast.ahead["series_id"] == series_id].head(days_ahead)
        channel = series_id.removeprefix(prefix)
        per_channel.append(hourly_from_daily(daily, profile).assign(channel=channel))
    plan = staffing_plan(pd.concat(per_channel, ignore_index=True), ctx.settings)
    ctx.write("staffing.csv", plan)
    return plan


def kpis(ctx: DayContext, load: EventData) -> KPIs:
    """Service KPIs against their targets (kpis.csv) and their alerts."""
    from monitoring.kpis import compute_kpis, kpi_alerts

    if load.tickets is None and load.requirements is None and load.feedback is None:
        raise StepSkipped("no tickets, requirements or feedback table")
    table = compute_kpis(load, ctx.day, ctx.settings)
    if table.empty:
        days = ctx.settings.kpis.window_days
        raise StepSkipped(f"no tickets, requirements or feedback in the {days} days before the day")
    ctx.write("kpis.csv", table)
    return KPIs(table, kpi_alerts(table, ctx.day, ctx.settings))


def drift(ctx: DayContext, vectors: pd.DataFrame, score: Scored) -> Drift:
    """Feature and prediction drift against the champion's training reference (drift.html/json)."""
    from experiments import registry
    from monitoring import drift as drift_checks

    champion = score.champion

    def reference() -> pd.DataFrame:
        holdout = registry.training_holdout(champion)
        return holdout.assign(churn_probability=champion.model.predict_proba(holdout))

    ref = drift_checks.cached_reference(ctx.settings, champion.version, reference)
    probabilities = score.at_risk[["customer_id", drift_checks.PREDICTION]]
    current = vectors.merge(probabilities, on="customer_id")
    columns = [c for c in champion.model.feature_names_ if c in current] + [drift_checks.PREDICTION]
    result = drift_checks.check_drift(ref, current, ctx.settings, out_dir=ctx.folder, columns=columns)
    return Drift(result.share_drifted, drift_checks.drift_alerts(result, ctx.day, ctx.settings))


def decay(ctx: DayContext, load: EventData, score: Scored, forecast: Forecast | None) -> Decay:
    """Realised quality of the newest completed list and forecast whose horizon has passed."""
    from monitoring import decay as decay_checks

    settings, alerts = ctx.settings, []
    churn_quality = volume_quality = None
    horizon = settings.churn.horizon_days
    matured = decay_checks.latest_matured(ctx.out_root, ctx.day, horizon, "at_risk.parquet")
    if matured:
        list_day, path = matured
        churn_quality = decay_checks.realised_churn_quality(pd.read_parquet(path), load, list_day, horizon)
        decay_checks.log_decay(churn_quality, list_day, settings)
        training_auc = score.champion.metrics.get("auc", float("nan"))
        alerts += decay_checks.decay_alerts(churn_quality, training_auc, ctx.day, list_day, settings)
        ctx.write("decay.csv", pd.DataFrame([{"list_day": f"{list_day:%Y-%m-%d}", **churn_quality}]))
    horizon = settings.forecast.horizon_days
    matured = decay_checks.latest_matured(ctx.out_root, ctx.day, horizon, "forecast.csv")
    if matured and forecast is not None:
        forecast_day, path = matured
        earlier = pd.read_csv(path, parse_dates=["ds"])
        volume_quality = decay_checks.realised_forecast_quality(earlier, forecast.actuals)
        per_series = {f"mase/{r.series_id.replace('=', '-')}": r.mase for r in volume_quality.itertuples()}
        summary = {
            "mase_mean": float(volume_quality["mase"].mean()),
            "coverage_mean": float(volume_quality["coverage"].mean()),
        } | per_series
        decay_checks.log_decay(summary, forecast_day, settings, task="volume")
        nominal = settings.forecast.interval_level
        alerts += decay_checks.forecast_decay_alerts(volume_quality, nominal, ctx.day, forecast_day, settings)
        ctx.write("forecast_decay.csv", volume_quality.assign(forecast_day=f"{forecast_day:%Y-%m-%d}"))
    if churn_quality is None and volume_quality is None:
        raise StepSkipped("no earlier completed list or forecast whose horizon has passed")
    return Decay(churn_quality, volume_quality, alerts)


def alerts(
    ctx: DayContext,
    forecast: Forecast | None,
    kpis: KPIs | None,
    drift: Drift | None,
    decay: Decay | None,
    needs=None,
) -> list[Alert]:
    """Every alert of the day, logged, in alerts.jsonl (no id twice) and posted to the webhook."""
    from monitoring.alerts import emit

    outputs = (forecast, kpis, drift, decay, needs)
    raised = [a for output in outputs if output is not None for a in output.alerts]
    return emit(raised, ctx.folder, ctx.settings)
