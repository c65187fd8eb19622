"""What the service serves: the champions and the latest daily outputs, loaded once, swapped whole."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import pandas as pd

from core.config import Settings
from core.day_folders import completed_days, read_marker
from core.errors import ModelNotFoundError

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class DayOutputs:
    day: str
    at_risk: pd.DataFrame
    vectors: pd.DataFrame  # indexed by customer_id
    forecast: pd.DataFrame | None
    staffing: pd.DataFrame | None
    alerts: list[dict]
    # The model versions that produced the day, from its completion marker: {"churn": {...}, ...}
    models: dict[str, dict] = field(default_factory=dict)
    needs: pd.DataFrame | None = None  # the needs backlog (groups), when the day has one
    written_ns: int = 0  # when its folder last changed: a reload reuses an unchanged day

    def model_version(self, task: str) -> int | None:
        return self.models.get(task, {}).get("version")


@dataclass(frozen=True)
class ServingState:
    settings: Settings
    churn: object | None  # LoadedModel
    volume: object | None
    days: dict[str, DayOutputs] = field(default_factory=dict)

    @property
    def latest(self) -> DayOutputs | None:
        return self.days[max(self.days)] if self.days else None

    @cached_property
    def list_terms(self) -> dict:
        """The base rate and lapse definition of the latest day's list, so that /score agrees with
        it; worked out once per state (the base rate reads the whole list)."""
        from serving.scoring import base_rate_of, lapsed_after

        latest = self.latest
        return {
            "base_rate": base_rate_of(latest.at_risk if latest else None),
            "lapsed_after_days": lapsed_after(self.churn.model, self.settings, self.churn.data_window),
        }

    @cached_property
    def stored_answers(self):
        """The latest day's list as /score answers (serving.stored_answers), when the serving
        champion made it and it agrees with scoring now; else None."""
        from serving.stored_answers import StoredAnswers

        return StoredAnswers.build(self.churn, self.latest, self.settings, **self.list_terms)

    @cached_property
    def small_batch(self):
        """The scorer of the latest day's customers for /score (serving.small_batch), prepared
        once per state; None without a model or outputs, or when it does not fit the model."""
        from serving.small_batch import StoredScorer

        if self.churn is None or self.latest is None:
            return None
        return StoredScorer.build(self.churn.model, self.latest.vectors, self.settings, **self.list_terms)


def _written_ns(day_dir: Path) -> int:
    """When the day folder or a file in it last changed (a rerun, or an erasure rewriting a file)."""
    try:
        return max([day_dir.stat().st_mtime_ns, *(f.stat().st_mtime_ns for f in day_dir.iterdir())])
    except OSError:  # replaced while we looked: read it again
        return 0


def _read_day(day_dir: Path) -> DayOutputs | None:
    """A completed day's outputs; None when it has no at-risk list."""
    written = _written_ns(day_dir)
    marker = read_marker(day_dir)
    if marker is None or not (day_dir / "at_risk.parquet").exists():
        return None
    vectors = pd.read_parquet(day_dir / "vectors.parquet").set_index("customer_id", drop=False)
    forecast = (
        pd.read_csv(day_dir / "forecast.csv", parse_dates=["ds"])
        if (day_dir / "forecast.csv").exists()
        else None
    )
    staffing = (
        pd.read_csv(day_dir / "staffing.csv", parse_dates=["ds"])
        if (day_dir / "staffing.csv").exists()
        else None
    )
    alerts_file = day_dir / "alerts.jsonl"
    alerts = (
        [json.loads(x) for x in alerts_file.read_text().splitlines() if x.strip()]
        if alerts_file.exists()
        else []
    )
    needs = (
        pd.read_parquet(day_dir / "needs_backlog.parquet")
        if (day_dir / "needs_backlog.parquet").exists()
        else None
    )
    at_risk = pd.read_parquet(day_dir / "at_risk.parquet")
    return DayOutputs(
        day_dir.name, at_risk, vectors, forecast, staffing, alerts, marker.get("models", {}), needs, written
    )


def load_state(settings: Settings, days: int = 7, previous: ServingState | None = None) -> ServingState:
    """Champions from the registry (absent ones are None) and the last `days` completed days.

    With the `previous` state, what has not changed is taken over instead of loaded again: a
    champion of the same version (with its SHAP tables, cached per booster), a day whose folder has not
    changed, and the small-batch scorer when both its model and day are unchanged.
    A reload under load then costs only what is new.
    """
    from experiments.registry import champion_versions, load

    versions = champion_versions(settings) if previous is not None else {}
    models = {}
    for task in ("churn", "volume"):
        old = getattr(previous, task, None)
        if old is not None and versions.get(task) == old.version:
            models[task] = old
            continue
        try:
            models[task] = load(task, settings)
        except ModelNotFoundError as e:
            logger.warning("%s", e)
            models[task] = None
    out = {}
    for day_dir in completed_days(settings.path("output"))[-days:]:
        old = previous.days.get(day_dir.name) if previous is not None else None
        if old is not None and old.written_ns and old.written_ns == _written_ns(day_dir):
            out[old.day] = old
        elif (day := _read_day(day_dir)) is not None:
            out[day.day] = day
    logger.info(
        "serving churn %s, volume %s, %d day(s) of outputs",
        getattr(models["churn"], "version", None),
        getattr(models["volume"], "version", None),
        len(out),
    )
    state = ServingState(settings, models["churn"], models["volume"], out)
    if previous is not None and state.churn is previous.churn and state.latest is previous.latest:
        for prepared in (
            "list_terms",
            "stored_answers",
            "small_batch",
        ):  # cached_property values of the same inputs
            if prepared in previous.__dict__:
                state.__dict__[prepared] = previous.__dict__[prepared]
    return state


def source_stamp(settings: Settings) -> tuple:
    """What a reload would pick up: the champion versions and the newest daily output.

    Cheap enough to poll every few seconds from every worker.
    """
    from experiments.registry import champion_versions

    root = settings.path("output")
    days = sorted(root.glob("????-??-??/at_risk.parquet")) if root.exists() else []
    newest = (days[-1].parent.name, days[-1].stat().st_mtime_ns) if days else None
    return tuple(sorted(champion_versions(settings).items())), newest
