"""Point-in-time customer behaviour vectors.

A vector as of day D uses only what was known by the end of D: events with ts before D + 1 day,
and a ticket's response, resolution, reopening and csat, or a request's closing, only when they
happened by then. A request's status at D follows from its timestamps, never from today's
`status` column. docs/features.md lists every feature.

The computation runs per customer partition: `customer_vectors` needs only a customer's own
events; `add_population_features` then adds what compares a customer with everyone (RFM scores,
value tier, the low-usage rule, fee vs the plan's median) in one cheap pass over all the vectors.
`build_vectors` is the two in a row.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from core.config import Settings
from features.aggregate import DAY, Events, cutoff_of, ratio
from features.contacts import contact_features
from features.contract import EventData
from features.text_features import text_features

CATEGORICAL = ("plan", "segment", "region_tier", "value_tier")
SKIP_EXTRA = {"customer_id", "signup_ts", "churn_ts"}


def active_customers(customers: pd.DataFrame, as_of: pd.Timestamp | str) -> pd.DataFrame:
    """Customers signed up by D who had not churned by D."""
    cutoff = cutoff_of(as_of)
    alive = (customers["signup_ts"] < cutoff) & ~(customers["churn_ts"] < cutoff)
    return customers[alive]


def _slug(value: str) -> str:
    return "".join(ch if ch.isalnum() else "_" for ch in str(value).lower()).strip("_")


def _transactions(ev: Events, windows: list[int]) -> dict[str, np.ndarray]:
    amount = ev.df["amount"].to_numpy(float)
    out: dict[str, np.ndarray] = {}
    for w in windows:
        m = ev.within(w)
        out[f"spend_{w}d"] = ev.total(amount, m)
        out[f"txn_count_{w}d"] = ev.count(m)
    out["spend_trend_30d"] = ratio(out["spend_30d"], ev.total(amount, ev.between(30, 60)))
    promo = ev.df["promo"].fillna(False).to_numpy(bool)
    m180 = ev.within(180)
    with np.errstate(invalid="ignore", divide="ignore"):
        out["promo_share_180d"] = ev.count(m180 & promo) / ev.count(m180)
    out["rfm_recency_days"] = ev.min_age()
    # Lifetime terms, as buy-till-you-die models use them: frequency, age and rhythm of purchases.
    out["txn_count_total"] = ev.count()
    out["spend_total"] = ev.total(amount)
    out["txn_first_days"] = ev.max_age()
    with np.errstate(invalid="ignore", divide="ignore"):
        gap = (out["txn_first_days"] - out["rfm_recency_days"]) / np.maximum(out["txn_count_total"] - 1, 1)
        out["txn_mean_gap_days"] = np.where(out["txn_count_total"] > 1, gap, np.nan)
        out["txn_recency_vs_gap"] = out["rfm_recency_days"] / out["txn_mean_gap_days"]
    out["rfm_frequency_180d"] = out["txn_count_180d"]
    out["rfm_monetary_180d"] = out["spend_180d"]
    return out


def _usage(ev: Events, windows: list[int], settings: Settings) -> dict[str, np.ndarray]:
    sessions = ev.df["sessions"].to_numpy(float)
    minutes = ev.df["minutes"].to_numpy(float)
    out: dict[str, np.ndarray] = {}
    for w in windows:
        m = ev.within(w)
        out[f"usage_sessions_{w}d"] = ev.total(sessions, m)
        out[f"usage_minutes_{w}d"] = ev.total(minutes, m)
    out["usage_sessions_trend_30d"] = ratio(out["usage_sessions_30d"], ev.total(sessions, ev.between(30, 60)))
    out["usage_minutes_trend_7d"] = ratio(out["usage_minutes_7d"], ev.total(minutes, ev.between(7, 14)))
    out["usage_days_since_last"] = ev.min_age()
    # Usage time falling by more than 20% three days in a row (days D-3 .. D).
    daily = np.zeros((ev.n, 4))
    day_back = np.floor(ev.age).astype(int)  # 0 = day D
    recent = day_back < 4
    np.add.at(daily, (ev.code[recent], 3 - day_back[recent]), minutes[recent])
    drop = 1 - settings.churn.rules.usage_drop_ratio
    falling = (daily[:, 1:] < drop * daily[:, :-1]).all(axis=1)
    out["usage_drop_flag"] = falling.astype(float)
    return out


def _tickets(ev: Events, cutoff: pd.Timestamp, settings: Settings) -> dict[str, np.ndarray]:
    df = ev.df
    known = {c: (df[c] < cutoff).to_numpy() for c in ("first_response_ts", "resolved_ts", "reopened_ts")}
    hours = lambda a, b: ((df[a] - df[b]).to_numpy() / np.timedelta64(1, "h")).astype(float)  # noqa: E731
    resp_h = np.where(known["first_response_ts"], hours("first_response_ts", "ts"), np.nan)
    res_h = np.where(known["resolved_ts"], hours("resolved_ts", "ts"), np.nan)
    m30, m90, m180 = ev.within(30), ev.within(90), ev.within(180)
    out: dict[str, np.ndarray] = {"tickets_30d": ev.count(m30), "tickets_90d": ev.count(m90)}
    for col in ("category", "channel"):
        values = df[col].to_numpy(object)
        for v in sorted(pd.unique(df[col].dropna())):
            out[f"tickets_{_slug(v)}_90d"] = ev.count(m90 & (values == v))
    open_now = ~known["resolved_ts"] | known["reopened_ts"]
    out["tickets_open"] = ev.count(open_now)
    out["tickets_unresolved_30d"] = ev.count(m30 & open_now)
    sla = settings.tickets.first_response_hours
    default = sla.get(settings.tickets.default_priority, 24.0)
    deadline_h = df["priority"].map(sla).fillna(default).to_numpy(float)
    deadline = df["ts"].to_numpy() + (deadline_h * 3600).astype("timedelta64[s]")
    responded_late = known["first_response_ts"] & (df["first_response_ts"].to_numpy() > deadline)
    unanswered_past = ~known["first_response_ts"] & (deadline < cutoff.to_datetime64())
    out["ticket_sla_breaches_90d"] = ev.count(m90 & (responded_late | unanswered_past))
    out["first_response_hours_mean_90d"] = ev.mean(resp_h, m90)
    out["resolution_hours_mean_90d"] = ev.mean(res_h, m90)
    resolved_180 = m180 & known["resolved_ts"]
    with np.errstate(invalid="ignore", divide="ignore"):
        out["ticket_reopen_rate_180d"] = ev.count(resolved_180 & known["reopened_ts"]) / ev.count(
            resolved_180
        )
    csat = np.where(known["resolved_ts"], df["csat"].to_numpy(float), np.nan)
    order = df["resolved_ts"].to_numpy().astype("int64")
    out["csat_last"] = ev.last(csat, order)
    out["tickets_days_since_last"] = ev.min_age()
    return out


def _feedback(ev: Events) -> dict[str, np.ndarray]:
    order = ev.df["ts"].to_numpy().astype("int64")
    nps = ev.df["nps"].to_numpy(float)
    last = ev.last(nps, order)
    has = ~np.isnan(nps)
    # The previous answer: the newest one once each customer's newest is removed.
    newest = np.full(ev.n, -1)
    idx = np.flatnonzero(has)
    idx = idx[np.argsort(order[idx], kind="stable")]
    newest[ev.code[idx]] = idx
    previous = ev.last(nps, order, has & ~np.isin(np.arange(len(nps)), newest))
    return {
        "nps_last": last,
        "nps_trend": last - previous,
        "csat_survey_last": ev.last(ev.df["csat"].to_numpy(float), order),
        "feedback_days_since_last": ev.min_age(),
    }


def _requirements(ev: Events, cutoff: pd.Timestamp) -> dict[str, np.ndarray]:
    closed = (ev.df["resolved_ts"] < cutoff).to_numpy()
    # A request closed by D has its final outcome; the status column is read only for those.
    rejected = closed & (ev.df["status"] == "rejected").to_numpy()
    m180 = ev.within(180)
    opened = ~closed
    with np.errstate(invalid="ignore", divide="ignore"):
        resolved_share = ev.count(m180 & closed & ~rejected) / ev.count(m180)
    return {
        "req_count_180d": ev.count(m180),
        "req_open": ev.count(opened),
        "req_open_over_30d": ev.count(opened & (ev.age > 30)),
        "req_oldest_open_days": ev.max_age(opened),
        "req_resolved_share_180d": resolved_share,
        "req_rejected_180d": ev.count(m180 & rejected),
    }


def _value_tier(score: pd.Series, settings: Settings) -> pd.Series:
    """Top of the pyramid, potential, to be re-activated: by RFM score rank."""
    pct = score.rank(pct=True, method="first", ascending=False)
    top, potential = settings.churn.value.top_share, settings.churn.value.potential_share
    tier = np.where(pct <= top, "top", np.where(pct <= top + potential, "potential", "reactivate"))
    return pd.Series(tier, index=score.index)


def build_vectors(events: EventData, as_of: pd.Timestamp | str, settings: Settings) -> pd.DataFrame:
    """One row per customer active at `as_of`, `customer_id` first."""
    return add_population_features(customer_vectors(events, as_of, settings), settings)


def customer_vectors(events: EventData, as_of: pd.Timestamp | str, settings: Settings) -> pd.DataFrame:
    """The features that need only each customer's own events: run it per partition."""
    cutoff = cutoff_of(as_of)
    cust = active_customers(events.customers, as_of).reset_index(drop=True)
    index = pd.Index(cust["customer_id"])
    windows = sorted(settings.churn.windows_days)
    out: dict[str, np.ndarray | pd.Series] = {
        "customer_id": cust["customer_id"].astype(str),
        "tenure_days": (cutoff - cust["signup_ts"]).to_numpy() / DAY,
        "monthly_fee": cust["monthly_fee"].to_numpy(float),
    }
    for col in ("plan", "segment", "region_tier"):
        if col in cust:
            out[col] = cust[col]
    sensitive = {c.lower() for c in settings.privacy.sensitive_columns}
    for col in cust.columns:  # extra numeric columns become features, personal data never does
        if (
            col not in out
            and col not in SKIP_EXTRA
            and str(col).lower() not in sensitive
            and pd.api.types.is_numeric_dtype(cust[col])
        ):
            out[col] = cust[col].to_numpy()

    contact_ages = []
    if (tx := Events.of(events.transactions, index, cutoff)) is not None:
        out |= _transactions(tx, windows)
        contact_ages.append(tx.min_age())
    if (us := Events.of(events.usage, index, cutoff)) is not None:
        out |= _usage(us, windows, settings)
        contact_ages.append(us.min_age())
    interactions = []
    if (tk := Events.of(events.tickets, index, cutoff)) is not None:
        out |= _tickets(tk, cutoff, settings)
        interactions.append(tk.min_age())
    if (fb := Events.of(events.feedback, index, cutoff)) is not None:
        out |= _feedback(fb)
        interactions.append(fb.min_age())
    out |= text_features(fb, tk, cutoff, settings)
    if (rq := Events.of(events.requirements, index, cutoff)) is not None:
        out |= _requirements(rq, cutoff)
        interactions.append(rq.min_age())

    if (ct := Events.of(events.contacts, index, cutoff)) is not None:
        out |= contact_features(ct, cutoff)

    frame = pd.DataFrame(out)
    every = contact_ages + interactions
    if every:
        frame["days_since_last_activity"] = np.fmin.reduce(every) if len(every) > 1 else every[0]
    if interactions:
        last_contact = np.fmin.reduce(interactions) if len(interactions) > 1 else interactions[0]
        frame["days_since_last_interaction"] = last_contact
    frame["annual_value"] = annual_value(frame)
    for col in CATEGORICAL:
        if col in frame:
            frame[col] = frame[col].astype("category")
    return frame


