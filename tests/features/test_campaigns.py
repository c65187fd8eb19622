import json

import numpy as np
import pandas as pd
import pytest

from features.aggregate import Events
from features.campaigns import write_truth
from features.contacts import contact_features
from features.generate import generate_sample
from features.validate import validate_tables


def test_same_seed_same_contacts_and_truth(settings, tmp_path):
    a = generate_sample(settings, customers=300, days=200, seed=5)
    b = generate_sample(settings, customers=300, days=200, seed=5)
    assert len(a.events.contacts) > 50
    assert a.events.contacts.to_csv(index=False) == b.events.contacts.to_csv(index=False)
    write_truth(a.effects, tmp_path / "a")
    write_truth(b.effects, tmp_path / "b")
    assert (tmp_path / "a" / "_truth.json").read_bytes() == (tmp_path / "b" / "_truth.json").read_bytes()
    truth = json.loads((tmp_path / "a" / "_truth.json").read_text())
    assert truth["horizon_days"] == settings.retention.effect_horizon_days
    assert set(truth["effect"]) == set(truth["effect_by_tier"]) and truth["effect"]["service_upgrade"] < 0


def test_generated_contacts_follow_the_contract(sample):
    c = sample.events.contacts
    report = validate_tables(
        {"customers": sample.events.customers, "contacts": c, "usage": sample.events.usage}
    )
    assert report.ok, report.problems[:3]
    assert set(c["group"]) == {"treatment", "control"}
    assert (c.loc[c["group"] == "control", "cost"] == 0).all()
    # A churned customer is never contacted after churning.
    churn = c["customer_id"].map(sample.events.customers.set_index("customer_id")["churn_ts"])
    assert not (c["ts"].dt.normalize() > churn).any()


def test_bad_contact_rows_name_row_column_and_reason(sample):
    c = sample.events.contacts.head(5).copy()
    c.loc[1, "group"] = "holdout"
    c.loc[2, "unsubscribed"] = True
    c.loc[2, "responded_ts"] = pd.NaT
    c.loc[3, "responded_ts"] = c.loc[3, "ts"] - pd.Timedelta(days=1)
    report = validate_tables(
        {"customers": sample.events.customers, "contacts": c, "usage": sample.events.usage}
    )
    messages = {str(p) for p in report.problems}
    assert "contacts, row 2, column group: 'holdout' must be one of treatment, control" in messages
    assert (
        "contacts, row 3, column responded_ts: unsubscribed is true but responded_ts is missing" in messages
    )
    assert any(
        m.startswith("contacts, row 4, column responded_ts:") and "is before ts" in m for m in messages
    )


def _reference(contacts: pd.DataFrame, customer: str, cutoff: pd.Timestamp) -> dict:
    """A plain loop over one customer's contacts known at the cutoff."""
    rows = contacts[
        (contacts.customer_id == customer) & (contacts.ts < cutoff) & (contacts.group == "treatment")
    ]
    rows = rows.sort_values("ts")
    out = {f"contacts_{w}d": float((rows.ts >= cutoff - pd.Timedelta(days=w)).sum()) for w in (7, 30, 90)}
    out["contact_days_since_last"] = (cutoff - rows.ts.max()) / pd.Timedelta(days=1) if len(rows) else np.nan
    streak, unsub = 0, set()
    for r in rows.itertuples():
        answered = not pd.isna(r.responded_ts) and r.responded_ts < cutoff
        streak = 0 if answered else streak + 1
        if answered and r.unsubscribed:
            unsub.add(r.channel)
    out["contact_unanswered_streak"] = float(streak)
    out["contact_unsubscribed_channels"] = float(len(unsub))
    return out


@pytest.mark.parametrize("seed", [3, 4])
def test_contact_features_match_a_plain_loop(settings, seed):
    events = generate_sample(settings, customers=800, days=400, seed=seed).events
    contacts = events.contacts.copy()
    # More answers and unsubscriptions than the sample has, so every branch is exercised.
    rng = np.random.default_rng(seed)
    treated = contacts["group"] == "treatment"
    answer = treated & (rng.random(len(contacts)) < 0.4)
    contacts.loc[answer, "responded_ts"] = contacts.loc[answer, "ts"] + pd.Timedelta(days=2)
    contacts.loc[answer, "unsubscribed"] = rng.random(answer.sum()) < 0.3
    cutoff = contacts["ts"].max().normalize() - pd.Timedelta(days=20)
    ids = pd.Index(sorted(contacts["customer_id"].unique())[:150])
    fast = contact_features(Events.of(contacts, ids, cutoff), cutoff)
    for i, customer in enumerate(ids):
        slow = _reference(contacts, customer, cutoff)
        for key, value in slow.items():
            np.testing.assert_allclose(fast[key][i], value, err_msg=f"{customer} {key}")


def test_per_action_truth_is_the_simulation_s_own(settings):
    s = generate_sample(settings, customers=600, days=300, seed=6)
    truth = s.events.contacts[["contact_id", "action"]].merge(s.contact_truth, on="contact_id")
    own = [getattr(r, f"p_treated_{r.action}") for r in truth.itertuples()]
    np.testing.assert_allclose(own, truth["p_treated"])  # the action given is one of the columns
    # A service upgrade helps the customers whose hazard comes from slow tickets: its effect varies.
    upgrade = truth["p_untreated"] - truth["p_treated_service_upgrade"]
    assert upgrade.max() > 0.01 and upgrade.std() > 0.002
    assert (truth[[c for c in truth if c.startswith("p_treated_")]] <= 1).all().all()
