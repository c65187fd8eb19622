"""Volume series: ticket counts by channel x category and request counts by type x product area."""

from __future__ import annotations

import pandas as pd

from features.contract import EventData

FAMILIES = {
    "tickets": ("tickets", "channel", "category"),
    "requirements": ("requirements", "type", "product_area"),
}
# Counted when the data has neither tickets nor requirements (e.g. a purchase log): totals only.
FALLBACK = ("transactions", "usage")
PREFIX = {"channel": "channel", "category": "category", "type": "type", "product_area": "area"}


def _counts(
    df: pd.DataFrame, family: str, a: str | None, b: str | None, freq: str, start, end
) -> pd.DataFrame:
    index = pd.date_range(start, end, freq=freq)
    binned = df.assign(ds=df["ts"].dt.floor(freq))
    groups = [(f"{family}/total", binned)]
    if a is None or b is None:
        return _frame(groups, family, index)
    for col in (a, b):
        groups += [(f"{family}/{PREFIX[col]}={v}", g) for v, g in binned.groupby(col, observed=True)]
    groups += [(f"{family}/{va}/{vb}", g) for (va, vb), g in binned.groupby([a, b], observed=True)]
    return _frame(groups, family, index)


def _frame(groups: list, family: str, index: pd.DatetimeIndex) -> pd.DataFrame:
    out = []
    for series_id, g in groups:
        y = g.groupby("ds").size().reindex(index, fill_value=0)
        out.append(pd.DataFrame({"family": family, "series_id": series_id, "ds": index, "y": y.to_numpy()}))
    return pd.concat(out, ignore_index=True)


def build_volume_series(
    events: EventData,
    freq: str = "D",
    end: pd.Timestamp | str | None = None,
    families: tuple[str, ...] = ("tickets", "requirements"),
) -> pd.DataFrame:
    """Long frame (family, series_id, ds, y), zero-filled from the first event to `end`.

    `freq` is "D" for daily or "h" for hourly; `end` defaults to the last event. With neither
    tickets nor requirements, the daily counts of transactions (or else usage rows) are the series.
    """
    parts = _build(events, freq, end, families)
    if not parts and families == tuple(FAMILIES):
        parts = _build(events, freq, end, FALLBACK[:1]) or _build(events, freq, end, FALLBACK[1:])
    if not parts:
        return pd.DataFrame(columns=["family", "series_id", "ds", "y"])
    return pd.concat(parts, ignore_index=True)


def _build(events: EventData, freq: str, end, families: tuple[str, ...]) -> list[pd.DataFrame]:
    parts = []
    for family in families:
        table, a, b = FAMILIES.get(family, (family, None, None))
        df = getattr(events, table)
        if df is None or df.empty:
            continue
        stop = pd.Timestamp(end) if end is not None else df["ts"].max()
        df = df[df["ts"] < stop.normalize() + pd.Timedelta(days=1)] if freq == "D" else df[df["ts"] <= stop]
        parts.append(_counts(df, family, a, b, freq, df["ts"].min().floor(freq), stop.floor(freq)))
    return parts
