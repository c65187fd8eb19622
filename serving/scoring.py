"""The at-risk list: one scoring function for the batch job and the HTTP service."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from core.config import Settings
from core.timing import mark
from serving.explain import top_facts, tree_shap
from serving.playbook import action_for, channels_for
from serving.reasons import describe, reason_fact

if TYPE_CHECKING:  # pragma: no cover - typing only
    from distributed import Client

MIN_ROWS_FOR_BASE_RATE = 50  # fewer scored rows than this give no base rate of their own


def _fmt(x) -> str | None:
    """Feature values as text: the columns mix numbers and categories."""
    if x is None or (isinstance(x, float) and np.isnan(x)):
        return None
    return f"{x:.4g}" if isinstance(x, int | float | np.number) else str(x)


def odds_lift(p: np.ndarray, base_rate: float) -> np.ndarray:
    """How many times a customer's odds of leaving exceed the average customer's.

    Odds rather than probabilities, so that a lift means something at any base rate (a lift of
    the probability can never reach 2 when half the customers leave).
    """
    eps = 1e-9
    p = np.clip(np.asarray(p, float), eps, 1 - eps)
    b = min(max(base_rate, eps), 1 - eps)
    return (p / (1 - p)) / (b / (1 - b))


def risk_tier(p: np.ndarray, settings: Settings, base_rate: float | None = None) -> np.ndarray:
    """Red, orange, yellow or green from the lift of the odds over the base rate.

    A tier needs its lift (`churn.risk_tier_lift`), and its probability floor where one is set
    (`churn.risk_tiers`, null by default). The lift follows the data: where 3% leave, p = 0.12 is
    four times the average odds (red); where 40% leave, red starts near p = 0.73. Without a known
    base rate, the mean of `p` stands in for it.
    """
    floors, lift = settings.churn.risk_tiers, settings.churn.risk_tier_lift
    p = np.asarray(p, float)
    if base_rate is None:
        base_rate = float(p.mean()) if len(p) else 0.5
    odds = odds_lift(p, base_rate)
    reached = [
        (odds >= lift[k]) & (p >= (floors.get(k) if floors.get(k) is not None else 0.0))
        for k in ("red", "orange", "yellow")
    ]
    return np.select(reached, ["red", "orange", "yellow"], "green")


def risk_tiers(
    p: np.ndarray, lapsed: np.ndarray, model, settings: Settings, base_rate: float | None
) -> np.ndarray:
    """`risk_tier` of scored rows, "lapsed" for the lapsed; the base rate by default the model's
    `base_rate_`, else the mean probability of the rows not yet lapsed (when enough)."""
    if base_rate is None:
        base_rate = getattr(model, "base_rate_", None)
    if base_rate is None and (~lapsed).sum() >= MIN_ROWS_FOR_BASE_RATE:
        base_rate = float(p[~lapsed].mean())
    return np.where(lapsed, "lapsed", risk_tier(p, settings, base_rate))


def lapsed_after(model, settings: Settings, data_window: dict | None = None) -> float:
    """Days without activity after which a customer has already lapsed: `churn.lapsed_after_days`
    when set, else the model's churn horizon (from the model or its registered data window),
    else the configured horizon."""
    horizon = getattr(model, "horizon_days_", None) or (data_window or {}).get("horizon_days")
    return float(settings.churn.lapsed_after_days or horizon or settings.churn.horizon_days)


def base_rate_of(at_risk: pd.DataFrame | None) -> float | None:
    """The base rate behind a scored list's tiers (mean probability of those not yet lapsed), so
    that a few customers scored later (an API request) are tiered like the day's list."""
    if at_risk is None or "churn_probability" not in at_risk:
        return None
    active = at_risk[~at_risk["lapsed"]] if "lapsed" in at_risk else at_risk
    return float(active["churn_probability"].mean()) if len(active) >= MIN_ROWS_FOR_BASE_RATE else None


def customer_value(annual_value: np.ndarray, value_tier: np.ndarray, settings: Settings) -> np.ndarray:
    """What losing the customer costs: the present value of `clv_years` of their annual value,
    discounted yearly at `discount_rate`; for the top tier (VIPs) at least `vip_loss_multiple`
    times their annual value."""
    v = settings.churn.value
    annuity = sum(1 / (1 + v.discount_rate) ** k for k in range(1, int(v.clv_years) + 1))
    base = np.asarray(annual_value, dtype=float) * annuity
    vip = np.asarray(value_tier) == "top"
    return np.where(vip, np.maximum(base, v.vip_loss_multiple * np.asarray(annual_value, dtype=float)), base)


