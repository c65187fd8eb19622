"""The needs steps of the daily job: classify texts, the needs backlog, hot spots, feedback signals.

Each step is a function of frames and settings; reading and writing stay at the edges
(`at_risk_for_day`, `write_needs`). The daily job calls, in this order:
1. after loading: `events = annotate_texts(events, load_text_models(settings))` (text models from
   experiments.feedback_experiment; without champions the human labels are used where present);
2. after the at-risk list and the forecast: `day = needs_day(events, at_risk, forecast, as_of,
   settings)`, then `write_needs(day, day_dir)` and `alerts.extend(day.alerts)`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from core.config import Settings
from core.errors import DataError, ModelNotFoundError
from core.io import read_frame, write_frame
from features.contract import EventData
from monitoring.alerts import Alert
from monitoring.needs_alerts import (
    class_mix,
    class_mix_alerts,
    hot_spot_alerts,
    hot_spots,
    negative_rate_alerts,
    negative_rates,
)
from monitoring.needs_backlog import needs_backlog, request_backlog
from training.text_model import annotate


@dataclass
class NeedsDay:
    backlog: pd.DataFrame
    requests: pd.DataFrame
    hot_spots: pd.DataFrame
    negative_rates: pd.DataFrame
    class_mix: pd.DataFrame
    alerts: list[Alert] = field(default_factory=list)


def annotate_texts(events: EventData, models: dict[str, object]) -> EventData:
    """Feedback and tickets with the text models' `pred_class` and `pred_sentiment`."""
    if not models:
        return events
    changed = {}
    for name in ("feedback", "tickets"):
        df = getattr(events, name)
        if df is not None and "text" in df:
            changed[name] = annotate(df, models.get("class"), models.get("sentiment"))
    return dataclasses.replace(events, **changed)


def needs_day(
    events: EventData,
    at_risk: pd.DataFrame,
    forecast: pd.DataFrame | None,
    as_of,
    settings: Settings,
) -> NeedsDay:
    """The backlog (groups and requests), hot spots, negative rates, class mix and their alerts."""
    empty = pd.DataFrame()
    req = events.requirements
    backlog = needs_backlog(req, at_risk, as_of, settings) if req is not None else empty
    requests = request_backlog(req, at_risk, as_of, settings) if req is not None else empty
    spots = hot_spots(req, forecast, as_of, settings) if req is not None else empty
    fb = events.feedback
    rates = negative_rates(fb, as_of, settings) if fb is not None else empty
    mix = class_mix(fb, as_of, settings) if fb is not None else empty
    alerts = []
    if not spots.empty:
        alerts += hot_spot_alerts(spots, as_of, settings)
    if not rates.empty:
        alerts += negative_rate_alerts(rates, as_of, settings)
    if not mix.empty:
        alerts += class_mix_alerts(mix, as_of, settings)
    return NeedsDay(backlog, requests, spots, rates, mix, alerts)


def needs_step(ctx, load: EventData, score, forecast) -> NeedsDay:
    """The daily job's needs step: backlog, hot spots and feedback signals of the day, written
    into the day's folder (needs_backlog.csv/.parquet, needs_hot_spots.csv, ...)."""
    from pipelines.runner import StepSkipped

    if load.requirements is None and load.feedback is None:
        raise StepSkipped("no requirements or feedback table")
    ahead = forecast.ahead if forecast is not None else None
    day = needs_day(load, score.at_risk, ahead, ctx.day, ctx.settings)
    write_needs(day, ctx.folder)
    return day


def write_needs(day: NeedsDay, day_dir: Path) -> dict[str, str]:
    """Write the day's needs outputs into `day_dir`; returns their paths by file name."""
    files = {
        "needs_backlog.csv": day.backlog,
        "needs_backlog.parquet": day.backlog,
        "needs_requests.parquet": day.requests,
        "needs_hot_spots.csv": day.hot_spots,
        "feedback_negative_rates.csv": day.negative_rates,
        "feedback_class_mix.csv": day.class_mix,
    }
    return {name: str(write_frame(frame, Path(day_dir) / name)) for name, frame in files.items()}


def at_risk_for_day(events: EventData, as_of, settings: Settings, path: Path | None = None) -> pd.DataFrame:
    """The at-risk list of `as_of`: from `path`, else from the daily job's output for that day,
    else scored now with the champion churn model."""
    day = pd.Timestamp(as_of).normalize()
    stored = settings.path("output") / f"{day:%Y-%m-%d}" / "at_risk.parquet"
    for candidate in (path, stored):
        if candidate is not None and Path(candidate).exists():
            return read_frame(Path(candidate))
    if path is not None:
        raise DataError(f"{path}: no such at-risk file")
    from experiments import registry
    from features.vectors import build_vectors
    from serving.scoring import score_customers

    try:
        champion = registry.load("churn", settings)
    except ModelNotFoundError as e:
        raise DataError(
            f"no at-risk list for {day:%Y-%m-%d} ({stored} is missing) and {e}; or pass --at-risk FILE"
        ) from e
    return score_customers(champion.model, build_vectors(events, day, settings), settings)
