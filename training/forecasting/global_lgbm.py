"""One LightGBM across all series of a family, direct multi-step with horizon-safe lags.

Why direct: every lag is at least the horizon H rows old, so one model forecasts all H steps
without feeding its own forecasts back (no compounding error, one fit per family). Lags are in
rows of the series' actual sampling pattern (weekday-only or business-hours series keep working):
H and multiples of the weekly period P, a rolling mean of the last P rows before the forecast
origin window, and calendar features of the real timestamps: with a holiday country (configured,
`--country`, or detected from closures), the days to the next and since the last public holiday.

Why relative to the level: in log1p space the target and the lags are taken relative to that
rolling level (the mean log1p of the last P rows at least H old), and the forecast adds the level
back. Trees cannot extrapolate beyond the values they were trained on, so with absolute targets a
series whose newest history is far above anything seen (a 100x jump) would be forecast at the old
maximum; relative targets carry the new level into the forecast proportionally. The absolute level
stays a feature, so level-dependent patterns inside the trained range are still learnt.
"""

from __future__ import annotations

from functools import lru_cache

import lightgbm as lgb
import numpy as np
import pandas as pd

from core.errors import DataError
from training.forecasting.calendar import holiday_names

PARAMS = {
    "objective": "regression_l1",
    "learning_rate": 0.05,
    "num_leaves": 31,
    "min_child_samples": 20,
    "colsample_bytree": 0.8,
    "n_estimators": 400,
    "verbose": -1,
    "seed": 0,
    # One thread: these data sets are small, and OpenMP threads spin against other work on a
    # loaded 2-core machine (measured 10 s vs 0.5 s for one 4,500-row fit).
    "num_threads": 1,
}


def lags_for(horizon: int, period: int) -> list[int]:
    seasonal = [m * period for m in range(1, 5) if m * period >= horizon]
    return sorted({horizon, *seasonal})


HOLIDAY_REACH = 7  # days before and after a holiday that get their own distance feature


def holiday_days(country: str | None, ds: pd.Series) -> np.ndarray | None:
    """The country's public holidays from the year before `ds` to the year after, sorted."""
    if not country:
        return None
    return _holidays_of_years(country, ds.min().year - 1, ds.max().year + 1)


@lru_cache(maxsize=64)
def _holidays_of_years(country: str, first: int, last: int) -> np.ndarray:
    """Cached (read-only): building a country's calendar costs ~2.5 ms, and every series of every
    backtest window and every forecast asks for the same few years."""
    names = holiday_names(country, [pd.Timestamp(first, 1, 1), pd.Timestamp(last, 12, 31)])
    days = np.array(sorted(names), dtype="datetime64[ns]")
    days.flags.writeable = False
    return days


