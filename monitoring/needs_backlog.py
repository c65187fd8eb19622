"""The needs backlog: open customer requests grouped by product area x type, ranked by the revenue
at risk of the customers who wait for them.

A request is open on day D when it was made by the end of D and not resolved or rejected by then
(its `resolved_ts` is empty or later than D): today's `status` column is not read, so a request
resolved after D is open on D. The churn probability and value at risk of each waiting customer
come from that day's at-risk list; the part of their risk that the SHAP reasons attribute to
unmet requests is the share of their positive reason contributions from `req_` features.
docs/needs.md explains the columns and the impact x urgency matrix.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from core.config import Settings
from core.errors import DataError
from features.aggregate import cutoff_of
from monitoring.needs_alerts import weekly_requests

UNMET_PREFIX = "req_"
AT_RISK_COLUMNS = ("customer_id", "churn_probability", "value_at_risk")
GROUP = ["product_area", "type"]


def open_requests(requirements: pd.DataFrame, as_of) -> pd.DataFrame:
    """The requests open at the end of `as_of`, with their wait in days and working days."""
    cutoff = cutoff_of(as_of)
    made = requirements["ts"] < cutoff
    closed = (requirements["resolved_ts"] < cutoff).fillna(False)
    df = requirements[made & ~closed].copy()
    df["wait_days"] = (cutoff - df["ts"]) / pd.Timedelta(days=1)
    start = df["ts"].to_numpy().astype("datetime64[D]")
    df["wait_working_days"] = np.busday_count(start, np.datetime64(f"{cutoff:%Y-%m-%d}", "D"))
    return df.reset_index(drop=True)


def unmet_share(at_risk: pd.DataFrame) -> pd.Series:
    """Per customer: the share of the positive reason contributions that come from unmet requests."""
    k = 1
    total = pd.Series(0.0, index=at_risk.index)
    unmet = pd.Series(0.0, index=at_risk.index)
    while f"reason_{k}_feature" in at_risk:
        shap = at_risk[f"reason_{k}_shap"].astype(float).clip(lower=0).fillna(0)
        is_unmet = at_risk[f"reason_{k}_feature"].astype("string").str.startswith(UNMET_PREFIX).fillna(False)
        total += shap
        unmet += shap.where(is_unmet.astype(bool), 0.0)
        k += 1
    return (unmet / total.where(total > 0)).fillna(0.0)


def _level(values: pd.Series, thresholds: dict[str, float]) -> pd.Series:
    return pd.Series(
        np.select([values >= thresholds["high"], values >= thresholds["medium"]], ["high", "medium"], "low"),
        index=values.index,
    )


def request_backlog(
    requirements: pd.DataFrame, at_risk: pd.DataFrame, as_of, settings: Settings
) -> pd.DataFrame:
    """One row per open request with its resolution target and its customer's risk."""
    missing = [c for c in AT_RISK_COLUMNS if c not in at_risk]
    if missing:
        raise DataError(
            f"at-risk list: missing column(s) {', '.join(missing)}; expected the output of scoring"
        )
    df = open_requests(requirements, as_of)
    targets = settings.requirements.resolution_target_days
    df["target_days"] = df["priority"].map(targets).fillna(max(targets.values())).astype(float)
    df["wait_vs_target"] = df["wait_working_days"] / df["target_days"]
    risk = at_risk[["customer_id", "churn_probability", "value_at_risk"]].assign(
        unmet_share=unmet_share(at_risk).to_numpy()
    )
    df = df.merge(risk.drop_duplicates("customer_id"), on="customer_id", how="left")
    # A waiting customer missing from the list (churned, or not scored) carries no risk today.
    df[["churn_probability", "value_at_risk", "unmet_share"]] = df[
        ["churn_probability", "value_at_risk", "unmet_share"]
    ].fillna(0.0)
    cols = [
        "request_id",
        "customer_id",
        "product_area",
        "type",
        "priority",
        "ts",
        "wait_days",
        "wait_working_days",
        "target_days",
        "wait_vs_target",
        "churn_probability",
        "value_at_risk",
        "unmet_share",
    ]
    return df[cols].sort_values(["value_at_risk", "wait_days"], ascending=False, ignore_index=True)