def risk_rows(vectors: pd.DataFrame, model, settings: Settings, after: float) -> pd.DataFrame:
    """Per customer, each row on its own: raw score, calibrated probability, lapsed, value."""
    raw = np.asarray(model.raw_score(vectors), float) if len(vectors) else np.zeros(0)
    p = np.asarray(model.calibrate(raw), float) if len(raw) else raw
    mark("predicted")
    idle = (
        vectors["days_since_last_activity"].to_numpy(float) if "days_since_last_activity" in vectors else None
    )
    lapsed = np.zeros(len(p), bool) if idle is None else np.nan_to_num(idle, nan=np.inf) > after
    tiers = (
        vectors["value_tier"].astype(str).to_numpy()
        if "value_tier" in vectors
        else np.full(len(p), "potential")
    )
    annual = vectors["annual_value"].to_numpy(float) if "annual_value" in vectors else np.zeros(len(p))
    value = customer_value(np.nan_to_num(annual), tiers, settings)
    return pd.DataFrame(
        {"raw": raw, "p": p, "lapsed": lapsed, "tier": tiers, "annual": annual, "value": value}
    )


def explain_rows(v: pd.DataFrame, model, settings: Settings) -> pd.DataFrame:
    """Reasons (TreeSHAP) and the playbook's action for each customer, each row on its own."""
    n, k = settings.churn.n_reasons, len(v)
    features = model.feature_names_
    idx, top = (
        top_facts(tree_shap(model, v), [reason_fact(f) for f in features], n)
        if k
        else (np.zeros((0, n), int), np.zeros((0, n)))
    )
    values = v[features].to_numpy(object)
    mark("shap")
    out, reasons = {}, []
    for j in range(n):
        col = idx[:, j] if j < idx.shape[1] else np.full(k, -1)
        feat = [features[i] if i >= 0 else None for i in col]
        vals = [values[r, i] if i >= 0 else None for r, i in enumerate(col)]
        shap = np.where(col >= 0, np.round(top[:, j], 5) if j < top.shape[1] else np.nan, np.nan)
        out[f"reason_{j + 1}_feature"] = feat
        out[f"reason_{j + 1}_value"] = [_fmt(x) for x in vals]
        out[f"reason_{j + 1}_shap"] = shap.astype(float)
        out[f"reason_{j + 1}_text"] = [describe(f, x) if f else None for f, x in zip(feat, vals, strict=True)]
        reasons.append(feat)
    mark("wording")
    known = [[f for f in row if f] for row in zip(*reasons, strict=True)]
    quiet = settings.retention.quiet_action
    out["action"] = [action_for(row, settings) if row else quiet for row in known]
    return pd.DataFrame(out, index=range(k))


RISK_COLUMNS = ("days_since_last_activity", "value_tier", "annual_value")  # what risk_rows reads


def _explain_at(chunk: pd.DataFrame, rows: np.ndarray, model, settings: Settings) -> pd.DataFrame:
    return explain_rows(chunk.iloc[rows], model, settings)


class Shipped:
    """The vectors' columns that the per-customer work reads, sent once to a cluster's workers in
    chunks of consecutive rows, with the model broadcast once; both steps run where the rows are.

    Sending is the cluster path's main cost over one process: only the model's features and
    RISK_COLUMNS travel (not the ids), straight to the workers (not through the scheduler), and
    the explained customers' rows are picked from the chunks already there, not sent again.
    """

    def __init__(self, client: Client, vectors: pd.DataFrame, model) -> None:
        from core.cluster import workers_of

        needed = [c for c in dict.fromkeys([*model.feature_names_, *RISK_COLUMNS]) if c in vectors]
        parts = min(max(2 * workers_of(client), 2), max(len(vectors), 1))
        self.bounds = np.linspace(0, len(vectors), parts + 1).astype(int)
        pieces = [vectors.iloc[a:b][needed] for a, b in zip(self.bounds[:-1], self.bounds[1:], strict=True)]
        self.client = client
        self.chunks = client.scatter(pieces, direct=True)
        self.model = client.scatter(model, broadcast=True, direct=True)

    def risk_rows(self, settings: Settings, after: float) -> pd.DataFrame:
        """`risk_rows` of every row, in the vectors' order."""
        from core.cluster import gather

        futures = self.client.map(
            risk_rows, self.chunks, model=self.model, settings=settings, after=after, pure=False
        )
        return pd.concat(gather(self.client, futures, "scoring"), ignore_index=True)

    def explain_rows(self, positions: np.ndarray, settings: Settings) -> pd.DataFrame:
        """`explain_rows` of the rows at `positions` of the vectors, in that order."""
        from core.cluster import gather

        chunk_of = np.searchsorted(self.bounds, positions, side="right") - 1
        ranks = [np.flatnonzero(chunk_of == j) for j in range(len(self.chunks))]
        used = [j for j, r in enumerate(ranks) if len(r)]
        futures = [
            self.client.submit(
                _explain_at,
                self.chunks[j],
                positions[ranks[j]] - self.bounds[j],
                self.model,
                settings,
                pure=False,
            )
            for j in used
        ]
        pieces = gather(self.client, futures, "explaining")
        for j, piece in zip(used, pieces, strict=True):
            piece.index = ranks[j]
        return pd.concat(pieces).sort_index().reset_index(drop=True)


