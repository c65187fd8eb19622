"""Service KPIs against their targets, point in time: only facts known by the as-of day count.

Over tickets created in the window (the last `window_days` before the as-of day):
- first_response_rate: answered within 24 h, among tickets at least 24 h old;
- resolution_days: mean working days from creation to resolution, among resolved tickets;
- sla_<priority>: first response within the priority's deadline, among tickets whose deadline passed;
- recurrence_rate: tickets resolved in the window 30 days earlier that were followed within 30
  days by a new ticket of the same customer and category (the issue came back);
- reopen_rate: resolved tickets reopened; csat: mean satisfaction given at resolution;
- req_sla_<priority>: requests closed within the priority's target in working days;
- nps: (promoters 9-10 minus detractors 0-6) / answers x 100, over survey answers in the window.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from core.config import Settings
from features.aggregate import cutoff_of
from features.contract import EventData
from monitoring.alerts import Alert, make_alert


def _busdays(start: pd.Series, end: pd.Series) -> np.ndarray:
    s = start.to_numpy().astype("datetime64[D]")
    e = end.to_numpy().astype("datetime64[D]")
    return np.busday_count(s, e).astype(float)


def _ticket_kpis(t: pd.DataFrame, cutoff: pd.Timestamp, settings: Settings) -> dict[str, tuple[float, int]]:
    k = settings.kpis
    out: dict[str, tuple[float, int]] = {}
    responded = t["first_response_ts"] < cutoff
    resp_h = (t["first_response_ts"] - t["ts"]).dt.total_seconds() / 3600
    old = t["ts"] <= cutoff - pd.Timedelta(hours=k.first_response_within_hours)
    if old.any():
        ok = responded & (resp_h <= k.first_response_within_hours)
        out["first_response_rate"] = (float(ok[old].mean()), int(old.sum()))
    resolved = t["resolved_ts"] < cutoff
    if resolved.any():
        out["resolution_days"] = (
            float(_busdays(t.loc[resolved, "ts"], t.loc[resolved, "resolved_ts"]).mean()),
            int(resolved.sum()),
        )
        reopened = t["reopened_ts"] < cutoff
        out["reopen_rate"] = (float(reopened[resolved].mean()), int(resolved.sum()))
        csat = t.loc[resolved, "csat"].dropna()
        if len(csat):
            out["csat"] = (float(csat.mean()), len(csat))
    for priority, hours in settings.tickets.first_response_hours.items():
        mine = t["priority"] == priority
        due = mine & (t["ts"] + pd.Timedelta(hours=hours) < cutoff)
        if due.any():
            ok = responded & (resp_h <= hours)
            out[f"sla_{priority}"] = (float(ok[due].mean()), int(due.sum()))
    return out


def _recurrence(tickets: pd.DataFrame, start: pd.Timestamp, cutoff: pd.Timestamp) -> tuple[float, int] | None:
    """Over tickets resolved in the window before the last 30 days, so each had 30 days to recur."""
    month = pd.Timedelta(days=30)
    done = tickets[(tickets["resolved_ts"] >= start - month) & (tickets["resolved_ts"] < cutoff - month)]
    if done.empty:
        return None
    later = tickets[tickets["ts"] < cutoff][["customer_id", "category", "ts"]]
    pairs = done[["ticket_id", "customer_id", "category", "resolved_ts"]].merge(
        later, on=["customer_id", "category"]
    )
    back = pairs[
        (pairs["ts"] > pairs["resolved_ts"]) & (pairs["ts"] <= pairs["resolved_ts"] + pd.Timedelta(days=30))
    ]
    return float(done["ticket_id"].isin(back["ticket_id"]).mean()), len(done)


def compute_kpis(
    events: EventData, as_of, settings: Settings, window_days: int | None = None
) -> pd.DataFrame:
    """KPI table: kpi, scope, value, target, direction (min/max), met, n."""
    cutoff = cutoff_of(as_of)
    start = cutoff - pd.Timedelta(days=window_days or settings.kpis.window_days)
    k = settings.kpis
    targets = {
        "first_response_rate": (k.first_response_rate_target, "min"),
        "resolution_days": (k.resolution_days_target, "max"),
        "recurrence_rate": (k.recurrence_rate_target, "max"),
        "nps": (k.nps_target, "min"),
        **{f"sla_{p}": (k.first_response_rate_target, "min") for p in settings.tickets.first_response_hours},
        **{
            f"req_sla_{p}": (k.first_response_rate_target, "min")
            for p in settings.requirements.resolution_target_days
        },
    }
    rows = []

    def add(scope: str, values: dict[str, tuple[float, int]]) -> None:
        for name, (value, n) in values.items():
            target, direction = targets.get(name, (None, None))
            met = None if target is None else (value >= target if direction == "min" else value <= target)
            rows.append(
                {
                    "kpi": name,
                    "scope": scope,
                    "value": round(value, 4),
                    "target": target,
                    "direction": direction,
                    "met": met,
                    "n": n,
                }
            )

    t = events.tickets
    if t is not None:
        window = t[(t["ts"] >= start) & (t["ts"] < cutoff)]
        overall = _ticket_kpis(window, cutoff, settings)
        if (rec := _recurrence(t, start, cutoff)) is not None:
            overall["recurrence_rate"] = rec
        add("overall", overall)
        for col in ("channel", "category"):
            for value, g in window.groupby(col):
                add(f"{col}={value}", _ticket_kpis(g, cutoff, settings))
    r = events.requirements
    if r is not None:
        window = r[(r["ts"] >= start) & (r["ts"] < cutoff)]
        closed = window["resolved_ts"] < cutoff
        days = _busdays(window["ts"], window["resolved_ts"].where(closed, cutoff))
        req = {}
        for priority, target_days in settings.requirements.resolution_target_days.items():
            mine = (window["priority"] == priority).to_numpy()
            due = mine & ((closed.to_numpy()) | (days > target_days))  # decided: closed, or already late
            if due.any():
                ok = closed.to_numpy() & (days <= target_days)
                req[f"req_sla_{priority}"] = (float(ok[due].mean()), int(due.sum()))
        add("overall", req)
    f = events.feedback
    if f is not None:
        nps = f[(f["ts"] >= start) & (f["ts"] < cutoff)]["nps"].dropna()
        if len(nps):
            add("overall", {"nps": (float(((nps >= 9).mean() - (nps <= 6).mean()) * 100), len(nps))})
    return pd.DataFrame(rows, columns=["kpi", "scope", "value", "target", "direction", "met", "n"])


def kpi_alerts(kpis: pd.DataFrame, as_of, settings: Settings, min_n: int = 20) -> list[Alert]:
    """A breach is yellow; a miss by more than 10% of the target (relative) is orange."""
    alerts = []
    for row in kpis[(kpis["met"] == False) & (kpis["n"] >= min_n)].itertuples():  # noqa: E712
        gap = abs(row.value - row.target) / max(abs(row.target), 1e-9)
        level = "orange" if gap > 0.10 else "yellow"
        alerts.append(
            make_alert(
                "kpi",
                level,
                f"{row.kpi} ({row.scope})",
                as_of,
                f"{row.kpi} for {row.scope} is {row.value:g}, "
                f"target {'>=' if row.direction == 'min' else '<='} {row.target:g}",
                settings,
                actual=row.value,
                expected=row.target,
                evidence={"n": int(row.n), "relative_gap": round(gap, 3)},
                rule=row.kpi,
            )
        )
    return alerts
