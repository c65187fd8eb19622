import pandas as pd
import pytest

from core.errors import DataError
from features.contract import EventData
from features.labels import build_training_frame, churn_labels, default_cutoffs


def test_labels_follow_churn_ts(sample):
    ev = sample.events
    as_of = ev.last_event_ts() - pd.Timedelta(days=60)
    labels = churn_labels(ev, as_of, 30)
    start = as_of.normalize() + pd.Timedelta(days=1)
    expected = {
        c.customer_id: int(start <= c.churn_ts < start + pd.Timedelta(days=30))
        for c in ev.customers.itertuples()
        if c.signup_ts < start and not (c.churn_ts < start)
    }
    assert labels.to_dict() == expected


def test_inactivity_labels_without_churn_ts(sample):
    customers = sample.events.customers.assign(churn_ts=pd.NaT)
    ev = EventData(customers=customers, transactions=sample.events.transactions)
    as_of = ev.last_event_ts() - pd.Timedelta(days=60)
    labels = churn_labels(ev, as_of, 30)
    start = as_of.normalize() + pd.Timedelta(days=1)
    tx = ev.transactions
    buyers = set(tx.loc[(tx.ts >= start) & (tx.ts < start + pd.Timedelta(days=30)), "customer_id"])
    assert labels.to_dict() == {i: int(i not in buyers) for i in labels.index}


def test_no_label_window_past_the_data_end(sample, settings):
    ev = sample.events
    cutoffs = default_cutoffs(ev, horizon_days=30, every_days=30, n=20)
    end = ev.last_event_ts().normalize()
    assert all(c + pd.Timedelta(days=30) <= end for c in cutoffs)
    assert cutoffs == sorted(cutoffs) and len(cutoffs) > 3
    frame = build_training_frame(ev, settings, cutoffs[-3:], 30)
    assert list(frame.columns[:2]) == ["customer_id", "cutoff"] and frame.columns[-1] == "churned"
    assert not frame.duplicated(["cutoff", "customer_id"]).any()
    assert frame["churned"].isin([0, 1]).all()


def test_too_short_data_is_a_clear_error(sample):
    with pytest.raises(DataError, match="too short for a 900-day label window"):
        default_cutoffs(sample.events, horizon_days=900, every_days=30, n=4)
