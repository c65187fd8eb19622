"""A day is published whole or not at all: crashes and failures never show a half-written day."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from core.day_folders import MARKER, completed_days
from pipelines.daily import run_daily
from pipelines.runner import Step
from serving.state import load_state

DAY = "2026-11-20"


def _write_list(ctx, version: str) -> None:
    frame = pd.DataFrame({"customer_id": ["c1", "c2"], "churn_probability": [0.9, 0.1], "run": version})
    ctx.write("vectors.parquet", frame[["customer_id"]])
    ctx.write("at_risk.parquet", frame)


def _table(version: str, then=None) -> list[Step]:
    table = [Step("score", lambda ctx: _write_list(ctx, version))]
    if then is not None:
        table.append(Step("then", then, needs=("score",)))
    return table


@pytest.fixture
def local_settings(settings, tmp_path):
    paths = settings.paths.model_copy(update={"output": tmp_path / "out"})
    return settings.model_copy(update={"paths": paths})


def _served_run(settings) -> str:
    state = load_state(settings)
    return state.latest.at_risk["run"].iloc[0]


def test_a_crash_mid_day_leaves_the_previous_day_served(local_settings):
    out = local_settings.path("output")
    first = run_daily(out, DAY, out, local_settings, step_table=_table("first"))
    assert first.ok and _served_run(local_settings) == "first"
    before = {p.name: p.read_bytes() for p in first.day_dir.iterdir()}

    def crash(ctx, score):
        _write_list(ctx, "half-written")
        (ctx.folder / "forecast.csv").write_text("ds,yhat\n2026-11-21,")
        raise KeyboardInterrupt  # the process goes down: the runner cannot record it

    with pytest.raises(KeyboardInterrupt):
        run_daily(out, DAY, out, local_settings, step_table=_table("second", then=crash))
    assert {p.name: p.read_bytes() for p in first.day_dir.iterdir()} == before
    assert sorted(p.name for p in out.iterdir()) == [DAY]  # no staging folder left either
    assert _served_run(local_settings) == "first"


def test_a_rerun_replaces_the_day_and_a_dead_runs_staging_is_cleared(local_settings):
    out = local_settings.path("output")
    run_daily(out, DAY, out, local_settings, step_table=_table("first"))
    dead = out / f".staging-{DAY}-killed"  # as left by a run killed with SIGKILL
    dead.mkdir()
    (dead / "at_risk.parquet").write_text("garbage")
    second = run_daily(out, DAY, out, local_settings, step_table=_table("second"))
    assert second.ok and _served_run(local_settings) == "second"
    assert sorted(p.name for p in out.iterdir()) == [DAY]


def test_a_failing_step_is_published_without_its_files(local_settings):
    out = local_settings.path("output")

    def fails_after_writing(ctx, score):
        (ctx.folder / "forecast.csv").write_text("ds,yhat\n2026-11-21,")
        raise RuntimeError("model file corrupt")

    result = run_daily(out, DAY, out, local_settings, step_table=_table("first", then=fails_after_writing))
    assert not result.ok
    assert not (result.day_dir / "forecast.csv").exists()
    marker = json.loads((result.day_dir / MARKER).read_text())
    assert marker["steps"] == {"score": "ok", "then": "failed"} and marker["ok"] is False
    log = json.loads((result.day_dir / "run_log.json").read_text())
    assert log["steps"][1]["error"] == "RuntimeError: model file corrupt"
    assert sorted(log["outputs"]) == ["at_risk.parquet", "run_log.json", "vectors.parquet"]
    assert completed_days(out) == [result.day_dir]
