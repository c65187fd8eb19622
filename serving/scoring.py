"""The at-risk list: one scoring function for the batch job and the HTTP service."""

from __future__ import annotations

import numpy as np
import pandas as pd

from core.config import Settings
from serving.explain import top_reasons, tree_shap
from serving.playbook import action_for, channels_for, describe


def _fmt(x) -> str | None:
    """Feature values as text: the columns mix numbers and categories."""
    if x is None or (isinstance(x, float) and np.isnan(x)):
        return None
    return f"{x:.4g}" if isinstance(x, int | float | np.number) else str(x)


def risk_tier(p: np.ndarray, settings: Settings) -> np.ndarray:
    t = settings.churn.risk_tiers
    return np.select(
        [p >= t["red"], p >= t["orange"], p >= t["yellow"]], ["red", "orange", "yellow"], "green"
    )


def customer_value(annual_value: np.ndarray, value_tier: np.ndarray, settings: Settings) -> np.ndarray:
    """What losing the customer costs: the present value of `clv_years` of their annual value,
    discounted yearly at `discount_rate`; for the top tier (VIPs) at least `vip_loss_multiple`
    times their annual value."""
    v = settings.churn.value
    annuity = sum(1 / (1 + v.discount_rate) ** k for k in range(1, int(v.clv_years) + 1))
    base = np.asarray(annual_value, dtype=float) * annuity
    vip = np.asarray(value_tier) == "top"
    return np.where(vip, np.maximum(base, v.vip_loss_multiple * np.asarray(annual_value, dtype=float)), base)


def score_customers(
    model, vectors: pd.DataFrame, settings: Settings, explain_top: int | None = None
) -> pd.DataFrame:
    """Score, tier, value and explain customers; sorted by churn probability, highest first.

    Args:
        explain_top: give reasons only to this many highest-risk customers (all when None).
    """
    raw = np.asarray(model.raw_score(vectors), float) if len(vectors) else np.zeros(0)
    p = np.asarray(model.calibrate(raw), float) if len(raw) else raw
    # Isotonic calibration maps ranges of scores to one probability: within such a step the
    # booster's own score still ranks, so it breaks the ties.
    order = np.lexsort((-raw, -p))
    v = vectors.iloc[order].reset_index(drop=True)
    p = p[order]
    tiers = v["value_tier"].astype(str).to_numpy() if "value_tier" in v else np.full(len(v), "potential")
    annual = v["annual_value"].to_numpy(float) if "annual_value" in v else np.zeros(len(v))
    value = customer_value(annual, tiers, settings)
    out = {
        "customer_id": v["customer_id"].astype(str).to_numpy(),
        "churn_probability": np.round(p, 6),
        "risk_tier": risk_tier(p, settings),
        "value_tier": tiers,
        "annual_value": np.round(annual, 2),
        "customer_value": np.round(value, 2),
        "value_at_risk": np.round(p * value, 2),
    }
    for col in ("segment", "region_tier"):
        if col in v:
            out[col] = v[col].astype(str).to_numpy()
    n = settings.churn.n_reasons
    k = len(v) if explain_top is None else min(explain_top, len(v))
    features = model.feature_names_
    idx, top = (
        top_reasons(tree_shap(model, v.iloc[:k]), features, n)
        if k
        else (np.zeros((0, n), int), np.zeros((0, n)))
    )
    values = v.iloc[:k][features].to_numpy(object)
    pad = [None] * (len(v) - k)
    reasons = []
    for j in range(n):
        col = idx[:, j] if j < idx.shape[1] else np.full(k, -1)
        feat = [features[i] if i >= 0 else None for i in col]
        vals = [values[r, i] if i >= 0 else None for r, i in enumerate(col)]
        shap = np.where(col >= 0, np.round(top[:, j], 5) if j < top.shape[1] else np.nan, np.nan)
        out[f"reason_{j + 1}_feature"] = feat + pad
        out[f"reason_{j + 1}_value"] = [_fmt(x) for x in vals] + pad
        out[f"reason_{j + 1}_shap"] = np.concatenate([shap, np.full(len(v) - k, np.nan)])
        out[f"reason_{j + 1}_text"] = [
            describe(f, x) if f else None for f, x in zip(feat, vals, strict=True)
        ] + pad
        reasons.append(feat)
    out["action"] = [action_for([f for f in row if f], settings) for row in zip(*reasons, strict=True)] + [
        settings.retention.default_action
    ] * (len(v) - k)
    costs = {name: c.cost for name, c in settings.retention.channels.items()}
    by_tier = {t: channels_for(t, settings) for t in set(tiers)}
    out["channel"] = ["+".join(by_tier[t]) for t in tiers]
    out["channel_cost"] = [sum(costs.get(c, 0.0) for c in by_tier[t]) for t in tiers]
    return pd.DataFrame(out)
