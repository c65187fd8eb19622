import numpy as np
import pandas as pd
import pytest

from core.errors import DataError
from training.forecasting.backtest import backtest_volumes
from training.forecasting.baselines import seasonal_naive
from training.forecasting.forecaster import VolumeForecaster, train_volume
from training.forecasting.global_lgbm import lags_for
from training.forecasting.metrics import mase, seasonal_naive_scale
from training.forecasting.series_checks import check_series, weekly_period
from training.forecasting.user import backtest_user_series, to_series


def _weekly(n_days=140, seed=0, level=50.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    ds = pd.date_range("2025-01-06", periods=n_days, freq="D")
    y = level * np.array([1.2, 1.1, 1.0, 1.0, 1.1, 0.6, 0.5])[ds.dayofweek] + rng.normal(0, 3, n_days)
    return pd.DataFrame({"ds": ds, "y": np.clip(y, 0, None).round()})


def test_mase_by_hand():
    train = np.array([1.0, 2, 3, 4, 5, 6])
    assert seasonal_naive_scale(train, 2) == pytest.approx(2.0)
    assert mase([10, 12], [11, 10], 2.0) == pytest.approx(0.75)


def test_weekly_period_follows_actual_timestamps():
    business = pd.Series(pd.date_range("2025-01-06 07:00", periods=28 * 5 * 3, freq="30min"))
    business = business[(business.dt.dayofweek < 5) & (business.dt.hour.between(7, 20))]
    assert weekly_period(_weekly()["ds"]) == 7
    assert weekly_period(pd.Series(business.to_numpy())) == 140


def test_baselines_and_lags():
    assert seasonal_naive(np.arange(14.0), 9, 7).tolist() == [7, 8, 9, 10, 11, 12, 13, 7, 8]
    assert lags_for(14, 7) == [14, 21, 28]
    assert min(lags_for(140, 140)) >= 140


def test_backtest_beats_seasonal_naive_on_clean_seasonality():
    series = {f"s{i}": _weekly(seed=i) for i in range(3)}
    bt = backtest_volumes(
        series, 14, 2, 7, None, models=("lightgbm", "seasonal_naive", "moving_average"), n_jobs=1
    )
    mean = bt.scores.groupby("model")["mase"].mean()
    assert mean["lightgbm"] < mean["moving_average"]
    assert set(bt.forecasts["fold"]) == {0, 1} and len(bt.forecasts) == 3 * 2 * 14
    # folds are the last two windows of 14 rows
    assert bt.forecasts["ds"].max() == series["s0"]["ds"].max()
    assert 0.5 < bt.coverage["lightgbm_conformal"] <= 1.0


def test_user_series_with_gaps_and_prophet():
    ds = pd.Series(pd.date_range("2025-01-06", periods=7 * 16, freq="D"))
    weekdays = ds[ds.dt.dayofweek < 5].reset_index(drop=True)
    y = 30 + 10 * (weekdays.dt.dayofweek == 0) + np.random.default_rng(1).normal(0, 2, len(weekdays))
    frame = pd.DataFrame({"t": weekdays.astype(str), "v": y.round()})
    bt = backtest_user_series(to_series(frame, "t", "v"), 5, 2)
    assert {"prophet", "lightgbm", "seasonal_naive", "selected"} <= set(bt.scores["model"])
    assert bt.forecasts["ds"].dt.dayofweek.max() < 5  # forecasts only at real (weekday) timestamps
    assert "prophet" in bt.coverage


@pytest.mark.parametrize(
    "frame, horizon, message",
    [
        (_weekly(20), 7, "shorter than two seasons"),
        (
            _weekly().assign(y=lambda d: d["y"].astype(object).where(d.index != 3, "many")),
            7,
            "'many' at row 4 is not a number",
        ),
        (_weekly().assign(y=lambda d: d["y"].where(d.index != 5, -2)), 7, "at row 6 is negative"),
        (pd.concat([_weekly().iloc[:2], _weekly()]).reset_index(drop=True), 7, "is duplicated"),
        (_weekly(), 0, "horizon must be at least 1"),
    ],
)
def test_bad_series(frame, horizon, message):
    with pytest.raises(DataError, match=message):
        check_series(frame, horizon)


@pytest.fixture(scope="module")
def forecaster(sample, settings):
    from features.volume_series import build_volume_series

    long = build_volume_series(sample.events)
    keep = long[long["series_id"].isin(["tickets/total", "tickets/channel=phone", "requirements/total"])]
    cfg = settings.model_copy(update={"forecast": settings.forecast.model_copy(update={"backtest_folds": 1})})
    return train_volume(keep, cfg), keep


def test_forecaster_round_trip_and_evaluate(forecaster, tmp_path):
    result, long = forecaster
    f = result.forecaster
    a = f.predict(None, 14)
    f.save(tmp_path / "m")
    b = VolumeForecaster.load(tmp_path / "m").predict(None, 14)
    pd.testing.assert_frame_equal(a, b)
    assert not list((tmp_path / "m").glob("*.pkl"))  # Prophet as JSON, boosters as text
    assert a["ds"].min() == long["ds"].max() + pd.Timedelta(days=1)
    assert (a["yhat_lower"] <= a["yhat"]).all() and (a["yhat"] <= a["yhat_upper"]).all()
    metrics = f.evaluate(result.holdout)
    assert np.isfinite(metrics["mase"]) and 0 <= metrics["coverage"] <= 1
    with pytest.raises(DataError, match="unknown series tickets/nope"):
        f.predict(["tickets/nope"], 3)
    with pytest.raises(DataError, match="horizon must be between 1 and 14"):
        f.predict(None, 15)


def test_conformal_calibrates_on_synthetic_noise():
    from training.forecasting.conformal import conformal_widths

    rng = np.random.default_rng(3)
    n_folds, h = 6, 50
    rows = pd.DataFrame({"id": "s", "fold": np.repeat(np.arange(n_folds), h), "yhat": 100.0})
    rows["y"] = rows["yhat"] + rng.normal(0, 5, len(rows))
    rows["wide"] = rows["yhat"] + 0.0
    widths, cover = conformal_widths(rows, ["yhat", "wide"], 0.8)
    # The 80% quantile of |N(0, 5)| is 5 * 1.2816 = 6.41; cross-fitted coverage is close to 80%.
    assert widths["s"]["yhat"] == pytest.approx(6.41, rel=0.12)
    assert cover["selected_conformal"] == pytest.approx(0.8, abs=0.05)
    _, cover95 = conformal_widths(rows, ["yhat"], 0.95)
    assert cover95["selected_conformal"] == pytest.approx(0.95, abs=0.03)


def test_mase_of_a_backtest_by_hand():
    """Two folds of 7 rows: each fold's MASE uses its own training data's seasonal naive error."""
    y = np.tile([10.0, 20, 30, 40, 50, 5, 5], 4) + np.r_[np.zeros(14), np.full(7, 7.0), np.zeros(7)]
    df = pd.DataFrame({"ds": pd.date_range("2025-01-06", periods=28, freq="D"), "y": y})
    bt = backtest_volumes({"s": df}, 7, 2, 7, None, models=("seasonal_naive", "moving_average"), n_jobs=1)
    sn = bt.scores[(bt.scores["model"] == "seasonal_naive")]["mase"].iloc[0]
    # fold 0: train rows 0-13 repeat one week exactly: scale 0 -> nan, the fold is left out.
    # fold 1: train rows 0-20, in-sample seasonal naive errors |7| on 7 of 14 rows -> scale 3.5;
    # forecast repeats week 3 (+7), actual week 4 has no +7 -> MAE 7 -> MASE 2.0.
    f1 = bt.forecasts[bt.forecasts["fold"] == 1]
    assert f1["scale"].iloc[0] == pytest.approx(3.5)
    assert mase(f1["y"], f1["seasonal_naive"], 3.5) == pytest.approx(2.0)
    assert np.isnan(bt.forecasts[bt.forecasts["fold"] == 0]["scale"].iloc[0])
    assert sn == pytest.approx(2.0)


def test_train_volume_refuses_short_series_and_unknown_models(settings):
    long = _weekly(30).assign(series_id="tickets/total", family="tickets")
    with pytest.raises(
        DataError, match="series tickets/total has 16 days; forecasting needs at least two weeks"
    ):
        train_volume(long, settings)
    from core.errors import ConfigError

    with pytest.raises(ConfigError, match="unknown model 'arima'; choose from prophet"):
        train_volume(long, settings, models=("arima",))
