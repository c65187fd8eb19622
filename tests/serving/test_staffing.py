import math

import pandas as pd
import pytest

from serving.staffing import (
    erlang_c_agents,
    erlang_c_wait_probability,
    hourly_from_daily,
    service_level,
    staffing_plan,
)


def _erlang_c_by_factorials(a: float, n: int) -> float:
    top = a**n / math.factorial(n) * n / (n - a)
    return top / (sum(a**k / math.factorial(k) for k in range(n)) + top)


def test_textbook_example():
    # 100 calls in 30 minutes, 3-minute handle time: 10 Erlangs; 80% in 20 s needs 14 agents.
    assert erlang_c_wait_probability(10, 13) == pytest.approx(0.2853, abs=1e-4)
    assert service_level(10, 13, 180, 20) < 0.8 <= service_level(10, 14, 180, 20)
    assert erlang_c_agents(100, 1800, 180, 0.8, 20) == 14
    for a, n in ((2.5, 4), (10, 12), (42.0, 50)):
        assert erlang_c_wait_probability(a, n) == pytest.approx(_erlang_c_by_factorials(a, n), rel=1e-9)
    assert erlang_c_agents(0, 3600, 300) == 0


def test_plan_for_72_hours(settings):
    daily = pd.DataFrame({"ds": pd.date_range("2026-11-24", periods=4), "yhat": [240.0, 240, 120, 120]})
    profile = pd.DataFrame(
        {"dow": [d for d in range(7) for _ in range(24)], "hour": list(range(24)) * 7, "share": 1 / 24}
    )
    hourly = hourly_from_daily(daily, profile).assign(channel="phone")
    assert hourly["calls"].sum() == pytest.approx(720)
    plan = staffing_plan(hourly, settings)
    assert len(plan) == 72 and plan["ds"].max() == pd.Timestamp("2026-11-26 23:00")
    assert (plan["service_level"] >= 0.8).all() and (plan["headcount"] >= plan["agents"]).all()
