"""The daily list under the retention rules: control group, contact limits, budget, saved value.

Applied to the scored list (customer_id, churn_probability, risk_tier, value_tier, value_at_risk,
action, channel). In order:
1. Contact rules from the history: at most `max_contacts_per_day` contacts a day, never a channel the
   customer unsubscribed from, and after `no_response_limit` unanswered contacts at least
   `min_gap_days_after_no_response` days between contacts. A customer with no channel left is
   not eligible (`skip_reason` says why).
2. A random control group: `control_share` of the eligible customers in each risk tier, by a hash
   of (customer, day, seed), so a rerun of the day gives the same groups.
3. Expected saved value: the chance the action saves the customer times their value, minus the
   contact cost. The chance is p(churn) x the configured prior of the action, or the uplift
   model's estimate (`saved_probability` column) once there is randomised history.
4. Within the daily budget, the list takes customers by expected saved value per CNY of contact,
   skipping a contact that no longer fits (a knapsack's greedy). Controls walk the same order
   without spending, so the listed controls are comparable to the listed treated.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

import numpy as np
import pandas as pd

from core.config import Settings
from features.contacts import contact_state

MIN_COST = 0.01  # CNY; below it a contact's priority is its expected saved value


def control_draw(customer_ids: pd.Series, day: pd.Timestamp | str, seed: int) -> np.ndarray:
    """A uniform number in [0, 1) per customer from a hash of (customer, day, seed)."""
    tag = f"{pd.Timestamp(day):%Y-%m-%d}|{seed}|"
    digests = (hashlib.blake2b((tag + str(c)).encode(), digest_size=8).digest() for c in customer_ids)
    return np.fromiter((int.from_bytes(d, "big") / 2**64 for d in digests), float, len(customer_ids))


def _stratified_control(draw: np.ndarray, tiers: np.ndarray, share: float) -> np.ndarray:
    """Within each tier, the round(share x n) customers with the lowest draws."""
    control = np.zeros(len(draw), dtype=bool)
    for tier in np.unique(tiers):
        idx = np.flatnonzero(tiers == tier)
        k = int(round(share * len(idx)))
        control[idx[np.argsort(draw[idx], kind="stable")[:k]]] = True
    return control


def _allowed_channels(scored: pd.DataFrame, state: pd.DataFrame, settings: Settings) -> tuple[list, list]:
    r = settings.retention
    channels, reasons = [], []
    for planned, today, streak, since, unsub in zip(
        scored["channel"].astype(str),
        state["contacts_today"],
        state["unanswered_streak"],
        state["days_since_last"],
        state["unsubscribed"],
        strict=True,
    ):
        room = r.max_contacts_per_day - int(today)
        options = [c for c in planned.split("+") if c and c not in unsub]
        if room <= 0:
            channels.append(""), reasons.append("daily_cap")
        elif streak >= r.no_response_limit and since < r.min_gap_days_after_no_response:
            channels.append(""), reasons.append("no_response_backoff")
        elif not options:
            channels.append(""), reasons.append("unsubscribed")
        else:
            channels.append("+".join(options[:room])), reasons.append(None)
    return channels, reasons


def assign_groups(
    scored: pd.DataFrame,
    contacts: pd.DataFrame | None,
    day: pd.Timestamp | str,
    settings: Settings,
    uplift: Callable[[pd.DataFrame], pd.DataFrame] | None = None,
) -> pd.DataFrame:
    """The day's list with `group`, `listed`, `skip_reason`, `expected_saved_value` and costs.

    Args:
        scored: the scored list; an optional `saved_probability` column (the uplift model's estimate
            that the action saves the customer) replaces p(churn) x the action's prior.
        contacts: the contact history (the `contacts` table), or None when there is none.
        day: the day the list is acted on; contacts already sent that day count against the cap.
        uplift: adds `saved_probability` once the contact rules have set each customer's channel
            (`with_uplift` bound to the vectors and the model), so the estimate is for the channel
            actually used, not one the customer unsubscribed from.
    """
    r = settings.retention
    out = scored.reset_index(drop=True).copy()
    state = contact_state(contacts, pd.Index(out["customer_id"].astype(str)), day)
    out["channel"], out["skip_reason"] = _allowed_channels(out, state.reset_index(drop=True), settings)
    if uplift is not None:
        out = uplift(out)
    costs = {name: c.cost for name, c in r.channels.items()}
    out["contact_cost"] = [sum(costs.get(c, 0.0) for c in ch.split("+") if c) for ch in out["channel"]]
    eligible = out["skip_reason"].isna().to_numpy()
    tiers = out["risk_tier"].astype(str).to_numpy()
    control = np.zeros(len(out), dtype=bool)
    draw = control_draw(out["customer_id"].astype(str), day, r.control_seed)
    control[eligible] = _stratified_control(draw[eligible], tiers[eligible], r.control_share)
    out["group"] = np.where(eligible, np.where(control, "control", "treatment"), None)
    if "saved_probability" in out:
        saved_p = out["saved_probability"].to_numpy(float)
    else:
        prior = out["action"].map(r.effect_priors).fillna(0.0).to_numpy(float)
        saved_p = out["churn_probability"].to_numpy(float) * prior
    if "customer_value" in out:
        value = out["customer_value"].to_numpy(float)
    else:
        p = np.maximum(out["churn_probability"].to_numpy(float), 1e-9)
        value = out["value_at_risk"].to_numpy(float) / p
    out["expected_saved_value"] = np.round(saved_p * value - out["contact_cost"].to_numpy(float), 2)
    priority = np.where(eligible, budget_priority(out["expected_saved_value"], out["contact_cost"]), 0.0)
    out["listed"] = fill_budget(priority, out["contact_cost"].to_numpy(float), r.daily_budget_cny, ~control)
    gain = out["expected_saved_value"].to_numpy(float) > 0
    out.loc[eligible & ~gain, "skip_reason"] = "no_expected_gain"
    out.loc[eligible & gain & ~out["listed"].to_numpy(bool), "skip_reason"] = "budget"
    out["planned_action"] = out["action"]
    out.loc[out["group"] == "control", "action"] = None  # control customers get no action
    out.loc[out["group"] == "control", "contact_cost"] = 0.0
    return out.sort_values("expected_saved_value", ascending=False, kind="stable").reset_index(drop=True)


def budget_priority(expected_saved_value: np.ndarray, cost: np.ndarray) -> np.ndarray:
    """The order a budget is spent in: expected saved value per CNY of contact (a knapsack's greedy).

    Ranking by saved value alone would let one dear contact crowd out several cheap ones that together
    save more; a contact that costs nothing ranks by its value.
    """
    esv = np.asarray(expected_saved_value, float)
    return esv / np.maximum(np.asarray(cost, float), MIN_COST)


def fill_budget(
    priority: np.ndarray, cost: np.ndarray, budget: float, spends: np.ndarray | None = None
) -> np.ndarray:
    """Take rows by descending priority while the budget lasts, skipping those that no longer fit.

    Args:
        priority: the order key; rows at or below 0 are never taken.
        spends: whether a taken row spends its cost; default all. A control is taken where a treated
            customer would be (it must fit in what is left) but spends nothing, so the listed
            controls stay comparable to the listed treated.
    """
    spends = np.ones(len(cost), dtype=bool) if spends is None else spends
    taken = np.zeros(len(cost), dtype=bool)
    left = float(budget)
    for i in np.argsort(-np.asarray(priority, float), kind="stable"):
        if priority[i] <= 0:
            break
        if cost[i] > left:
            continue
        taken[i] = True
        left -= cost[i] if spends[i] else 0.0
    return taken


def contacts_for_day(
    targeted: pd.DataFrame, day: pd.Timestamp | str, campaign: str = "daily"
) -> pd.DataFrame:
    """The contact rows the listed customers make, in the `contacts` table's shape.

    A treated customer gets one row per channel; a control one row recording the left-out contact.
    """
    day = pd.Timestamp(day).normalize()
    listed = targeted[targeted["listed"]]
    costs = listed["contact_cost"].to_numpy(float)
    rows = []
    for row, cost in zip(listed.itertuples(index=False), costs, strict=True):
        channels = [c for c in str(row.channel).split("+") if c]
        share = cost / max(len(channels), 1)
        for ch in channels if row.group == "treatment" else channels[:1]:
            rows.append(
                (
                    row.customer_id,
                    ch,
                    row.planned_action,
                    row.group,
                    share if row.group == "treatment" else 0.0,
                    row.risk_tier,
                )
            )
    frame = pd.DataFrame(rows, columns=["customer_id", "channel", "action", "group", "cost", "risk_tier"])
    stamp = f"{day:%Y%m%d}"
    return pd.DataFrame(
        {
            "contact_id": [f"{stamp}-{i + 1:06d}" for i in range(len(frame))],
            "customer_id": frame["customer_id"],
            "ts": day,
            "channel": frame["channel"],
            "action": frame["action"],
            "campaign": f"{campaign}-{day:%Y-%m}",
            "group": frame["group"],
            "responded_ts": pd.NaT,
            "unsubscribed": False,
            "cost": frame["cost"],
            "risk_tier": frame["risk_tier"],
        }
    )


def with_uplift(scored: pd.DataFrame, vectors: pd.DataFrame, model) -> pd.DataFrame:
    """Add the uplift model's `saved_probability` for each customer's action (vectors by customer_id)."""
    x = vectors.set_index("customer_id").loc[scored["customer_id"].astype(str)].reset_index()
    out = scored.copy()
    saved = model.saved_probability(x, scored["action"].to_numpy(object), scored["channel"].to_numpy(object))
    out["saved_probability"] = np.clip(saved, 0, 1)
    return out