def _days_between(days: np.ndarray, holidays: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Days to the next holiday (0 on one) and since the last, each capped at HOLIDAY_REACH + 1."""
    cap = HOLIDAY_REACH + 1
    ahead = np.append(holidays, np.datetime64("2262-01-01"))
    after = np.insert(holidays, 0, np.datetime64("1678-01-01"))
    i = np.searchsorted(holidays, days, side="left")
    j = np.searchsorted(holidays, days, side="right")
    to_next = ((ahead[i] - days) // np.timedelta64(1, "D")).clip(0, cap)
    since = ((days - after[j]) // np.timedelta64(1, "D")).clip(0, cap)
    return to_next, since


def calendar(
    ds: pd.Series, promo_days: set | None = None, yearly: bool = True, holidays: np.ndarray | None = None
) -> pd.DataFrame:
    """Calendar features of the real timestamps; day of year only with two years or more of data
    (with less, trees could only extrapolate it); distances to the `holidays` when given."""
    ds = pd.to_datetime(ds)
    out = pd.DataFrame(
        {"dow": ds.dt.dayofweek.to_numpy(), "slot": (ds.dt.hour * 2 + ds.dt.minute // 30).to_numpy()}
    )
    if yearly:
        out["doy"] = ds.dt.dayofyear.to_numpy()
        out["month"] = ds.dt.month.to_numpy()
    if promo_days is not None:
        out["promo"] = ds.dt.normalize().isin(promo_days).to_numpy().astype(int)
    if holidays is not None:
        days = ds.dt.normalize().to_numpy().astype("datetime64[ns]")
        out["holiday_next"], out["holiday_since"] = _days_between(days, holidays)
    return out


def _features(
    y: np.ndarray,
    ds: pd.Series,
    lags: list[int],
    period: int,
    horizon: int,
    promo,
    country: str | None = None,
) -> pd.DataFrame:
    """Features for every row t of a series whose lags reach back into `y` (len(y) rows)."""
    n = len(ds)
    yearly = ds.iloc[-1] - ds.iloc[0] >= pd.Timedelta(days=730)
    f = calendar(ds, promo, yearly, holiday_days(country, ds))
    logy = np.log1p(y)
    pad = np.concatenate([np.full(max(lags) + period, np.nan), logy, np.full(n - len(y), np.nan)])
    offset = max(lags) + period
    idx = np.arange(n) + offset
    for lag in lags:
        f[f"lag_{lag}"] = pad[idx - lag]
    csum = np.concatenate([[0.0], np.cumsum(np.nan_to_num(pad, nan=0.0))])
    level = (csum[idx - horizon + 1] - csum[idx - horizon - period + 1]) / period
    for lag in lags:
        f[f"lag_{lag}"] -= level
    f["seasonal_mean"] = (
        f[[f"lag_{lag}" for lag in lags if lag % period == 0 and lag >= horizon]].mean(axis=1)
        if any(lag % period == 0 for lag in lags)
        else np.nan
    )
    f["level"] = level
    return f


def first_row(lags: list[int], horizon: int, period: int) -> int:
    """The first row whose lags and level lie wholly inside the series."""
    return max(max(lags), horizon + period - 1)


class GlobalLGBM:
    """Direct multi-step LightGBM over all series of one family (series id as a category)."""

    def __init__(
        self,
        horizon: int,
        period: int,
        params: dict | None = None,
        promo_days: set | None = None,
        country: str | None = None,
    ) -> None:
        self.horizon, self.period = horizon, period
        self.params = {**PARAMS, **(params or {})}
        self.promo_days, self.country = promo_days, country
        self.lags = lags_for(horizon, period)

    def __repr__(self) -> str:
        return f"GlobalLGBM(horizon={self.horizon}, period={self.period}, lags={self.lags})"

    def fit(self, series: dict[str, pd.DataFrame]) -> GlobalLGBM:
        """Fit on (ds, y[, closed]) frames: closed rows are no targets (their `y` feeds lags only)."""
        self.ids_ = sorted(series)
        frames = []
        for sid, df in series.items():
            f = self._features(df["y"].to_numpy(float), df["ds"])
            f["series"] = sid
            f["target"] = np.log1p(df["y"].to_numpy(float)) - f["level"].to_numpy()
            keep = np.arange(len(df)) >= first_row(self.lags, self.horizon, self.period)
            if "closed" in df:
                keep &= ~df["closed"].to_numpy(bool)
            frames.append(f[keep])
        data = pd.concat(frames, ignore_index=True)
        if data.empty:
            need = first_row(self.lags, self.horizon, self.period) + 1
            longest = max(len(df) for df in series.values())
            raise DataError(
                f"the global LightGBM needs more than {need - 1} rows of history before a forecast "
                f"window (its longest lag), but the longest series has {longest}; provide more "
                "history, a shorter horizon or fewer backtest folds"
            )
        data["series"] = pd.Categorical(data["series"], categories=self.ids_)
        X = data.drop(columns="target")
        self.columns_ = list(X.columns)
        self.booster_ = lgb.train(
            {k: v for k, v in self.params.items() if k != "n_estimators"},
            lgb.Dataset(X, data["target"], categorical_feature=["series"]),
            num_boost_round=self.params["n_estimators"],
        )
        return self

    def _features(self, y: np.ndarray, ds: pd.Series) -> pd.DataFrame:
        return _features(y, ds, self.lags, self.period, self.horizon, self.promo_days, self.country)

    def predict(self, sid: str, history: pd.DataFrame, future_ds: pd.Series) -> np.ndarray:
        """Forecast the rows at `future_ds` (at most `horizon` of them) after `history` (ds, y)."""
        ds = pd.concat([history["ds"], pd.Series(pd.to_datetime(future_ds))], ignore_index=True)
        f = self._features(history["y"].to_numpy(float), ds)
        f["series"] = pd.Categorical([sid] * len(f), categories=self.ids_)
        X = f.iloc[len(history) :][self.columns_]
        return np.clip(np.expm1(self.booster_.predict(X) + X["level"].to_numpy()), 0, None)
