"""The daily job: load, vectors, at-risk list, forecasts, staffing, KPIs, drift, decay, alerts.

The steps and what each needs are declared once in `STEPS`. The day is written into a staging
folder and published whole as OUT/DATE with a completion marker (`_SUCCESS.json`) that records
the model versions that produced it; a rerun replaces the day in one step, and a crash leaves
the previous version of the day (and every other day) as it was. A step with no input is
skipped with its reason; a failing step is recorded in run_log.json, leaves no file behind, and
only the steps that need its output are not run.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from core.config import Settings
from core.day_folders import day_name, publish, staging_folder, stale_staging_folders
from core.io import write_json
from pipelines import retention, steps
from pipelines.needs import needs_step
from pipelines.runner import Step, StepRecord, run_steps

logger = logging.getLogger(__name__)

STEPS: list[Step] = [
    Step("load", steps.load),
    Step("vectors", steps.vectors, needs=("load",)),
    Step("score", steps.score, needs=("load", "vectors")),
    Step("forecast", steps.forecast, needs=("load",)),
    Step("staffing", steps.staffing, needs=("load", "forecast")),
    Step("kpis", steps.kpis, needs=("load",)),
    Step("drift", steps.drift, needs=("vectors", "score")),
    Step("decay", steps.decay, needs=("load", "score"), uses=("forecast",)),
    Step("needs", needs_step, needs=("load", "score"), uses=("forecast",)),
    Step("targeting", retention.targeting, needs=("load", "vectors", "score")),
    Step("campaign", retention.campaign, needs=("load",)),
    Step("alerts", steps.alerts, uses=("forecast", "kpis", "drift", "decay", "needs")),
]


@dataclass
class DailyResult:
    as_of: str
    day_dir: Path  # the published day
    steps: list[dict[str, Any]] = field(default_factory=list)
    outputs: dict[str, str] = field(default_factory=dict)  # file name -> path in the published day
    models: dict[str, dict[str, Any]] = field(default_factory=dict)
    alerts: list = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """No step failed (skipped steps had nothing to work on)."""
        return all(step["status"] in ("ok", "skipped") for step in self.steps)


def _models(outputs: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The model versions that produced the day's answers."""
    produced = {"churn": outputs.get("score"), "volume": outputs.get("forecast")}
    return {
        task: {"name": output.champion.name, "version": output.champion.version}
        for task, output in produced.items()
        if output is not None
    }


def _carry_over_alerts(out_root: Path, day: pd.Timestamp, folder: Path) -> None:
    """A rerun of a day knows the alerts already raised for it, so none is sent twice."""
    earlier = out_root / day_name(day) / "alerts.jsonl"
    if earlier.exists():
        shutil.copy2(earlier, folder / "alerts.jsonl")


def run_daily(
    data_dir: Path,
    as_of: str,
    out_dir: Path,
    settings: Settings,
    on_step: Callable[[str], None] | None = None,
    step_table: list[Step] | None = None,
    client: Any = None,
) -> DailyResult:
    """Run the day for `as_of` on the data in `data_dir`; publish it as `out_dir/DATE`.

    Args:
        step_table: the steps to run (default `STEPS`).
        client: a Dask client: vectors, scores and forecasts then run on its workers; the files
            are still written only here, into the staging folder published whole.
    """
    day = pd.Timestamp(as_of).normalize()
    out_root = Path(out_dir)
    for stale in stale_staging_folders(out_root, day):
        logger.warning("removing %s, left by a daily run that did not finish", stale)
        shutil.rmtree(stale, ignore_errors=True)
    folder = staging_folder(out_root, day)
    try:
        _carry_over_alerts(out_root, day, folder)
        context = steps.DayContext(Path(data_dir), day, settings, folder, out_root, client)
        records, outputs = run_steps(step_table or STEPS, context, folder, on_step)
        result = _publish(records, outputs, data_dir, day, folder, out_root)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)  # nothing half-written stays, even hidden
        raise
    return result


def _publish(
    records: list[StepRecord],
    outputs: dict[str, Any],
    data_dir: Path,
    day: pd.Timestamp,
    folder: Path,
    out_root: Path,
) -> DailyResult:
    final = out_root / day_name(day)
    result = DailyResult(day_name(day), final, [r.as_dict() for r in records], models=_models(outputs))
    result.alerts = outputs.get("alerts") or []
    names = sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())
    result.outputs = {name: str(final / name) for name in [*names, "run_log.json"]}
    log = {
        "as_of": result.as_of,
        "data": str(data_dir),
        "ok": result.ok,
        "models": result.models,
        "steps": result.steps,
        "outputs": result.outputs,
    }
    write_json(folder / "run_log.json", log)
    marker = {"as_of": result.as_of, "ok": result.ok, "models": result.models, "data": str(data_dir)}
    marker["completed_at"] = pd.Timestamp.now(tz="UTC").isoformat()
    marker["steps"] = {step["step"]: step["status"] for step in result.steps}
    publish(folder, out_root, day, marker)
    logger.info("published %s (%s)", final, "ok" if result.ok else "with failed steps")
    return result
