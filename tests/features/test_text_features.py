"""Text features: counts against a plain loop, point in time, and the generator's texts."""

from __future__ import annotations

import pandas as pd
import pytest

from features.generate import generate_sample
from features.vectors import build_vectors


def plain(sample, as_of: pd.Timestamp, settings) -> pd.DataFrame:
    end = as_of + pd.Timedelta(days=1)
    rows = {}
    for r in sample.events.feedback.itertuples():
        if r.ts < end and r.text_sentiment == "negative":
            d = rows.setdefault(r.customer_id, {"n30": 0, "n90": 0, "c30": 0, "open": 0})
            age = (end - r.ts) / pd.Timedelta(days=1)
            d["n30"] += age <= 30
            d["n90"] += age <= 90
    for r in sample.events.tickets.itertuples():
        if r.ts < end and r.text_class == settings.needs.complaint_class:
            d = rows.setdefault(r.customer_id, {"n30": 0, "n90": 0, "c30": 0, "open": 0})
            d["c30"] += (end - r.ts) / pd.Timedelta(days=1) <= 30
            d["open"] += not (pd.notna(r.first_response_ts) and r.first_response_ts < end)
    return pd.DataFrame.from_dict(rows, orient="index")


@pytest.mark.parametrize("back", [0, 45, 120])
def test_text_features_match_a_plain_loop_and_ignore_the_future(sample, settings, back):
    as_of = (sample.events.last_event_ts() - pd.Timedelta(days=back)).normalize()
    v = build_vectors(sample.events, as_of, settings).set_index("customer_id")
    want = plain(sample, as_of, settings).reindex(v.index).fillna(0)
    assert (v["feedback_negative_30d"] == want["n30"]).all()
    assert (v["feedback_negative_90d"] == want["n90"]).all()
    assert (v["complaints_30d"] == want["c30"]).all()
    assert (v["complaints_unanswered"] == want["open"]).all()
    assert v["complaints_30d"].sum() > 0
    cats = [c for c in v if c.startswith("complaints_") and c.endswith("_30d") and c != "complaints_30d"]
    assert (v[cats].sum(axis=1) == v["complaints_30d"]).all()


def test_generated_texts_are_bilingual_labelled_and_reproducible(settings, sample):
    fb = sample.events.feedback
    assert fb["text"].notna().all() and fb["product_area"].notna().all()
    assert fb["text"].str.contains(r"[\u4e00-\u9fff]").mean() > 0.4
    assert fb["text"].str.contains(r"^[\x00-\x7f]+$").mean() > 0.25
    assert set(fb["text_class"]) == set(settings.tickets.feedback_mix)
    shares = fb["text_class"].value_counts(normalize=True)
    for cls, share in settings.tickets.feedback_mix.items():
        assert abs(shares[cls] - share) < 0.05
    again = generate_sample(settings, customers=600, days=400, seed=7).events
    pd.testing.assert_frame_equal(again.feedback, fb)
    pd.testing.assert_frame_equal(again.tickets, sample.events.tickets)


def test_reasons_name_complaints(settings):
    from serving.playbook import describe

    assert (
        describe("complaints_logistics_delay_30d", 2.0)
        == "2 complaints about logistics delay in the last 30 days"
    )
    assert describe("feedback_negative_90d", 3.0) == "3 negative feedback texts in the last 90 days"
    assert describe("complaints_unanswered", 1.0) == "1 complaint still without an answer"
