"""Churn labels and stacked training frames over many cutoffs."""

from __future__ import annotations

import pandas as pd

from core.config import Settings
from core.errors import DataError
from features.aggregate import cutoff_of
from features.contract import EventData
from features.vectors import active_customers, build_vectors


def churn_labels(events: EventData, as_of: pd.Timestamp | str, horizon_days: int) -> pd.Series:
    """1 when a customer active at D churns within (D, D + H], by customer_id.

    With churn_ts in the data, churn means churn_ts in the window; without any churn_ts (e.g. pure
    transaction logs), churn means no activity at all in the window.
    """
    start = cutoff_of(as_of)
    end = start + pd.Timedelta(days=horizon_days)
    active = active_customers(events.customers, as_of)
    ids = active["customer_id"]
    if events.customers["churn_ts"].notna().any():
        churned = (active["churn_ts"] >= start) & (active["churn_ts"] < end)
        return pd.Series(
            churned.to_numpy().astype(int), index=pd.Index(ids, name="customer_id"), name="churned"
        )
    seen: set[str] = set()
    for name, df in events.tables().items():
        if name != "customers":
            seen |= set(df.loc[(df["ts"] >= start) & (df["ts"] < end), "customer_id"])
    return pd.Series(
        (~ids.isin(seen)).to_numpy().astype(int), index=pd.Index(ids, name="customer_id"), name="churned"
    )


def default_cutoffs(
    events: EventData, horizon_days: int, every_days: int, n: int, end: pd.Timestamp | str | None = None
) -> list[pd.Timestamp]:
    """The latest `n` cutoffs, `every_days` apart, whose label windows end by `end` (the data's end).

    Raises:
        DataError: the data is too short for even one labelled cutoff.
    """
    end = pd.Timestamp(end).normalize() if end is not None else events.last_event_ts().normalize()
    start = events.customers["signup_ts"].min().normalize()
    first_event = min(df["ts"].min() for k, df in events.tables().items() if k != "customers")
    earliest = max(start, first_event.normalize()) + pd.Timedelta(days=30)  # a month of history at least
    last = end - pd.Timedelta(days=horizon_days)
    cutoffs = [last - pd.Timedelta(days=every_days * i) for i in range(n)]
    cutoffs = sorted(c for c in cutoffs if c >= earliest)
    if not cutoffs:
        raise DataError(
            f"the data ({earliest:%Y-%m-%d} to {end:%Y-%m-%d}) is too short for a {horizon_days}-day label "
            "window after 30 days of history; use a shorter --horizon-days or more data"
        )
    return cutoffs


def build_training_frame(
    events: EventData, settings: Settings, cutoffs: list[pd.Timestamp], horizon_days: int
) -> pd.DataFrame:
    """Stack vectors and labels over `cutoffs`: customer_id, cutoff, features..., churned."""
    frames = [
        with_labels(build_vectors(events, cutoff, settings), events, cutoff, horizon_days)
        for cutoff in cutoffs
    ]
    return stack_cutoffs(frames)


def with_labels(
    vectors: pd.DataFrame, events: EventData, cutoff: pd.Timestamp, horizon_days: int
) -> pd.DataFrame:
    """The vectors as of `cutoff` with a `cutoff` column second and the `churned` label last."""
    labels = churn_labels(events, cutoff, horizon_days)
    vectors = vectors.copy()
    vectors.insert(1, "cutoff", pd.Timestamp(cutoff))
    vectors["churned"] = labels.reindex(vectors["customer_id"]).to_numpy()
    return vectors


def stack_cutoffs(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """One frame of the per-cutoff frames, with categories across all of them."""
    frame = pd.concat(frames, ignore_index=True)
    for col in frames[0].select_dtypes("category").columns:
        frame[col] = frame[col].astype("category")
    return frame
