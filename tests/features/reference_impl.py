"""An obviously-correct, slow, per-customer implementation of a subset of the features."""

from __future__ import annotations

import math

import pandas as pd

from core.config import Settings
from features.contract import EventData


def reference_vectors(events: EventData, as_of: str, settings: Settings) -> pd.DataFrame:
    cutoff = pd.Timestamp(as_of).normalize() + pd.Timedelta(days=1)
    rows = []
    for c in events.customers.itertuples():
        if not c.signup_ts < cutoff or (not pd.isna(c.churn_ts) and c.churn_ts < cutoff):
            continue
        row: dict = {"customer_id": c.customer_id}
        tx = events.transactions[
            (events.transactions.customer_id == c.customer_id) & (events.transactions.ts < cutoff)
        ]
        for w in (7, 30, 90, 180):
            recent = tx[tx.ts >= cutoff - pd.Timedelta(days=w)]
            row[f"spend_{w}d"] = float(recent.amount.sum())
            row[f"txn_count_{w}d"] = float(len(recent))
        row["rfm_recency_days"] = (cutoff - tx.ts.max()) / pd.Timedelta(days=1) if len(tx) else math.nan
        us = events.usage[(events.usage.customer_id == c.customer_id) & (events.usage.ts < cutoff)]
        for w in (30, 90):
            row[f"usage_sessions_{w}d"] = float(us[us.ts >= cutoff - pd.Timedelta(days=w)].sessions.sum())
        tk = events.tickets[(events.tickets.customer_id == c.customer_id) & (events.tickets.ts < cutoff)]
        last90 = tk[tk.ts >= cutoff - pd.Timedelta(days=90)]
        for cat in sorted(events.tickets.category.unique()):
            row[f"tickets_{cat}_90d"] = float((last90.category == cat).sum())
        open_count, breaches, resp = 0, 0, []
        for t in tk.itertuples():
            resolved = not pd.isna(t.resolved_ts) and t.resolved_ts < cutoff
            reopened = not pd.isna(t.reopened_ts) and t.reopened_ts < cutoff
            if not resolved or reopened:
                open_count += 1
            if t.ts >= cutoff - pd.Timedelta(days=90):
                deadline = t.ts + pd.Timedelta(
                    hours=settings.tickets.first_response_hours.get(t.priority, 24)
                )
                answered = not pd.isna(t.first_response_ts) and t.first_response_ts < cutoff
                if (answered and t.first_response_ts > deadline) or (not answered and deadline < cutoff):
                    breaches += 1
                if answered:
                    resp.append((t.first_response_ts - t.ts) / pd.Timedelta(hours=1))
        row["tickets_open"] = float(open_count)
        row["ticket_sla_breaches_90d"] = float(breaches)
        row["first_response_hours_mean_90d"] = sum(resp) / len(resp) if resp else math.nan
        rq = events.requirements[
            (events.requirements.customer_id == c.customer_id) & (events.requirements.ts < cutoff)
        ]
        open_ages = [
            (cutoff - r.ts) / pd.Timedelta(days=1)
            for r in rq.itertuples()
            if pd.isna(r.resolved_ts) or r.resolved_ts >= cutoff
        ]
        row["req_open"] = float(len(open_ages))
        row["req_oldest_open_days"] = max(open_ages) if open_ages else math.nan
        rows.append(row)
    return pd.DataFrame(rows)
