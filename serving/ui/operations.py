"""What the planner and model pages show: volumes with intervals, staffing, KPIs, alerts, models."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from serving.ui.days import finished_days, read_csv, read_json

LEVELS = ("red", "orange", "yellow")
ACTUAL_DAYS = 56


def volume_chart(history: pd.DataFrame | None, forecast: pd.DataFrame, series_id: str) -> dict:
    """Actuals and the forecast with its interval for one series, as a plotly figure."""
    fc = forecast[forecast["series_id"] == series_id]
    data = []
    if history is not None and len(history):
        hist = history.tail(ACTUAL_DAYS)
        data.append(
            {
                "type": "scatter",
                "mode": "lines",
                "name": "actual",
                "x": pd.to_datetime(hist["ds"]).dt.strftime("%Y-%m-%d").tolist(),
                "y": hist["y"].astype(float).tolist(),
            }
        )
    x = pd.to_datetime(fc["ds"]).dt.strftime("%Y-%m-%d").tolist()
    data += [
        {
            "type": "scatter",
            "mode": "lines",
            "name": "upper",
            "x": x,
            "y": fc["yhat_upper"].tolist(),
            "line": {"width": 0},
            "showlegend": False,
        },
        {
            "type": "scatter",
            "mode": "lines",
            "name": "interval",
            "x": x,
            "y": fc["yhat_lower"].tolist(),
            "fill": "tonexty",
            "line": {"width": 0},
            "fillcolor": "rgba(31,119,180,0.2)",
        },
        {"type": "scatter", "mode": "lines+markers", "name": "forecast", "x": x, "y": fc["yhat"].tolist()},
    ]
    return {"data": data, "layout": {"title": {"text": series_id}, "height": 380}}


def staffing_heatmap(staffing: pd.DataFrame) -> dict:
    """Agents needed per channel (rows) and hour (columns) over the plan's 72 hours."""
    wide = staffing.pivot_table(index="channel", columns="ds", values="agents", aggfunc="sum")
    return {
        "data": [
            {
                "type": "heatmap",
                "x": [f"{pd.Timestamp(t):%a %d %H:00}" for t in wide.columns],
                "y": [str(c) for c in wide.index],
                "z": wide.fillna(0).astype(float).values.tolist(),
                "colorscale": "Blues",
                "colorbar": {"title": {"text": "agents"}},
            }
        ],
        "layout": {"title": {"text": "Agents needed per hour"}, "height": 340, "margin": {"l": 80, "b": 90}},
    }


def kpi_history(root: Path) -> pd.DataFrame:
    """The overall KPIs of every finished day, with the day."""
    frames = []
    for day in finished_days(root):
        k = read_csv(day, "kpis.csv")
        if k is not None:
            frames.append(k[k["scope"] == "overall"].assign(day=day.name))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def kpi_charts(history: pd.DataFrame) -> list[dict]:
    """One small chart per KPI with a target: its value over the stored days and the target."""
    charts = []
    for kpi, g in history.dropna(subset=["target"]).groupby("kpi", sort=False):
        charts.append(
            {
                "data": [
                    {
                        "type": "scatter",
                        "mode": "lines+markers",
                        "name": kpi,
                        "x": g["day"].tolist(),
                        "y": g["value"].astype(float).tolist(),
                    },
                    {
                        "type": "scatter",
                        "mode": "lines+markers",
                        "name": "target",
                        "x": g["day"].tolist(),
                        "y": g["target"].astype(float).tolist(),
                        "line": {"dash": "dot"},
                        "marker": {"symbol": "line-ew-open", "size": 14},
                    },
                ],
                "layout": {
                    "title": {"text": kpi},
                    "height": 240,
                    "showlegend": False,
                    "xaxis": {"type": "category"},  # one point per stored day, not a time axis
                    "margin": {"l": 50, "r": 10, "t": 40, "b": 40},
                },
            }
        )
    return charts


def alerts_by_level(alerts: list[dict]) -> list[tuple[str, list[dict]]]:
    """The day's alerts grouped red, orange, yellow (then any other level)."""
    levels = list(LEVELS) + sorted({a.get("level", "") for a in alerts} - set(LEVELS))
    return [(lv, [a for a in alerts if a.get("level") == lv]) for lv in levels]


def drift_history(root: Path) -> list[dict]:
    """Share of drifted features and prediction drift on every finished day."""
    out = []
    for day in finished_days(root):
        d = read_json(day, "drift.json")
        if d is not None:
            out.append(
                {
                    "day": day.name,
                    "share_drifted": d.get("share_drifted"),
                    "prediction_drift": d.get("prediction_drift"),
                    "drifted_features": ", ".join(d.get("drifted_features", [])[:6]),
                    "report": (day / "drift.html").exists(),
                }
            )
    return out


def decay_history(root: Path) -> list[dict]:
    """Realised quality of earlier lists (decay.csv) and forecasts (forecast_decay.csv)."""
    rows = []
    for day in finished_days(root):
        for name, task in (("decay.csv", "churn"), ("forecast_decay.csv", "volume")):
            frame = read_csv(day, name)
            if frame is not None:
                rows += [{"day": day.name, "task": task, **r} for r in frame.to_dict("records")]
    return rows
