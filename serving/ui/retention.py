"""What the retention pages show: the day's at-risk list filtered and sorted, and one customer."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import pandas as pd

from serving.wording import distinct_digits

FILTERS = {
    "risk_tier": "risk tier",
    "value_tier": "value tier",
    "segment": "segment",
    "region_tier": "region",
}
LIST_COLUMNS = [
    "customer_id",
    "churn_probability",
    "risk_tier",
    "value_tier",
    "segment",
    "region_tier",
    "value_at_risk",
    "reason_1_text",
    "action",
    "channel",
]
SORTABLE = ("churn_probability", "value_at_risk", "customer_id", "annual_value")
TIER_ORDER = ("red", "orange", "yellow", "green")
PAGE_SIZE = 50


@dataclass
class ListQuery:
    """The filters, search, sort and page of the at-risk list, as the URL carries them."""

    filters: dict[str, list[str]] = field(default_factory=dict)
    q: str = ""
    sort: str = ""
    desc: bool = True
    page: int = 1


def filter_list(at_risk: pd.DataFrame, query: ListQuery) -> pd.DataFrame:
    """The rows a query selects, in the list's own order unless a sort column is given."""
    df = at_risk
    for col, values in query.filters.items():
        if values and col in df:
            df = df[df[col].astype(str).isin(values)]
    if query.q:
        df = df[df["customer_id"].astype(str).str.contains(query.q.strip(), case=False, regex=False)]
    if query.sort in SORTABLE and query.sort in df:
        df = df.sort_values(query.sort, ascending=not query.desc, kind="mergesort")
    return df


def tiles(at_risk: pd.DataFrame) -> dict:
    """Customers per risk tier (highest first), value at risk and the list's size."""
    counts = at_risk["risk_tier"].value_counts()
    order = [t for t in TIER_ORDER if t in counts] + sorted(set(counts.index) - set(TIER_ORDER))
    return {
        "tiers": [(t, int(counts[t])) for t in order],
        "value_at_risk": float(at_risk["value_at_risk"].sum()),
        "customers": len(at_risk),
    }


def list_page(at_risk: pd.DataFrame, query: ListQuery) -> dict:
    """One page of the filtered list, the filter choices and the page count."""
    rows = filter_list(at_risk, query)
    pages = max(1, math.ceil(len(rows) / PAGE_SIZE))
    page = min(max(query.page, 1), pages)
    part = rows.iloc[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
    return {
        "rows": part[[c for c in LIST_COLUMNS if c in part]].to_dict("records"),
        # Neighbours in a list can differ in the fifth decimal only: show them as different.
        "digits": distinct_digits(part["churn_probability"]) if "churn_probability" in part else 3,
        "total": len(rows),
        "page": page,
        "pages": pages,
        "choices": {
            col: sorted(at_risk[col].dropna().astype(str).unique()) for col in FILTERS if col in at_risk
        },
    }


def probability_history(days: dict, customer_id: str) -> list[dict]:
    """The customer's churn probability and tier on each stored day's list."""
    out = []
    for day in sorted(days):
        frame = days[day].at_risk
        hit = frame[frame["customer_id"] == customer_id]
        if len(hit):
            out.append(
                {
                    "day": day,
                    "churn_probability": float(hit["churn_probability"].iloc[0]),
                    "risk_tier": hit["risk_tier"].iloc[0],
                }
            )
    return out


def reasons(row: pd.Series) -> list[dict]:
    """The top reasons of one list row: feature, value, SHAP contribution and sentence."""
    out = []
    for i in (1, 2, 3):
        feature = row.get(f"reason_{i}_feature")
        if isinstance(feature, str) and feature:
            out.append(
                {
                    "feature": feature,
                    "value": row.get(f"reason_{i}_value"),
                    "shap": float(row.get(f"reason_{i}_shap") or 0.0),
                    "text": row.get(f"reason_{i}_text") or "",
                }
            )
    return out


def against_population(vectors: pd.DataFrame, customer_id: str, features: list[str]) -> list[dict]:
    """The customer's value of each feature beside the population's median and its percentile."""
    out = []
    for f in features:
        if f not in vectors:
            continue
        col = pd.to_numeric(vectors[f], errors="coerce")
        value = col.get(customer_id)
        known = col.dropna()
        if value is None or pd.isna(value) or known.empty:
            out.append({"feature": f, "value": None, "median": None, "percentile": None})
            continue
        out.append(
            {
                "feature": f,
                "value": float(value),
                "median": float(known.median()),
                "percentile": round(100 * float((known < value).mean() + 0.5 * (known == value).mean())),
            }
        )
    return out


def waterfall(reason_rows: list[dict]) -> dict:
    """A plotly waterfall of the reasons' SHAP contributions (log-odds), largest first."""
    return {
        "data": [
            {
                "type": "waterfall",
                "orientation": "h",
                "y": [r["feature"] for r in reason_rows][::-1],
                "x": [r["shap"] for r in reason_rows][::-1],
                "measure": ["relative"] * len(reason_rows),
                "text": [f"{r['shap']:+.3f}" for r in reason_rows][::-1],
            }
        ],
        "layout": {
            "title": {"text": "Top reasons: contribution to the risk (log-odds)"},
            "height": 260,
            "margin": {"l": 190},
        },
    }
