import numpy as np
import pandas as pd
import pytest

from serving.targeting import assign_groups, budget_priority, contacts_for_day, fill_budget

DAY = pd.Timestamp("2026-11-20")


def _scored(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    p = rng.beta(1.2, 4, n)
    tier = np.select([p >= 0.5, p >= 0.3, p >= 0.15], ["red", "orange", "yellow"], "green")
    value_tier = rng.choice(["top", "potential", "reactivate"], n, p=[0.18, 0.42, 0.40])
    value = rng.lognormal(6, 1, n)
    channel = np.where(value_tier == "top", "dedicated_agent+messaging_app", "messaging_app+sms")
    return pd.DataFrame(
        {
            "customer_id": [f"C{i:06d}" for i in range(n)],
            "churn_probability": p,
            "risk_tier": tier,
            "value_tier": value_tier,
            "value_at_risk": p * value,
            "action": rng.choice(["service_upgrade", "promotion", "feature_adoption"], n),
            "channel": channel,
        }
    )


def _history(scored: pd.DataFrame) -> pd.DataFrame:
    ids = scored["customer_id"]
    rows = []
    for c in ids[:50]:  # already contacted twice today
        rows += [
            (c, DAY + pd.Timedelta(hours=9), "sms", None, False),
            (c, DAY + pd.Timedelta(hours=10), "sms", None, False),
        ]
    for c in ids[50:100]:  # unsubscribed from sms two weeks ago
        rows.append((c, DAY - pd.Timedelta(days=14), "sms", DAY - pd.Timedelta(days=13), True))
    for c in ids[100:150]:  # three unanswered contacts, the last 5 days ago
        rows += [(c, DAY - pd.Timedelta(days=d), "messaging_app", None, False) for d in (25, 15, 5)]
    for c in ids[150:200]:  # three unanswered contacts, the last 40 days ago: the gap has passed
        rows += [(c, DAY - pd.Timedelta(days=d), "messaging_app", None, False) for d in (60, 50, 40)]
    frame = pd.DataFrame(rows, columns=["customer_id", "ts", "channel", "responded_ts", "unsubscribed"])
    frame["responded_ts"] = pd.to_datetime(frame["responded_ts"])
    frame["group"] = "treatment"
    frame["action"] = "promotion"
    frame["cost"] = 0.2
    return frame


@pytest.fixture(scope="module")
def settings(settings):
    """A budget that lists a few hundred of these 6,000 customers, so list shares are not noise."""
    retention = settings.retention.model_copy(update={"daily_budget_cny": 500.0})
    return settings.model_copy(update={"retention": retention})


@pytest.fixture(scope="module")
def scored():
    return _scored(6000)


@pytest.fixture(scope="module")
def targeted(scored, settings):
    return assign_groups(scored, _history(scored), DAY, settings)


def test_control_share_per_tier_is_within_two_points(targeted, settings):
    eligible = targeted[targeted["group"].notna()]
    for tier, rows in eligible.groupby("risk_tier"):
        share = (rows["group"] == "control").mean()
        assert abs(share - settings.retention.control_share) <= 0.02, tier
    listed = targeted[targeted["listed"]]
    assert abs((listed["group"] == "control").mean() - settings.retention.control_share) <= 0.05


def test_reruns_give_identical_groups_and_another_day_differs(scored, targeted, settings):
    again = assign_groups(scored, _history(scored), DAY, settings)
    pd.testing.assert_frame_equal(targeted, again)
    other = assign_groups(scored, _history(scored), DAY + pd.Timedelta(days=1), settings)
    merged = targeted.merge(other, on="customer_id")
    both = merged["group_x"].notna() & merged["group_y"].notna()
    assert (merged.loc[both, "group_x"] != merged.loc[both, "group_y"]).any()


def test_contact_limits(scored, targeted, settings):
    r = settings.retention
    by_id = targeted.set_index("customer_id")
    capped = by_id.loc[scored["customer_id"][:50]]
    assert (capped["skip_reason"] == "daily_cap").all() and not capped["listed"].any()
    unsub = by_id.loc[scored["customer_id"][50:100]]
    assert not unsub["channel"].str.contains("sms").any()
    backoff = by_id.loc[scored["customer_id"][100:150]]
    assert (backoff["skip_reason"] == "no_response_backoff").all()
    gap_passed = by_id.loc[scored["customer_id"][150:200]]
    assert not (gap_passed["skip_reason"] == "no_response_backoff").any()
    # Nobody, counting today's earlier contacts, gets more than the daily cap.
    history = _history(scored)
    today = history[history["ts"].dt.normalize() == DAY].groupby("customer_id").size()
    new = contacts_for_day(targeted, DAY)
    new = new[new["group"] == "treatment"].groupby("customer_id").size()
    total = new.add(today, fill_value=0)
    assert total.max() <= r.max_contacts_per_day


def test_budget_and_expected_saved_value(targeted, settings):
    treated = targeted[targeted["listed"] & (targeted["group"] == "treatment")]
    assert 0 < treated["contact_cost"].sum() <= settings.retention.daily_budget_cny
    assert (targeted.loc[targeted["listed"], "expected_saved_value"] > 0).all()
    # The list takes the highest expected saved value per CNY first: a customer skipped for budget
    # either is worth less per CNY than every listed treated one, or did not fit in what was left.
    per_cny = budget_priority(targeted["expected_saved_value"], targeted["contact_cost"])
    skipped = (targeted["skip_reason"] == "budget") & (targeted["group"] == "treatment")
    left = settings.retention.daily_budget_cny - treated["contact_cost"].sum()
    worth_more = per_cny[skipped.to_numpy()] > per_cny[treated.index].min()
    assert (targeted.loc[skipped, "contact_cost"][worth_more] > left).all()
    control = targeted[targeted["group"] == "control"]
    assert control["action"].isna().all() and control["planned_action"].notna().all()


def test_contact_rows_follow_the_contract(targeted, scored, settings):
    from features.validate import validate_tables

    rows = contacts_for_day(targeted, DAY)
    customers = pd.DataFrame(
        {"customer_id": scored["customer_id"], "signup_ts": DAY - pd.Timedelta(days=400)}
    )
    report = validate_tables(
        {
            "customers": customers,
            "contacts": rows.astype({"ts": str}),
            "usage": pd.DataFrame(
                {"customer_id": ["C000000"], "ts": [str(DAY)], "sessions": [1], "minutes": [1]}
            ),
        }
    )
    assert report.ok, report.problems[:3]
    assert set(rows["group"]) == {"treatment", "control"}
    assert rows.loc[rows["group"] == "control", "action"].notna().all()


def test_the_budget_goes_to_saved_value_per_cny():
    # One agent call worth 30 (12 CNY) against ten messages worth 5 each (0.8 CNY): with 12 CNY the
    # messages save more; a contact that no longer fits is skipped, a cheaper one after it still fits.
    esv = np.array([30.0] + [5.0] * 10 + [-1.0])
    cost = np.array([12.0] + [0.8] * 10 + [0.2])
    taken = fill_budget(budget_priority(esv, cost), cost, 12.0)
    assert taken[1:11].all() and not taken[0] and not taken[11]
    free = fill_budget(budget_priority(esv, cost), cost, 12.0, spends=np.zeros(12, bool))
    assert free[:11].all() and not free[11]  # controls take their places without spending


def test_the_uplift_estimate_sees_the_channel_the_rules_allow(scored, settings):
    # An estimate that says SMS saves nobody: customers unsubscribed from SMS are estimated on the app.
    seen = []

    def estimate(frame: pd.DataFrame) -> pd.DataFrame:
        seen.append(frame["channel"].copy())
        return frame.assign(saved_probability=np.where(frame["channel"].str.startswith("sms"), 0.0, 0.05))

    sms_first = scored.assign(channel="sms+messaging_app")
    out = assign_groups(sms_first, _history(scored), DAY, settings, uplift=estimate)
    unsub = out.set_index("customer_id").loc[scored["customer_id"][50:100]]
    assert (unsub["channel"] == "messaging_app").all() and (unsub["saved_probability"] == 0.05).all()
    others = out.set_index("customer_id").loc[scored["customer_id"][200:]]
    assert (others["saved_probability"] == 0.0).all() and not others["listed"].any()
    assert len(seen) == 1
