"""Calendars of real series: seasonal periods, closed days, the holiday country, closed forecasts."""

import numpy as np
import pandas as pd
import pytest

from training.forecasting.calendar import Calendar, closed_days, detect_country, detect_periods, fill_closed
from training.forecasting.candidates import Setup
from training.forecasting.user import backtest_user_series

US_CLOSED = ["2024-05-27", "2024-07-04", "2024-09-02", "2024-11-28", "2024-12-25", "2025-01-01"]


def _business_hours(weeks: int) -> pd.Series:
    ds = pd.Series(pd.date_range("2025-01-06 07:00", periods=weeks * 7 * 48, freq="30min"))
    return ds[(ds.dt.dayofweek < 5) & ds.dt.hour.between(7, 20)].reset_index(drop=True)


def _daily_with_closures(days: int = 560, closed=US_CLOSED, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    ds = pd.date_range("2024-03-04", periods=days, freq="D")
    y = rng.poisson(60 * np.array([1.2, 1.1, 1.0, 1.0, 1.1, 0.5, 0.4])[ds.dayofweek]).astype(float)
    y[ds.isin(pd.to_datetime(closed))] = 0.0
    return pd.DataFrame({"ds": ds, "y": y})


@pytest.mark.parametrize(
    "ds, periods",
    [
        (pd.Series(pd.date_range("2025-01-06", periods=70, freq="D")), (7,)),
        (pd.Series(pd.bdate_range("2025-01-06", periods=70)), (5,)),
        (_business_hours(6), (28, 140)),
        (pd.Series(pd.date_range("2025-01-06", periods=10 * 168, freq="h")), (24, 168)),
        (pd.Series(pd.date_range("2020-01-05", periods=120, freq="W")), (52,)),
        (pd.Series(pd.date_range("2015-01-31", periods=60, freq="ME")), (12,)),
    ],
)
def test_periods_are_detected_for_any_frequency(ds, periods):
    assert detect_periods(ds) == periods


def test_closed_days_and_country_are_detected():
    df = _daily_with_closures()
    closed = closed_days([df])
    assert closed == set(pd.to_datetime(US_CLOSED))
    assert detect_country(closed) == "US"
    # A sparse series has genuine zero days: none of them is a closure.
    sparse = df.assign(y=np.random.default_rng(1).poisson(0.7, len(df)).astype(float))
    assert closed_days([sparse]) == set()
    # ... but summed with its busy family member, the shared closures are found again.
    sparse.loc[sparse["ds"].isin(pd.to_datetime(US_CLOSED)), "y"] = 0
    assert closed_days([sparse, df]) == set(pd.to_datetime(US_CLOSED))


def test_future_closed_only_for_holidays_seen_closed():
    cal = Calendar.learn([_daily_with_closures()])
    future = pd.Series(pd.to_datetime(["2025-07-04", "2025-07-07", "2025-10-13", "2025-12-25"]))
    # Independence Day and Christmas were closed before; Columbus Day never was, so it stays open.
    assert cal.is_closed(future).tolist() == [True, False, False, True]
    assert Calendar.learn([_daily_with_closures()], country="CN").is_closed(future).tolist() == [False] * 4


def test_fill_closed_uses_the_season_before():
    y = np.arange(14.0)
    closed = np.zeros(14, bool)
    closed[[3, 10, 11]] = True
    filled = fill_closed(y, closed, 7)
    open_mean = np.mean(np.delete(y, [3, 10, 11]))
    # row 3 has no season before it: the open mean; row 10 the filled row 3; row 11 row 4.
    assert filled[[3, 10, 11]].tolist() == [pytest.approx(open_mean), pytest.approx(open_mean), 4.0]


def test_closed_days_are_forecast_closed_and_kept_out_of_fits():
    """A year and a half of daily volume with US holiday closures: the backtest window holding
    Christmas forecasts 0 on Christmas, and the closures do not drag the other days down."""
    df = _daily_with_closures(days=672)  # to 2026-01-05: the last window holds Christmas 2025
    closed = list(pd.to_datetime([*US_CLOSED, "2025-05-26", "2025-07-04", "2025-09-01", "2025-11-27"]))
    df.loc[df["ds"].isin(closed + [pd.Timestamp("2025-12-25"), pd.Timestamp("2026-01-01")]), "y"] = 0
    bt = backtest_user_series(
        {"calls": df}, 14, 2, models=("seasonal_naive", "auto_ets", "mstl"), season=(7,)
    )
    rows = bt.forecasts[bt.forecasts["fold"] == 1].set_index("ds")
    for day in ("2025-12-25", "2026-01-01"):
        assert rows.loc[day, "closed"] and rows.loc[day, "yhat"] == 0
    open_days = rows[~rows["closed"] & (rows.index.dayofweek < 5)]
    assert (open_days["yhat"] > 40).all()  # weekday level ~60, not pulled to 0 by the closures
    assert Setup(14, (7,)).period == 7
