import numpy as np
import pandas as pd
import pytest

from core.day_folders import MARKER
from features.labels import churn_labels
from monitoring.decay import (
    decay_alerts,
    forecast_decay_alerts,
    latest_matured,
    realised_churn_quality,
    realised_forecast_quality,
)


def _list(sample, day, horizon, good: bool) -> pd.DataFrame:
    """An at-risk list that ranks the real churners first (good) or last."""
    y = churn_labels(sample.events, day, horizon)
    noise = np.random.default_rng(0).uniform(0, 0.3, len(y))
    p = np.where(y.to_numpy() == 1, 0.6, 0.1) + noise
    return pd.DataFrame({"customer_id": y.index, "churn_probability": p if good else 1 - p})


def test_a_decayed_list_raises_an_orange_alert_and_a_good_one_none(sample, settings):
    day = (sample.events.last_event_ts() - pd.Timedelta(days=120)).normalize()
    horizon = 60
    good = realised_churn_quality(_list(sample, day, horizon, True), sample.events, day, horizon)
    bad = realised_churn_quality(_list(sample, day, horizon, False), sample.events, day, horizon)
    assert good["auc"] > 0.95 and bad["auc"] < 0.05
    assert 0 < good["observed_rate"] < 0.5
    as_of = day + pd.Timedelta(days=horizon)
    assert decay_alerts(good, 0.80, as_of, day, settings) == []
    (alert,) = decay_alerts(bad, 0.80, as_of, day, settings)
    assert alert.level == "orange" and alert.kind == "decay"
    assert "below the training figure 0.800" in alert.message and "needradar churn train" in alert.message


def _series(days: int, weekly: list[float]) -> pd.DataFrame:
    ds = pd.date_range("2026-01-05", periods=days, freq="D")  # a Monday
    y = [weekly[i % 7] for i in range(days)]
    return pd.DataFrame({"series_id": "tickets/total", "ds": ds, "y": np.array(y, float)})


def test_forecast_quality_by_hand_and_alerts(settings):
    history = _series(28, [10, 12, 14, 12, 10, 4, 2])
    history.loc[7:, "y"] += np.tile([0, 2], 11)[: len(history) - 7]  # seasonal naive errs by 0 or 2
    actuals = history.copy()
    last = history["ds"].max()
    future = pd.DataFrame(
        {
            "series_id": "tickets/total",
            "ds": pd.date_range(last + pd.Timedelta(days=1), periods=7, freq="D"),
            "y": [11.0, 12, 15, 12, 10, 5, 2],
        }
    )
    actuals = pd.concat([actuals, future], ignore_index=True)
    forecast = future.drop(columns="y").assign(
        yhat=[10.0, 12, 14, 12, 10, 4, 2], yhat_lower=[9.0, 11, 13, 11, 9, 3, 1]
    )
    forecast["yhat_upper"] = forecast["yhat"] + 0.5
    q = realised_forecast_quality(forecast, actuals).iloc[0]
    y = history["y"].to_numpy()
    scale = np.mean(np.abs(y[7:] - y[:-7]))
    assert q["mae"] == pytest.approx(3 / 7)
    assert q["mase"] == pytest.approx((3 / 7) / scale)
    assert q["coverage"] == pytest.approx(4 / 7)  # the three days with y above yhat + 0.5 miss
    assert q["days"] == 7

    quality = pd.DataFrame(
        [
            {"series_id": "ok", "mase": 0.7, "mae": 1.0, "coverage": 0.78, "days": 14},
            {"series_id": "worse_than_naive", "mase": 1.4, "mae": 3.0, "coverage": 0.8, "days": 14},
            {"series_id": "narrow", "mase": 0.9, "mae": 2.0, "coverage": 0.5, "days": 14},
        ]
    )
    alerts = forecast_decay_alerts(quality, 0.8, "2026-03-01", "2026-02-15", settings)
    assert [a.subject for a in alerts] == ["worse_than_naive", "narrow"]
    assert "MASE 1.40" in alerts[0].message and "covered 50% (nominal 80%)" in alerts[1].message
    assert all(a.level == "yellow" and "needradar forecast train" in a.message for a in alerts)


def test_latest_matured_output(tmp_path):
    for day in ("2026-01-01", "2026-01-02", "2026-01-20"):
        (tmp_path / day).mkdir()
        (tmp_path / day / "forecast.csv").write_text("x\n")
        (tmp_path / day / MARKER).write_text("{}")
    (tmp_path / "2026-01-03").mkdir()  # no forecast that day
    (tmp_path / "2026-01-03" / MARKER).write_text("{}")
    assert latest_matured(tmp_path, "2026-01-16", 14, "forecast.csv") == (
        pd.Timestamp("2026-01-02"),
        tmp_path / "2026-01-02" / "forecast.csv",
    )
    assert latest_matured(tmp_path, "2026-01-14", 14, "forecast.csv") is None
    (tmp_path / "2026-01-02" / MARKER).unlink()  # a day whose run never completed is not read
    assert latest_matured(tmp_path, "2026-01-16", 14, "forecast.csv") == (
        pd.Timestamp("2026-01-01"),
        tmp_path / "2026-01-01" / "forecast.csv",
    )