def score_customers(
    model,
    vectors: pd.DataFrame,
    settings: Settings,
    explain_top: int | None = None,
    lapsed_after_days: float | None = None,
    base_rate: float | None = None,
    client: Client | None = None,
) -> pd.DataFrame:
    """Score, tier, value and explain customers, highest risk first; the already lapsed last.

    Customers without activity for longer than `lapsed_after_days` (default: `lapsed_after`)
    have already left by the churn definition: they get the tier `lapsed` and the win-back
    action, ordered by their value after everyone who can still be kept.

    With a Dask `client`, the per-customer work (probabilities, then reasons and actions of those
    explained) runs per partition on its workers with the model broadcast once; the passes over
    everyone (order, base rate, tiers) run here on the gathered rows. The result is the same.

    Args:
        explain_top: give reasons only to this many customers from the top (all when None).
        base_rate: the share of customers who leave, for the tiers' lift; by default the model's
            `base_rate_`, else the mean probability of the customers not yet lapsed.
    """
    after = lapsed_after_days or lapsed_after(model, settings)
    if client is None:
        rows = risk_rows(vectors, model, settings, after)
    else:
        shipped = Shipped(client, vectors, model)
        rows = shipped.risk_rows(settings, after)
    raw, p, lapsed, value = (rows[c].to_numpy() for c in ("raw", "p", "lapsed", "value"))
    # The calibrators are strictly increasing, so only equal scores tie; the raw score still breaks
    # ties of models pickled with the old step calibrator. The lapsed go last, by value.
    order = np.lexsort((-raw, np.where(lapsed, -value, -p), lapsed))
    v = vectors.iloc[order].reset_index(drop=True)
    rows = rows.iloc[order].reset_index(drop=True)
    p, lapsed, tiers = rows["p"].to_numpy(float), rows["lapsed"].to_numpy(bool), rows["tier"].to_numpy()
    risk = risk_tiers(p, lapsed, model, settings, base_rate)
    out = pd.DataFrame(
        {
            "customer_id": v["customer_id"].astype(str).to_numpy(),
            "churn_probability": np.round(p, 6),
            "risk_tier": risk,
            "lapsed": lapsed,
            "value_tier": tiers,
            "annual_value": np.round(rows["annual"].to_numpy(float), 2),
            "customer_value": np.round(rows["value"].to_numpy(float), 2),
            "value_at_risk": np.round(p * rows["value"].to_numpy(float), 2),
        }
    )
    for col in ("segment", "region_tier"):
        if col in v:
            out[col] = v[col].astype(str).to_numpy()
    k = len(v) if explain_top is None else min(explain_top, len(v))
    if client is None or not k:
        explained = explain_rows(v.iloc[:k], model, settings)
    else:
        explained = shipped.explain_rows(order[:k], settings)
    explained = explained.reindex(range(len(v)))  # the unexplained rows get blanks
    for col in explained.select_dtypes(object).columns:
        explained[col] = explained[col].astype(object).where(explained[col].notna(), None)
    explained["action"] = explained["action"].where(np.arange(len(v)) < k, settings.retention.default_action)
    out = pd.concat([out, explained], axis=1)
    r = settings.retention
    out["action"] = np.where(lapsed, r.lapsed_action, out["action"].to_numpy(object))
    costs = {name: c.cost for name, c in r.channels.items()}
    pairs = list(zip(tiers, risk, strict=True))
    by_tier = {pair: channels_for(pair[0], settings, risk_tier=pair[1]) for pair in set(pairs)}
    out["channel"] = ["+".join(by_tier[pair]) for pair in pairs]
    out["channel_cost"] = [sum(costs.get(c, 0.0) for c in by_tier[pair]) for pair in pairs]
    mark("actions")
    return out