def annual_value(frame: pd.DataFrame) -> np.ndarray:
    """What a customer brings in a year: the highest of the recent spending rate (last 180 days),
    the lifetime spending rate (total spend over the years since the first purchase, at least one
    year so that a new customer's first basket is not taken for a yearly habit) and the fee.

    The lifetime rate keeps the value of a customer who has not bought lately (they are the ones
    whose loss is at stake), where the last 180 days alone would say they are worth nothing.
    """
    zero = np.zeros(len(frame))
    fee = 12 * frame["monthly_fee"].fillna(0).to_numpy(float)
    recent = frame["spend_180d"].to_numpy(float) * 365 / 180 if "spend_180d" in frame else zero
    lifetime = (
        frame["spend_total"].to_numpy(float) * 365 / np.fmax(frame["txn_first_days"].to_numpy(float), 365)
        if "spend_total" in frame
        else zero
    )
    return np.fmax(np.fmax(np.nan_to_num(recent), np.nan_to_num(lifetime)), fee)


def add_population_features(frame: pd.DataFrame, settings: Settings) -> pd.DataFrame:
    """Features relative to the whole population of `frame` (all partitions together)."""
    frame = frame.copy()
    if "plan" in frame:
        median = frame.groupby("plan", observed=True)["monthly_fee"].transform("median")
        after = max(frame.columns.get_loc(c) for c in ("plan", "segment", "region_tier") if c in frame)
        frame.insert(after + 1, "monthly_fee_vs_plan", frame["monthly_fee"] / median)
    if "usage_sessions_90d" in frame:
        rules = settings.churn.rules
        avg = frame["usage_sessions_90d"].mean()
        quiet = ~(frame.get("days_since_last_interaction", pd.Series(np.nan)) <= rules.no_interaction_days)
        frame["usage_low_flag"] = (
            (frame["usage_sessions_90d"] < rules.low_usage_ratio * avg) & quiet
        ).astype(float)
    if "rfm_recency_days" in frame:
        recency = frame["rfm_recency_days"].fillna(10_000)
        r = (-recency).rank(pct=True)
        f = frame["rfm_frequency_180d"].rank(pct=True)
        m = frame["rfm_monetary_180d"].rank(pct=True)
        for name, pct in (("rfm_r_score", r), ("rfm_f_score", f), ("rfm_m_score", m)):
            frame[name] = np.ceil(pct * 5).clip(1, 5)
        frame["rfm_score"] = frame["rfm_r_score"] + frame["rfm_f_score"] + frame["rfm_m_score"]
        frame["value_tier"] = _value_tier(frame["rfm_score"] + m, settings)  # monetary breaks ties
    else:
        frame["value_tier"] = _value_tier(frame["monthly_fee"].fillna(0), settings)
    frame["value_tier"] = frame["value_tier"].astype("category")
    return frame
