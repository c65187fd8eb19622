"""What the needs page shows: the day's ranked needs backlog, hot spots, negative feedback and the
class mix, all read from what the daily job wrote (no rule is re-computed here)."""

from __future__ import annotations

import pandas as pd

from core.config import Settings
from serving.needs_view import needs_page
from serving.ui import days

FILTERS = {"product_area": "product area", "type": "type", "priority": "priority"}
PAGE_SIZE = 25


def _read(day_dir, name: str) -> pd.DataFrame:
    """One of the day's needs outputs; empty when the step wrote none or an empty table."""
    try:
        frame = days.read_csv(day_dir, name)
    except pd.errors.EmptyDataError:  # the step's table had no columns (e.g. no feedback texts)
        return pd.DataFrame()
    return pd.DataFrame() if frame is None else frame


def backlog_page(backlog: pd.DataFrame, day: str, filters: dict[str, list[str]], page: int) -> dict:
    """One page of the backlog as `/needs` answers it (same filters, same ranked order), plus the
    filter choices and a page number kept within the pages."""
    if "product_area" not in backlog:  # the day had no requirements table (feedback only)
        return {"as_of": day, "total": 0, "page": 1, "pages": 1, "groups": [], "choices": {}}
    chosen = [filters.get(col) or None for col in FILTERS]
    first = needs_page(backlog, day, *chosen, page=1, page_size=PAGE_SIZE)
    pages = max(1, first["pages"])
    page = min(max(page, 1), pages)
    out = first if page == 1 else needs_page(backlog, day, *chosen, page=page, page_size=PAGE_SIZE)
    choices = {col: sorted(backlog[col].dropna().astype(str).unique()) for col in FILTERS if col in backlog}
    return {**out, "page": page, "pages": pages, "choices": choices}


def hot_spots(day_dir, alerts: list[dict], settings: Settings) -> pd.DataFrame:
    """This week's requests per area of the hot type, with the day's hot-spot alert text (a hot
    area, or the forecast's expected crossing) where there is one."""
    spots = _read(day_dir, "needs_hot_spots.csv")
    if spots.empty:
        return pd.DataFrame()
    spots = spots[spots["type"] == settings.needs.hot_type].copy()
    said = {a.get("subject"): a.get("message", "") for a in alerts if a.get("kind") == "needs"}
    pairs = zip(spots["type"], spots["product_area"], strict=True)
    spots["alert"] = [said.get(f"requirements/{t}/{a}", "") for t, a in pairs]
    return spots.sort_values(["requests", "product_area"], ascending=[False, True], ignore_index=True)


def hot_spot_chart(spots: pd.DataFrame, threshold: int) -> dict:
    """Requests in the last 7 days per area against the weekly threshold."""
    areas = spots["product_area"].astype(str).tolist()
    return {
        "data": [
            {
                "type": "bar",
                "name": "last 7 days",
                "x": areas,
                "y": spots["requests"].astype(float).tolist(),
                "marker": {"color": ["#c62828" if h else "#16324f" for h in spots["hot"]]},
            },
            {
                "type": "scatter",
                "mode": "lines",
                "name": f"high priority from {threshold} a week",
                "x": areas,
                "y": [threshold] * len(areas),
                "line": {"dash": "dot", "color": "#c62828"},
            },
        ],
        "layout": {"title": {"text": "Improvement requests this week per product area"}, "height": 300},
    }


def negative_rates(day_dir) -> pd.DataFrame:
    """The negative-feedback rate per area on the day (the last 24 h) and its usual rate."""
    return _read(day_dir, "feedback_negative_rates.csv")


def negative_rate_chart(rates: pd.DataFrame, limit: float) -> dict:
    """The day's negative rate and the area's usual rate against the domain's limit."""
    areas = rates["product_area"].astype(str).tolist()
    return {
        "data": [
            {"type": "bar", "name": "last 24 h", "x": areas, "y": rates["rate"].astype(float).tolist()},
            {
                "type": "bar",
                "name": "usual (12 weeks)",
                "x": areas,
                "y": rates["baseline_rate"].astype(float).tolist(),
                "marker": {"color": "#9aa5b1"},
            },
            {
                "type": "scatter",
                "mode": "lines",
                "name": f"alert above {limit:.0%}",
                "x": areas,
                "y": [limit] * len(areas),
                "line": {"dash": "dot", "color": "#c62828"},
            },
        ],
        "layout": {
            "title": {"text": "Negative feedback per product area"},
            "height": 300,
            "yaxis": {"tickformat": ".0%", "rangemode": "tozero"},
        },
    }


def class_mix(day_dir) -> pd.DataFrame:
    """The share of each feedback class per week beside the configured share."""
    return _read(day_dir, "feedback_class_mix.csv")


def class_mix_chart(mix: pd.DataFrame) -> dict:
    """Each class's weekly share over the stored weeks, with its configured share dotted."""
    data = []
    for cls, g in mix.groupby("text_class", sort=True):
        weeks = g["week_ending"].astype(str).str[:10].tolist()
        share = g["share"].tolist()
        data.append({"type": "scatter", "mode": "lines+markers", "name": cls, "x": weeks, "y": share})
        data.append(
            {
                "type": "scatter",
                "mode": "lines",
                "name": f"{cls} (expected)",
                "x": weeks,
                "y": g["expected"].tolist(),
                "line": {"dash": "dot", "width": 1},
                "showlegend": False,
            }
        )
    return {
        "data": data,
        "layout": {
            "title": {"text": "Feedback classes per week (dotted: expected share)"},
            "height": 320,
            "yaxis": {"tickformat": ".0%", "rangemode": "tozero"},
        },
    }
