"""The measured effect of every action: treated vs control churn within the horizon.

A listing is one customer on one day's list: treated (contacted, on one or more channels) or a
control (deliberately left out). Its outcome is whether the customer churned within the horizon
from that day; listings whose horizon has not passed by the data's end are pending, not counted.
Because the control group is drawn at random from the same list, the difference in churn rates is
the effect of the action (negative: it saves customers), with a normal-approximation 95% interval.
"""

from __future__ import annotations

import logging
import math

import numpy as np
import pandas as pd

from core.config import Settings
from features.contract import EventData

logger = logging.getLogger(__name__)

Z95 = 1.959964
ROW_KEYS = (
    "action",
    "treated",
    "control",
    "churn_treated",
    "churn_control",
    "effect",
    "ci_low",
    "ci_high",
    "saved",
    "cost",
    "cost_per_saved",
    "revenue",
    "roi",
)


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


def _cell(group: pd.DataFrame, min_n: int) -> dict:
    t = group[group["group"] == "treatment"]
    c = group[group["group"] == "control"]
    nt, nc = len(t), len(c)
    pt = float(t["churned"].mean()) if nt else None
    pc = float(c["churned"].mean()) if nc else None
    effect = pt - pc if nt and nc else None
    enough = nt >= min_n and nc >= min_n
    low = high = None
    if enough and effect is not None:
        se = math.sqrt(pt * (1 - pt) / nt + pc * (1 - pc) / nc)
        low, high = effect - Z95 * se, effect + Z95 * se
    saved = -effect * nt if effect is not None else None
    cost = float(t["cost"].sum())
    revenue = saved * float(t["annual_fee"].mean()) if saved is not None and nt else None
    row = {
        "treated": nt,
        "control": nc,
        "churn_treated": pt,
        "churn_control": pc,
        "effect": effect,
        "ci_low": low,
        "ci_high": high,
        "saved": saved,
        "cost": round(cost, 2),
        "cost_per_saved": cost / saved if saved is not None and saved > 0 else None,
        "revenue": revenue,
        "roi": (revenue - cost) / cost if revenue is not None and cost > 0 else None,
    }
    row = {k: round(v, 6) if isinstance(v, float) else v for k, v in row.items()}
    if not enough:
        row["note"] = f"too few customers (fewer than {min_n} in a group): no interval"
    return row


def _rows(df: pd.DataFrame, keys: list[str], min_n: int) -> list[dict]:
    rows = []
    for values, group in df.groupby(keys, sort=True, observed=True):
        values = values if isinstance(values, tuple) else (values,)
        rows.append(dict(zip(keys, map(str, values), strict=True)) | _cell(group, min_n))
    return rows


def campaign_report(
    events: EventData,
    since: pd.Timestamp | str | None,
    until: pd.Timestamp | str | None,
    settings: Settings,
) -> dict:
    """Treated vs control churn per action, and per action and tier, channel and campaign."""
    r = settings.retention
    h = r.effect_horizon_days
    df = listings(events, h)
    if since is not None:
        df = df[df["day"] >= pd.Timestamp(since).normalize()]
    if until is not None:
        df = df[df["day"] <= pd.Timestamp(until).normalize()]
    pending = int((~df["matured"]).sum())
    df = df[df["matured"]]
    logger.info("campaign report: %d listings matured, %d pending", len(df), pending)
    min_n = r.report_min_customers
    return {
        "since": str(df["day"].min().date()) if len(df) else None,
        "until": str(df["day"].max().date()) if len(df) else None,
        "horizon_days": h,
        "listings": len(df),
        "pending": pending,
        "control_share": round(float((df["group"] == "control").mean()), 4) if len(df) else None,
        "actions": _rows(df, ["action"], min_n),
        "by_tier": _rows(df, ["action", "risk_tier"], min_n),
        "by_channel": _rows(df, ["action", "channel"], min_n),
        "by_campaign": _rows(df, ["action", "campaign"], min_n),
    }


def qini_curve(
    uplift_score: np.ndarray, treated: np.ndarray, churned: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The Qini curve of a targeting score: customers saved when contacting the top k by the score.

    At each k, saved(k) = control churners scaled to the treated count minus treated churners.
    Returns the share of listings targeted and the saved customers at each k (both from 0).
    """
    order = np.argsort(-np.asarray(uplift_score, float), kind="stable")
    t = np.asarray(treated, bool)[order]
    y = np.asarray(churned, bool)[order]
    nt, nc = np.cumsum(t), np.cumsum(~t)
    yt, yc = np.cumsum(t & y), np.cumsum(~t & y)
    with np.errstate(invalid="ignore", divide="ignore"):
        saved = np.where(nc > 0, yc * nt / nc, 0.0) - yt
    x = np.arange(len(order) + 1) / max(len(order), 1)
    return x, np.concatenate([[0.0], saved])


def auuc(uplift_score: np.ndarray, treated: np.ndarray, churned: np.ndarray) -> float:
    """Area under the Qini curve above the random-targeting line, in saved customers."""
    x, q = qini_curve(uplift_score, treated, churned)
    random_line = x * q[-1]
    return float(np.trapezoid(q - random_line, x))


def log_campaign_report(report: dict, settings: Settings) -> str:
    """Log the report to MLflow (metrics per action, the JSON, a plot of the effect by tier)."""
    import mlflow
    import plotly.graph_objects as go

    from experiments.tracking import ensure_experiment, use_tracking

    use_tracking(settings)
    exp = ensure_experiment(settings.retention.uplift_experiment, settings)
    with mlflow.start_run(experiment_id=exp, run_name=f"campaign-report-{report['until']}") as run:
        mlflow.set_tag("kind", "campaign_report")
        mlflow.log_params(
            {"since": report["since"], "until": report["until"], "horizon_days": report["horizon_days"]}
        )
        mlflow.log_metric("listings", report["listings"])
        for row in report["actions"]:
            for key in ("effect", "saved", "cost_per_saved", "roi"):
                if row[key] is not None:
                    mlflow.log_metric(f"{row['action']}.{key}", row[key])
        mlflow.log_dict(report, "campaign_report.json")
        fig = go.Figure()
        for action in sorted({r["action"] for r in report["by_tier"]}):
            cells = [r for r in report["by_tier"] if r["action"] == action and r["ci_low"] is not None]
            fig.add_bar(
                name=action,
                x=[r["risk_tier"] for r in cells],
                y=[r["effect"] for r in cells],
                error_y={
                    "type": "data",
                    "symmetric": False,
                    "array": [r["ci_high"] - r["effect"] for r in cells],
                    "arrayminus": [r["effect"] - r["ci_low"] for r in cells],
                },
            )
        fig.update_layout(
            title="Effect on churn within the horizon by risk tier (negative saves)",
            yaxis_title="treated minus control churn",
            barmode="group",
        )
        mlflow.log_figure(fig, "uplift_by_tier.html")
        return run.info.run_id
