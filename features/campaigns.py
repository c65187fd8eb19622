"""Past retention campaigns in the sample, simulated causally, with their true effects.

Every day the company acts on a short list of its riskiest customers (ranked by a noisy view of
their churn risk, as a model would see it). A seeded random part of the list is the control group
and gets nothing. A treated customer's churn hazard changes for `horizon` days by the action's
known, heterogeneous effect: a service upgrade removes much of the hazard from slow tickets, a
promotion much of the price-driven hazard, feature adoption part of the unmet-needs and falling-usage
hazards; community helps young customers, brand mature ones; every contact adds a little annoyance,
more for customers contacted often. Dedicated agents carry an action fully, messages less.

A listed customer is not listed again within the horizon, so each contact's window is its own and
the true effect of each contact is exact: churn probability within the horizon when treated minus
when not, from the hazard of that window. `_truth.json` holds their averages per action and tier.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from core.config import Settings
from core.io import write_frame, write_json

# The share of alive customers listed each day, and the share of the list kept as a control group.
LIST_SHARE = 0.003
HISTORY_CONTROL_SHARE = 0.25
PLAYBOOK_SHARE = 0.6  # the rest of the treated get a random action (the history to learn from)
COMPONENTS = ("unmet_needs", "slow_service", "price_sensitivity", "falling_usage")
CAUSE_ACTION = ("feature_adoption", "service_upgrade", "promotion", "feature_adoption")
# Share of each hazard component an action removes, with a dedicated agent (full strength).
ACTION_CUTS = {
    "feature_adoption": (0.5, 0.0, 0.0, 0.5),
    "service_upgrade": (0.0, 0.75, 0.0, 0.0),
    "promotion": (0.0, 0.0, 0.75, 0.0),
    "crisis_intervention": (0.15, 0.15, 0.15, 0.15),
    "community": (0.3, 0.3, 0.3, 0.3),  # customers in their first year only
    "brand": (0.2, 0.2, 0.2, 0.2),  # customers of two years or more only
}
CHANNEL_STRENGTH = {"dedicated_agent": 1.0, "store_visit": 1.0, "messaging_app": 0.7, "sms": 0.45}
RESPONSE_RATE = {"dedicated_agent": 0.6, "store_visit": 0.7, "messaging_app": 0.3, "sms": 0.12}
UNSUBSCRIBE_RATE = {"messaging_app": 0.04, "sms": 0.06}
ANNOYANCE = 0.00008  # daily hazard per treated contact in the last 90 days (this one included)


@dataclass
class CampaignHistory:
    contacts: pd.DataFrame
    truth: dict
    # Per contact: churn probability within the horizon untreated, treated, and treated with each
    # action instead (`p_treated_<action>`, same channel and window): the benchmark's truth.
    contact_truth: pd.DataFrame


# The simulated company's own fixed tiers on the listed customers' probabilities (its history, not
# needradar's rule: `churn.risk_tier_lift` tiers today's lists).
HISTORY_TIERS = {"red": 0.30, "orange": 0.15, "yellow": 0.05}


def _tier(p: np.ndarray) -> np.ndarray:
    t = HISTORY_TIERS
    return np.select(
        [p >= t["red"], p >= t["orange"], p >= t["yellow"]], ["red", "orange", "yellow"], "green"
    )


def simulate_campaigns(
    parts: list[np.ndarray],
    base: float,
    signup_day: np.ndarray,
    draw: np.ndarray,
    value: np.ndarray,
    start: pd.Timestamp,
    ids: np.ndarray,
    settings: Settings,
    seed: int,
) -> tuple[np.ndarray, CampaignHistory]:
    """Run the daily campaigns; return the hazard with their effects and the contact history.

    Args:
        parts: the four hazard components (n x t each, in COMPONENTS order), before any campaign.
        draw: each customer's exponential churn threshold on the cumulative hazard.
    """
    rng = np.random.default_rng([seed, 12])
    n, t = parts[0].shape
    h = settings.retention.effect_horizon_days
    actions = [a for a in settings.retention.actions if a in ACTION_CUTS] or ["crisis_intervention"]
    costs = {name: c.cost for name, c in settings.retention.channels.items()}
    hazard = base + parts[0] + parts[1] + parts[2] + parts[3]
    hazard[np.arange(t)[None, :] < signup_day[:, None]] = 0
    top_value = value >= np.quantile(value, 1 - settings.churn.value.top_share)
    free_from = np.zeros(n, dtype=np.int64)  # first day a customer may be listed again
    unsub = np.zeros((n, 2), dtype=bool)  # messaging_app, sms
    last_treated = np.full((n, 3), -10_000)  # the last three treated days (listed once per horizon)
    cum = np.zeros(n)
    rows: list[tuple] = []
    alternatives: list[np.ndarray] = []  # per day's list: churn probability treated with each action
    for d in range(t - 1):
        alive = (cum < draw) & (signup_day <= d)
        if d >= 60:  # a first list once the business has two months of customers
            window = slice(d, min(d + h, t))
            eligible = np.flatnonzero(alive & (free_from <= d))
            k = int(rng.binomial(alive.sum(), LIST_SHARE))
            if k and len(eligible):
                risk_now = hazard[eligible, d] * rng.lognormal(0, 0.5, len(eligible))
                top = np.argpartition(-risk_now, min(k, len(eligible) - 1))[:k]
                chosen = np.sort(eligible[top])
                day_rows, alt = _act(
                    chosen,
                    d,
                    window,
                    parts,
                    base,
                    hazard,
                    signup_day,
                    top_value,
                    unsub,
                    last_treated,
                    actions,
                    rng,
                    settings,
                )
                rows += day_rows
                alternatives.append(alt)
                free_from[chosen] = d + h
        cum += hazard[:, d]
    contacts = _contacts_frame(rows, ids, start, costs, rng)
    contact_truth = pd.DataFrame(
        {
            "contact_id": contacts["contact_id"],
            "p_untreated": np.round([r[7] for r in rows], 6),
            "p_treated": np.round([r[8] for r in rows], 6),
        }
    )
    alt = np.concatenate(alternatives) if alternatives else np.zeros((0, len(actions)))
    for j, a in enumerate(actions):
        contact_truth[f"p_treated_{a}"] = np.round(alt[:, j], 6)
    return hazard, CampaignHistory(contacts, _truth([r for r in rows if r[1] + h <= t], h), contact_truth)


def _act(
    chosen, d, window, parts, base, hazard, signup_day, top_value, unsub, last_treated, actions, rng, settings
) -> tuple[list[tuple], np.ndarray]:
    """Assign group, action and channel to the day's list and apply the treated hazard.

    Also returns, per listed customer, the churn probability had each of `actions` been applied
    instead (same channel and window): the counterfactual truth a benchmark of action choice needs.
    """
    m = len(chosen)
    comp = np.stack([p[chosen, window] for p in parts], axis=1)  # m x 4 x w
    control = rng.random(m) < HISTORY_CONTROL_SHARE
    cause = comp[:, :, 0].argmax(axis=1)
    guided = rng.random(m) < PLAYBOOK_SHARE
    pick = np.array(actions)[rng.integers(0, len(actions), m)]
    action = np.where(guided, np.array(CAUSE_ACTION)[cause], pick)
    app_or_sms = np.where(rng.random(m) < 0.5, "messaging_app", "sms")
    app_or_sms = np.where(unsub[chosen, 0], "sms", np.where(unsub[chosen, 1], "messaging_app", app_or_sms))
    channel = np.where(top_value[chosen], "dedicated_agent", app_or_sms)
    tenure = d - signup_day[chosen]
    channel_strength = np.array([CHANNEL_STRENGTH.get(c, 0.5) for c in channel])
    recent = (last_treated[chosen] > d - 90).sum(axis=1)

    def treated_hazard(act: np.ndarray) -> np.ndarray:
        fits = ~(((act == "community") & (tenure >= 365)) | ((act == "brand") & (tenure < 730)))
        cuts = np.array([ACTION_CUTS[a] for a in act]).reshape(-1, 4) * (channel_strength * fits)[:, None]
        return base + (comp * (1 - cuts)[:, :, None]).sum(axis=1) + ANNOYANCE * (recent + 1)[:, None]

    untreated = base + comp.sum(axis=1)
    treated = treated_hazard(action)
    p_ctrl = 1 - np.exp(-untreated.sum(axis=1))
    p_treat = 1 - np.exp(-treated.sum(axis=1))
    alt = np.column_stack([1 - np.exp(-treated_hazard(np.full(m, a)).sum(axis=1)) for a in actions]).reshape(
        m, len(actions)
    )
    rows = chosen[~control]
    hazard[rows, window] = treated[~control]
    last_treated[rows] = np.column_stack([last_treated[rows, 1:], np.full(len(rows), d)])
    responded = ~control & (rng.random(m) < np.array([RESPONSE_RATE.get(c, 0.2) for c in channel]))
    unsubscribed = responded & (rng.random(m) < np.array([UNSUBSCRIBE_RATE.get(c, 0.0) for c in channel]))
    unsub[chosen[unsubscribed & (channel == "messaging_app")], 0] = True
    unsub[chosen[unsubscribed & (channel == "sms")], 1] = True
    tier = _tier(p_ctrl)
    out = list(
        zip(
            chosen,
            [d] * m,
            action,
            channel,
            control,
            responded,
            unsubscribed,
            p_ctrl,
            p_treat,
            tier,
            strict=True,
        )
    )
    return out, alt


def _contacts_frame(rows: list[tuple], ids, start, costs, rng) -> pd.DataFrame:
    cols = [
        "row",
        "day",
        "action",
        "channel",
        "control",
        "responded",
        "unsubscribed",
        "p_ctrl",
        "p_treat",
        "risk_tier",
    ]
    r = pd.DataFrame(rows, columns=cols)
    ts = start + pd.to_timedelta(r["day"], unit="D") + pd.to_timedelta(rng.uniform(9, 18, len(r)), unit="h")
    reply = ts + pd.to_timedelta(rng.lognormal(np.log(6), 1.0, len(r)), unit="h")
    return pd.DataFrame(
        {
            "contact_id": [f"K{i + 1:07d}" for i in range(len(r))],
            "customer_id": ids[r["row"].to_numpy(int)] if len(r) else np.array([], dtype=str),
            "ts": ts.dt.floor("s"),
            "channel": r["channel"],
            "action": r["action"],
            "campaign": "daily-" + (start + pd.to_timedelta(r["day"], unit="D")).dt.strftime("%Y-%m"),
            "group": np.where(r["control"], "control", "treatment"),
            "responded_ts": reply.dt.floor("s").where(r["responded"]),
            "unsubscribed": r["unsubscribed"].astype(bool),
            "cost": np.where(r["control"], 0.0, r["channel"].map(costs).fillna(0.0)),
            "risk_tier": r["risk_tier"],
        }
    )


def _truth(rows: list[tuple], horizon: int) -> dict:
    """Average true effect (treated minus untreated churn within the horizon) per action and tier."""
    if not rows:
        return {"horizon_days": horizon, "effect": {}, "effect_by_tier": {}}
    r = pd.DataFrame(rows).iloc[:, [2, 9, 7, 8]]
    r.columns = ["action", "risk_tier", "p_ctrl", "p_treat"]
    r["effect"] = r["p_treat"] - r["p_ctrl"]
    by_action = r.groupby("action")["effect"].mean()
    by_tier = r.groupby(["action", "risk_tier"])["effect"].mean()
    return {
        "horizon_days": horizon,
        "effect": {str(a): round(float(x), 6) for a, x in by_action.items()},
        "effect_by_tier": {
            str(a): {str(tier): round(float(x), 6) for (a2, tier), x in by_tier.items() if a2 == a}
            for a in by_action.index
        },
    }


def write_truth(truth: dict, out_dir: str | Path, contact_truth: pd.DataFrame | None = None) -> Path:
    """`_truth.json` (and `_truth_contacts.csv`) beside the tables; the loader ignores `_` files."""
    if contact_truth is not None:
        write_frame(contact_truth, Path(out_dir) / "_truth_contacts.csv")
    return write_json(Path(out_dir) / "_truth.json", truth)
