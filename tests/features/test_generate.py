import hashlib

import pandas as pd

from features.generate import CAUSES, generate_sample
from features.load import write_event_data


def _digest(folder) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def test_same_seed_same_bytes(settings, tmp_path):
    for name in ("a", "b"):
        write_event_data(generate_sample(settings, customers=300, days=200, seed=3).events, tmp_path / name)
    assert _digest(tmp_path / "a") == _digest(tmp_path / "b")
    write_event_data(generate_sample(settings, customers=300, days=200, seed=4).events, tmp_path / "c")
    assert _digest(tmp_path / "a") != _digest(tmp_path / "c")


def test_domain_mixes(settings):
    events = generate_sample(settings, customers=4000, days=365, seed=1).events
    channel = events.tickets["channel"].value_counts(normalize=True)
    assert abs(channel[["app", "website"]].sum() - 0.65) < 0.02
    assert abs(channel["phone"] - 0.25) < 0.02
    category = events.tickets["category"].value_counts(normalize=True)
    for name, share in settings.tickets.category_mix.items():
        assert abs(category[name] - share) < 0.03, name


def test_promotions_raise_logistics_complaints(settings):
    t = generate_sample(settings, customers=4000, days=365, seed=1).events.tickets
    md = t["ts"].dt.strftime("%m-%d")
    promo = (md >= "11-01") & (md <= "11-11")
    logistics = t["category"] == "logistics_delay"
    days = t["ts"].dt.normalize()
    per_day = logistics.groupby(days).sum().groupby(promo.groupby(days).first()).mean()
    assert 2.2 < per_day[True] / per_day[False] < 4  # "rise by 200%" in promotion seasons


def test_no_event_after_churn_and_truth_is_consistent(sample):
    ev, truth = sample.events, sample.truth
    churn = ev.customers.set_index("customer_id")["churn_ts"]
    for name, df in ev.tables().items():
        if name != "customers":
            after = df["ts"] > df["customer_id"].map(churn)
            assert not after.any(), name
    assert truth["churned"].sum() == ev.customers["churn_ts"].notna().sum()
    assert set(truth.loc[truth["churned"], "churn_cause"]) <= set(CAUSES)


def test_value_pyramid(settings):
    tx = generate_sample(settings, customers=4000, days=365, seed=2).events.transactions
    spend = tx.groupby("customer_id")["amount"].sum().sort_values(ascending=False)
    top = spend.head(int(len(spend) * 0.18)).sum() / spend.sum()
    assert 0.5 < top < 0.75  # domain: the top ~18% hold ~62%


def test_requirement_status_matches_timestamps(sample):
    r = sample.events.requirements
    closed = r["status"].isin(["resolved", "rejected"])
    assert (closed == r["resolved_ts"].notna()).all()
    assert pd.api.types.is_datetime64_dtype(r["ts"])
