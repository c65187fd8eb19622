"""`needradar forecast backtest` on a user file: JSON, the --out rows, and one-line errors."""

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from needradar.cli import app


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
        "--out",
        str(out),
        "--json",
    ]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert {"prophet", "lightgbm", "seasonal_naive", "moving_average", "selected"} <= set(summary["mase"])
    assert summary["mase"]["selected"] < summary["mase"]["moving_average"]
    assert "selected_conformal" in summary["coverage"] and "prophet_per_series_fold" in summary["fit_seconds"]
    rows = pd.read_csv(out, parse_dates=["ds"])
    assert list(rows.columns[:5]) == ["id", "ds", "fold", "y", "yhat"]
    assert len(rows) == 2 * 2 * 5 and rows["ds"].dt.dayofweek.max() < 5  # real (weekday) timestamps only
    last = rows[rows["id"] == "a"]["ds"].max()
    assert last == pd.Timestamp(pd.read_csv(weekday_csv)["when"].max())


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
