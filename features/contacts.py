"""Contact history as of day D: how often, how lately and how fruitlessly a customer was contacted.

Only treatment rows are contacts (a control row records who was deliberately left out). A response,
and an unsubscription with it, counts only once it happened by the end of D.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from features.aggregate import Events
from features.contract import EventData

WINDOWS = (7, 30, 90)


def _known_response(df: pd.DataFrame, cutoff: pd.Timestamp) -> np.ndarray:
    return (df["responded_ts"] < cutoff).fillna(False).to_numpy(bool)


def contact_features(ev: Events, cutoff: pd.Timestamp) -> dict[str, np.ndarray]:
    """Contacts in 7/30/90 days, days since the last, the unanswered streak, unsubscribed channels."""
    df = ev.df
    sent = (df["group"] == "treatment").fillna(False).to_numpy(bool)
    answered = sent & _known_response(df, cutoff)
    out = {f"contacts_{w}d": ev.count(sent & ev.within(w)) for w in WINDOWS}
    out["contact_days_since_last"] = ev.min_age(sent)
    # Contacts sent after the last answered one (all of them when none was answered).
    last_answer_age = np.nan_to_num(ev.min_age(answered), nan=np.inf)
    out["contact_unanswered_streak"] = ev.count(sent & (ev.age < last_answer_age[ev.code]))
    unsub = answered & df["unsubscribed"].fillna(False).to_numpy(bool)
    pairs = pd.DataFrame({"code": ev.code[unsub], "channel": df["channel"].to_numpy(object)[unsub]})
    per = pairs.drop_duplicates()["code"].to_numpy(int)
    out["contact_unsubscribed_channels"] = np.bincount(per, minlength=ev.n).astype(float)
    return out


def contact_state(
    contacts: pd.DataFrame | None, customer_ids: pd.Index, day: pd.Timestamp | str
) -> pd.DataFrame:
    """What the contact rules need on day D, known by the start of D, per customer in `customer_ids`.

    Columns: contacts_today (sent on D so far; none when the list is made before the day starts),
    unanswered_streak, days_since_last, unsubscribed (a frozenset of channels).
    """
    day = pd.Timestamp(day).normalize()
    out = pd.DataFrame(index=customer_ids)
    out["contacts_today"] = 0.0
    out["unanswered_streak"] = 0.0
    out["days_since_last"] = np.nan
    out["unsubscribed"] = [frozenset()] * len(out)
    if contacts is None or not len(contacts) or not len(customer_ids):
        return out
    ev = Events.of(contacts, customer_ids, day + pd.Timedelta(days=1))
    before = ev.age > 1  # sent before D
    sent = (ev.df["group"] == "treatment").fillna(False).to_numpy(bool)
    out["contacts_today"] = ev.count(sent & ~before)
    past = Events(ev.df[before].reset_index(drop=True), ev.code[before], ev.age[before] - 1, ev.n)
    feats = contact_features(past, day)
    out["unanswered_streak"] = feats["contact_unanswered_streak"]
    out["days_since_last"] = feats["contact_days_since_last"]
    df = past.df
    unsub = (
        (df["group"] == "treatment").fillna(False).to_numpy(bool)
        & _known_response(df, day)
        & df["unsubscribed"].fillna(False).to_numpy(bool)
    )
    sets: list[set] = [set() for _ in range(ev.n)]
    for code, channel in zip(past.code[unsub], df["channel"].to_numpy(object)[unsub], strict=True):
        sets[code].add(channel)
    out["unsubscribed"] = [frozenset(s) for s in sets]
    return out


def listings(events: EventData, horizon_days: int) -> pd.DataFrame:
    """One row per customer, day and group, with its cost, yearly fee and churn within the horizon."""
    c = events.contacts
    if c is None or not len(c):
        cols = ["customer_id", "day", "group", "action", "channel", "campaign", "risk_tier", "cost"]
        return pd.DataFrame(columns=[*cols, "annual_fee", "churned", "matured"])
    c = c.assign(day=c["ts"].dt.normalize(), cost=c["cost"].fillna(0.0))
    keys = ["customer_id", "day", "group"]
    agg = c.sort_values("ts", kind="stable").groupby(keys, sort=False, observed=True)
    out = agg.agg(
        action=("action", "first"),
        channel=("channel", lambda s: "+".join(sorted(set(s)))),
        campaign=("campaign", "first"),
        risk_tier=("risk_tier", "first"),
        cost=("cost", "sum"),
    ).reset_index()
    cust = events.customers.set_index("customer_id")
    churn_ts = out["customer_id"].map(cust["churn_ts"])
    end = events.last_event_ts().normalize() + pd.Timedelta(days=1)
    horizon_end = out["day"] + pd.Timedelta(days=horizon_days)
    out["annual_fee"] = out["customer_id"].map(cust["monthly_fee"]).astype(float).fillna(0.0) * 12
    out["churned"] = ((churn_ts >= out["day"]) & (churn_ts < horizon_end)).to_numpy(bool)
    out["matured"] = (horizon_end <= end).to_numpy(bool)
    return out