def needs_backlog(
    requirements: pd.DataFrame, at_risk: pd.DataFrame, as_of, settings: Settings
) -> pd.DataFrame:
    """The ranked requirement groups (product area x type) open on `as_of`.

    Each waiting customer counts once per group, whatever the number of their requests in it.
    Impact is the group's share of the value at risk of all waiting customers; urgency is its
    requests of the last 7 days (open or not) against `requirements.hot_feature_weekly_requests`.
    Ranked by value at risk, then customers waiting, then the oldest wait.
    """
    requests = request_backlog(requirements, at_risk, as_of, settings)
    per_customer = requests.groupby([*GROUP, "customer_id"], observed=True).agg(
        churn_probability=("churn_probability", "first"),
        value_at_risk=("value_at_risk", "first"),
        unmet_share=("unmet_share", "first"),
    )
    per_customer["unmet_value_at_risk"] = per_customer["value_at_risk"] * per_customer["unmet_share"]
    groups = per_customer.groupby(level=GROUP, observed=True).agg(
        customers_waiting=("churn_probability", "size"),
        churn_risk_sum=("churn_probability", "sum"),
        value_at_risk=("value_at_risk", "sum"),
        unmet_value_at_risk=("unmet_value_at_risk", "sum"),
    )
    waits = requests.groupby(GROUP, observed=True).agg(
        requests_open=("request_id", "size"),
        oldest_wait_days=("wait_days", "max"),
        max_wait_vs_target=("wait_vs_target", "max"),
        overdue_requests=("wait_vs_target", lambda x: int((x > 1).sum())),
    )
    weekly = weekly_requests(requirements, as_of).rename(columns={"requests": "requests_7d"})
    out = groups.join(waits).reset_index().merge(weekly, on=GROUP, how="left")
    out["requests_7d"] = out["requests_7d"].fillna(0).astype(int)
    with np.errstate(invalid="ignore", divide="ignore"):
        out["unmet_share"] = (out["unmet_value_at_risk"] / out["value_at_risk"]).fillna(0.0)
    needs = settings.needs
    total = out["value_at_risk"].sum()
    share = out["value_at_risk"] / total if total > 0 else out["value_at_risk"] * 0.0
    out["impact"] = _level(share, needs.impact_value_share)
    weekly = out["requests_7d"] / settings.requirements.hot_feature_weekly_requests
    out["urgency"] = _level(weekly, needs.urgency_weekly_share)
    out["priority"] = (out["impact"] + "/" + out["urgency"]).map(needs.matrix)
    out = out.sort_values(
        ["value_at_risk", "customers_waiting", "oldest_wait_days", "product_area", "type"],
        ascending=[False, False, False, True, True],
        ignore_index=True,
    )
    out.insert(0, "rank", np.arange(1, len(out) + 1))
    for col in ("churn_risk_sum", "value_at_risk", "unmet_value_at_risk"):
        out[col] = out[col].round(2)
    for col in ("oldest_wait_days", "max_wait_vs_target", "unmet_share"):
        out[col] = out[col].round(3)
    return out


def backlog_json(groups: pd.DataFrame, as_of) -> dict:
    """The backlog as `{"as_of", "groups": [...]}` in ranked order (the CLI's and /needs' shape)."""
    keys = [
        "product_area",
        "type",
        "customers_waiting",
        "oldest_wait_days",
        "churn_risk_sum",
        "value_at_risk",
        "priority",
    ]
    extra = [c for c in groups.columns if c not in keys]
    records = []
    for r in groups[keys + extra].to_dict("records"):
        records.append({k: (v.item() if isinstance(v, np.generic) else v) for k, v in r.items()})
    return {"as_of": f"{pd.Timestamp(as_of):%Y-%m-%d}", "groups": records}
