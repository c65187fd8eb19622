"""The calendar a series really has: seasonal periods in rows, closed days, the holiday country.

Closed days are whole days with no volume on a weekday that is normally busy (a weekday holiday,
a closure). They are detected on the summed volume of a group of series (a family, or all series
of a user file), so that sparse sub-series with genuine zero days are not taken for closures.
Models never fit them (Prophet drops them, the others see the value one season earlier), and a
future day is forecast as closed when it is a holiday of the series' country whose name was
closed in the history. A holiday never seen closed (or with no country known) is forecast open.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd

logger = logging.getLogger(__name__)

# A weekday whose median daily volume is at least this busy does not see a zero day by chance
# (Poisson P(0) = exp(-7) < 0.1%).
BUSY_DAY = 7.0
# Countries tried when none is configured: one of them must explain most detected closures.
CANDIDATE_COUNTRIES = ("US", "GB", "CA", "AU", "DE", "FR", "CN", "JP", "IN", "BR", "ES", "IT", "NL")


def detect_periods(ds: pd.Series) -> tuple[int, ...]:
    """Seasonal periods in rows, ascending; the last is the main (weekly or yearly) one.

    Daily rows: (7,) (or 5 for weekday-only files); sub-daily: (rows per day, rows per week);
    weekly rows: (52,); monthly: (12,); anything coarser: (1,).
    """
    ds = pd.to_datetime(pd.Series(ds)).reset_index(drop=True)
    step = ds.diff().dropna().median()
    if step >= pd.Timedelta(days=28):
        return (12,)
    if step >= pd.Timedelta(days=7):
        return (52,)
    weeks = ds.dt.to_period("W").value_counts()
    full = weeks[weeks >= weeks.max() * 0.9]
    weekly = int(np.median(full)) if len(full) else int(weeks.max())
    if step >= pd.Timedelta(days=1):
        return (weekly,)
    days = ds.dt.normalize().value_counts()
    daily = int(np.median(days[days >= days.max() * 0.9]))
    return (daily, weekly) if 1 < daily < weekly else (weekly,)


def closed_days(series: list[pd.DataFrame]) -> set[pd.Timestamp]:
    """Dates with zero summed volume on a weekday whose median daily volume is busy."""
    frames = [df[["ds", "y"]] for df in series]
    if not frames:
        return set()
    both = pd.concat(frames)
    totals = both.groupby(both["ds"].dt.normalize())["y"].sum()
    busy = totals.groupby(totals.index.dayofweek).median()
    normal = busy.reindex(totals.index.dayofweek).to_numpy() >= BUSY_DAY
    return set(totals.index[(totals.to_numpy() == 0) & normal])


def holiday_names(country: str, dates) -> dict[pd.Timestamp, str]:
    import holidays

    dates = pd.DatetimeIndex(sorted(dates))
    if dates.empty:
        return {}
    try:
        cal = holidays.country_holidays(country, years=range(dates.min().year, dates.max().year + 1))
    except NotImplementedError as exc:
        from core.errors import DataError

        raise DataError(f"unknown holiday country {country!r}; use an ISO code such as US or CN") from exc
    return {pd.Timestamp(d): name for d, name in cal.items()}


def detect_country(closed: set[pd.Timestamp]) -> str | None:
    """The candidate country whose holidays explain most closures (at least two, and half of them)."""
    if len(closed) < 2:
        return None
    best, hits = None, 0
    for country in CANDIDATE_COUNTRIES:
        names = holiday_names(country, closed)
        n = sum(d in names for d in closed)
        if n > hits:
            best, hits = country, n
    return best if hits >= 2 and hits >= len(closed) / 2 else None


@dataclass(frozen=True)
class Calendar:
    """Closed days seen in the history and the holiday names they fall on."""

    closed: frozenset
    country: str | None
    closed_holidays: frozenset  # holiday names observed closed

    @classmethod
    def learn(cls, series: list[pd.DataFrame], country: str | None = None) -> Calendar:
        """Learn the calendar from history only (point in time: call it on a training part)."""
        closed = closed_days(series)
        country = country or detect_country(closed)
        names = holiday_names(country, closed) if country else {}
        return cls(frozenset(closed), country, frozenset(names[d] for d in closed if d in names))

    def is_closed(self, ds: pd.Series) -> np.ndarray:
        """True where a timestamp falls on a closed day: past closures, or a future holiday whose
        name was closed before."""
        days = pd.to_datetime(pd.Series(ds)).dt.normalize()
        past = days.isin(self.closed).to_numpy()
        if not self.country or not self.closed_holidays:
            return past
        names = holiday_names(self.country, days.unique())
        future = days.map(lambda d: names.get(d) in self.closed_holidays).to_numpy(bool)
        return past | future


def fill_closed(y: np.ndarray, closed: np.ndarray, period: int) -> np.ndarray:
    """The series with closed rows replaced by the value one season earlier (or the open mean)."""
    out = np.asarray(y, float).copy()
    if not closed.any():
        return out
    fallback = float(np.mean(out[~closed])) if (~closed).any() else 0.0
    for i in np.flatnonzero(closed):
        out[i] = out[i - period] if i >= period else fallback
    return out
