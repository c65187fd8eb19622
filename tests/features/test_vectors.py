import numpy as np
import pandas as pd
import pytest

from features.contract import EventData
from features.generate import generate_sample
from features.vectors import add_population_features, build_vectors, customer_vectors
from tests.features.reference_impl import reference_vectors


@pytest.mark.parametrize("seed", [11, 12, 13])
def test_matches_independent_implementation(settings, seed):
    events = generate_sample(settings, customers=120, days=300, seed=seed).events
    as_of = str((events.last_event_ts() - pd.Timedelta(days=40)).date())
    fast = build_vectors(events, as_of, settings).set_index("customer_id")
    slow = reference_vectors(events, as_of, settings).set_index("customer_id")
    assert list(fast.index) == list(slow.index)
    for col in slow.columns:
        np.testing.assert_allclose(
            fast[col].to_numpy(float), slow[col].to_numpy(float), rtol=1e-9, err_msg=col
        )


def _truncate(events: EventData, as_of: str) -> EventData:
    """What the company's database looked like at the end of D: later events and facts blanked."""
    cutoff = pd.Timestamp(as_of) + pd.Timedelta(days=1)
    out = {}
    for name, df in events.tables().items():
        df = df.copy()
        if name == "customers":
            df = df[df["signup_ts"] < cutoff]
            df.loc[df["churn_ts"] >= cutoff, "churn_ts"] = pd.NaT
        else:
            df = df[df["ts"] < cutoff].copy()
        if name == "tickets":
            for col in ("first_response_ts", "resolved_ts", "reopened_ts"):
                late = df[col] >= cutoff
                df.loc[late, col] = pd.NaT
                if col == "resolved_ts":
                    df.loc[late, "csat"] = np.nan
        if name == "contacts":
            late = df["responded_ts"] >= cutoff
            df.loc[late, "responded_ts"] = pd.NaT
            df.loc[late, "unsubscribed"] = False
        if name == "requirements":
            late = df["resolved_ts"] >= cutoff
            df.loc[late, "resolved_ts"] = pd.NaT
            df.loc[late, "status"] = "in_progress"  # the status as it was on D
        out[name] = df.reset_index(drop=True)
    return EventData(**out)


@pytest.mark.parametrize("seed", [21, 22])
@pytest.mark.parametrize("days_back", [10, 95])
def test_point_in_time_truncation_gives_identical_vectors(settings, seed, days_back):
    events = generate_sample(settings, customers=400, days=300, seed=seed).events
    as_of = str((events.last_event_ts() - pd.Timedelta(days=days_back)).date())
    full = build_vectors(events, as_of, settings)
    known = build_vectors(_truncate(events, as_of), as_of, settings)
    pd.testing.assert_frame_equal(full, known)


def test_vectors_shape_and_types(sample, settings):
    as_of = str((sample.events.last_event_ts() - pd.Timedelta(days=30)).date())
    v = build_vectors(sample.events, as_of, settings)
    assert v.columns[0] == "customer_id" and v["customer_id"].is_unique
    assert v["value_tier"].dtype == "category"
    assert set(v["value_tier"].unique()) == {"top", "potential", "reactivate"}
    assert (v["annual_value"] >= 0).all()
    for prefix in ("usage_", "tickets_", "req_", "nps_", "rfm_", "spend_"):
        assert any(c.startswith(prefix) for c in v.columns), prefix


def test_transaction_only_data(settings, sample):
    events = EventData(customers=sample.events.customers, transactions=sample.events.transactions)
    v = build_vectors(events, str(events.last_event_ts().date()), settings)
    assert "spend_30d" in v and "tickets_open" not in v


def test_usage_drop_rule(settings):
    customers = pd.DataFrame(
        {
            "customer_id": ["A", "B"],
            "signup_ts": pd.to_datetime(["2025-01-01"] * 2),
            "segment": "x",
            "region_tier": "tier1",
            "plan": "basic",
            "monthly_fee": 10.0,
            "churn_ts": pd.NaT,
        }
    )
    days = pd.to_datetime(["2025-03-01", "2025-03-02", "2025-03-03", "2025-03-04"]) + pd.Timedelta(hours=9)
    usage = pd.DataFrame(
        {
            "customer_id": ["A"] * 4 + ["B"] * 4,
            "ts": list(days) * 2,
            "sessions": 1.0,
            "minutes": [100, 70, 50, 30, 100, 70, 60, 30],
        }  # B falls only 14% on the third day
    )
    v = build_vectors(EventData(customers=customers, usage=usage), "2025-03-04", settings).set_index(
        "customer_id"
    )
    assert v.loc["A", "usage_drop_flag"] == 1.0
    assert v.loc["B", "usage_drop_flag"] == 0.0


def test_partitions_then_one_population_pass_equal_the_whole(sample, settings):
    events = sample.events
    as_of = (events.last_event_ts() - pd.Timedelta(days=30)).normalize()
    whole = build_vectors(events, as_of, settings)
    ids = events.customers["customer_id"]
    parts = []
    for k in range(3):
        mine = set(ids[ids.str[-6:].astype(int) % 3 == k])
        tables = {n: df[df["customer_id"].isin(mine)] for n, df in events.tables().items()}
        parts.append(customer_vectors(EventData(**tables), as_of, settings))
    assert all(len(p) < len(whole) for p in parts)
    merged = add_population_features(pd.concat(parts, ignore_index=True), settings)
    merged = merged.set_index("customer_id").loc[whole["customer_id"]].reset_index()
    pd.testing.assert_frame_equal(merged[whole.columns], whole, check_categorical=False)
