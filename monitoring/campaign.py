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

import pandas as pd

from core.config import Settings
from features.contacts import listings
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
