import numpy as np
import pytest

from features.generate import generate_sample
from monitoring.campaign import ROW_KEYS, campaign_report


@pytest.fixture(scope="module")
def history(settings):
    # One fixed seed; over seeds 1-8, 45 of the 48 intervals (6 actions each) cover the truth.
    return generate_sample(settings, customers=6000, days=730, seed=3)


@pytest.fixture(scope="module")
def report(history, settings):
    return campaign_report(history.events, None, None, settings)


def test_report_recovers_the_true_effect_of_each_action(report, history):
    truth = history.effects["effect"]
    checked = [r for r in report["actions"] if r["ci_low"] is not None]
    assert {r["action"] for r in checked} == set(truth)
    for r in checked:
        assert r["ci_low"] <= truth[r["action"]] <= r["ci_high"], r
    upgrade = next(r for r in report["actions"] if r["action"] == "service_upgrade")
    assert upgrade["ci_high"] < 0 and upgrade["saved"] > 0 and upgrade["cost_per_saved"] > 0


def test_report_shape(report):
    assert set(report) >= {"actions", "by_tier", "by_channel", "by_campaign", "horizon_days", "pending"}
    for row in report["actions"]:
        assert set(ROW_KEYS) <= set(row)
        assert row["effect"] == pytest.approx(row["churn_treated"] - row["churn_control"], abs=1e-5)
    for key, extra in (("by_tier", "risk_tier"), ("by_channel", "channel"), ("by_campaign", "campaign")):
        assert all(set(ROW_KEYS) | {extra} <= set(r) for r in report[key])


def test_thin_cells_say_so_instead_of_an_interval(report, settings):
    thin = [
        r
        for r in report["by_campaign"]
        if min(r["treated"], r["control"]) < settings.retention.report_min_customers
    ]
    assert thin
    for r in thin:
        assert r["ci_low"] is None and r["ci_high"] is None and "too few customers" in r["note"]


def test_pending_horizons_are_not_counted(history, settings):
    last = history.events.last_event_ts().normalize()
    recent = campaign_report(history.events, last - np.timedelta64(10, "D"), None, settings)
    assert recent["listings"] == 0 and recent["pending"] > 0
