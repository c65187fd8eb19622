"""`needradar forecast backtest` on a user file: JSON, the --out rows, and one-line errors."""

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from needradar.cli import app
from training.forecasting.candidates import MODELS
from training.forecasting.selection import members


@pytest.fixture(scope="module")
def weekday_csv(tmp_path_factory):
    """Two weekday-only series (no weekends in the file) with a Monday peak."""
    ds = pd.Series(pd.date_range("2025-01-06", periods=7 * 14, freq="D"))
    ds = ds[ds.dt.dayofweek < 5].reset_index(drop=True)
    rng = np.random.default_rng(0)
    frames = [
        pd.DataFrame(
            {
                "when": ds.dt.strftime("%Y-%m-%d"),
                "calls": (level + 15 * (ds.dt.dayofweek == 0) + rng.normal(0, 2, len(ds))).round(),
                "queue": q,
            }
        )
        for q, level in (("a", 40), ("b", 80))
    ]
    path = tmp_path_factory.mktemp("byo") / "calls.csv"
    pd.concat(frames).to_csv(path, index=False)
    return path


def test_backtest_json_and_rows(weekday_csv, tmp_path):
    out = tmp_path / "rows.csv"
    args = [
        "forecast",
        "backtest",
        "--series",
        str(weekday_csv),
        "--time-col",
        "when",
        "--value-col",
        "calls",
        "--id-col",
        "queue",
        "--horizon",
        "5",
        "--folds",
        "2",
        "--country",
        "US",
        "--out",
        str(out),
        "--json",
    ]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    models = {"prophet", "lightgbm", "seasonal_naive", "auto_ets", "mstl", "auto_theta"}
    assert models | {"selected"} == set(summary["mase"]) and summary["interval_level"] == 0.8
    rows = pd.read_csv(out, parse_dates=["ds"])
    assert list(rows.columns[:8]) == ["id", "ds", "fold", "y", "yhat", "yhat_lower", "yhat_upper", "model"]
    assert len(rows) == 2 * 2 * 5 and rows["ds"].dt.dayofweek.max() < 5  # real (weekday) timestamps only
    assert rows["ds"].max() == pd.Timestamp(pd.read_csv(weekday_csv)["when"].max())
    # "selected" is the mean over the same series and folds of the honest yhat that --out holds,
    # each fold scaled by its training part's seasonal naive error (5 rows a week).
    frame = pd.read_csv(weekday_csv, parse_dates=["when"])
    by_hand = []
    for (sid, _), g in rows.groupby(["id", "fold"]):
        train = frame[(frame["queue"] == sid) & (frame["when"] < g["ds"].min())]["calls"].to_numpy()
        scale = np.mean(np.abs(train[5:] - train[:-5]))
        by_hand.append(np.mean(np.abs(g["y"] - g["yhat"])) / scale)
    assert summary["mase"]["selected"] == pytest.approx(np.mean(by_hand), abs=1e-3)
    per_series = {r["id"]: r for r in summary["per_series"]}
    assert set(per_series) == {"a", "b"}
    assert all(set(members(r["ships"])) <= set(MODELS) for r in per_series.values())
    assert ((rows["yhat_lower"] <= rows["yhat"]) & (rows["yhat"] <= rows["yhat_upper"])).all()


@pytest.mark.parametrize(
    "edit, extra, message",
    [
        (lambda d: d.assign(calls=d["calls"].where(d.index != 9, -3)), [], "at row 10 is negative"),
        (lambda d: d, ["--horizon", "0"], "--horizon 0: must be at least 1"),
        (lambda d: d.head(12), [], "shorter than two seasons"),
    ],
)
def test_backtest_bad_input_is_one_line(weekday_csv, tmp_path, edit, extra, message):
    frame = edit(pd.read_csv(weekday_csv).query("queue == 'a'").reset_index(drop=True))
    path = tmp_path / "bad.csv"
    frame.to_csv(path, index=False)
    args = [
        "forecast",
        "backtest",
        "--series",
        str(path),
        "--time-col",
        "when",
        "--value-col",
        "calls",
        "--horizon",
        "5",
        "--folds",
        "2",
        *extra,
        "--json",
    ]
    result = CliRunner().invoke(app, args)
    assert result.exit_code != 0 and message in str(result.exception)


def test_user_sees_one_line_error(tmp_path):
    path = tmp_path / "dup.csv"
    pd.DataFrame({"t": ["2025-01-06", "2025-01-06", "2025-01-07"], "v": [1, 2, 3]}).to_csv(path, index=False)
    cmd = [
        sys.executable,
        "-m",
        "needradar",
        "forecast",
        "backtest",
        "--series",
        str(path),
        "--time-col",
        "t",
        "--value-col",
        "v",
        "--horizon",
        "1",
        "--folds",
        "1",
        "--json",
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    line = done.stderr.strip()
    assert "\n" not in line and "timestamp 2025-01-06 00:00:00 at row 2 is duplicated" in line
