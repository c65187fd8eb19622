"""Agents needed per interval (Erlang C) for the next 72 hours of forecast contacts."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from core.config import Settings

CHANNEL_GROUP = {"phone": "phone", "app": "online", "website": "online", "social": "social"}


def erlang_c_wait_probability(traffic: float, agents: int) -> float:
    """Probability that a contact waits (Erlang C), via the stable Erlang B recursion."""
    if agents <= traffic:
        return 1.0
    b = 1.0
    for n in range(1, agents + 1):
        b = traffic * b / (n + traffic * b)
    return agents * b / (agents - traffic * (1 - b))


def service_level(traffic: float, agents: int, aht_seconds: float, answer_within_seconds: float) -> float:
    if agents <= traffic:
        return 0.0
    pw = erlang_c_wait_probability(traffic, agents)
    return 1 - pw * math.exp(-(agents - traffic) * answer_within_seconds / aht_seconds)


def erlang_c_agents(
    calls_per_interval: float,
    interval_seconds: float,
    aht_seconds: float,
    service_level_target: float = 0.8,
    answer_within_seconds: float = 20,
) -> int:
    """The fewest agents that answer `service_level_target` of contacts within the threshold."""
    if calls_per_interval <= 0:
        return 0
    traffic = calls_per_interval * aht_seconds / interval_seconds  # Erlangs
    n = max(1, math.floor(traffic) + 1)
    while service_level(traffic, n, aht_seconds, answer_within_seconds) < service_level_target:
        n += 1
    return n


def hourly_profile(hourly_history: pd.DataFrame) -> pd.DataFrame:
    """Share of a day's contacts per hour, by weekday: (dow, hour, share)."""
    h = hourly_history.assign(dow=hourly_history["ds"].dt.dayofweek, hour=hourly_history["ds"].dt.hour)
    g = h.groupby(["dow", "hour"])["y"].sum()
    share = (g / g.groupby("dow").transform("sum")).rename("share").reset_index()
    return share


def hourly_from_daily(daily_forecast: pd.DataFrame, profile: pd.DataFrame) -> pd.DataFrame:
    """Split daily forecasts (ds, yhat, ...) into hours with the weekday x hour profile."""
    rows = daily_forecast.assign(dow=daily_forecast["ds"].dt.dayofweek).merge(profile, on="dow")
    rows["ds"] = rows["ds"] + pd.to_timedelta(rows["hour"], unit="h")
    rows["calls"] = rows["yhat"] * rows["share"]
    return rows.drop(columns=["dow", "hour", "share"]).sort_values("ds").reset_index(drop=True)


def staffing_plan(hourly_forecast: pd.DataFrame, settings: Settings) -> pd.DataFrame:
    """Agents per hour and channel group for the next `horizon_hours`.

    Args:
        hourly_forecast: columns ds, channel, calls.
    """
    cfg = settings.staffing
    start = hourly_forecast["ds"].min()
    f = hourly_forecast[hourly_forecast["ds"] < start + pd.Timedelta(hours=cfg.horizon_hours)].copy()
    f["group"] = f["channel"].map(CHANNEL_GROUP).fillna(f["channel"])
    g = f.groupby(["ds", "group"], as_index=False)["calls"].sum()
    aht = g["group"].map(cfg.handle_time_seconds).fillna(np.mean(list(cfg.handle_time_seconds.values())))
    agents = [
        erlang_c_agents(c, 3600, a, cfg.service_level, cfg.answer_within_seconds)
        for c, a in zip(g["calls"], aht, strict=True)
    ]
    g["aht_seconds"] = aht.to_numpy()
    g["agents"] = agents
    g["service_level"] = [
        round(service_level(c * a / 3600, n, a, cfg.answer_within_seconds), 4) if n else 1.0
        for c, a, n in zip(g["calls"], aht, agents, strict=True)
    ]
    g["headcount"] = np.ceil(g["agents"] / (1 - cfg.shrinkage)).astype(int)
    g["calls"] = g["calls"].round(2)
    return g.rename(columns={"group": "channel"})
