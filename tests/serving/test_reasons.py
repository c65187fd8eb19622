import numpy as np
import pandas as pd
import pytest

from serving.explain import top_facts
from serving.reasons import describe, fact, template
from tests.serving.reason_checks import problems


@pytest.mark.parametrize(
    ("feature", "value", "text"),
    [
        ("rfm_monetary_180d", 211.33999999999997, "spent 211 in the last 180 days"),
        ("spend_total", 0.0, "spent nothing so far"),
        ("txn_count_30d", 1.0, "1 purchase in the last 30 days"),
        ("txn_count_30d", 0.0, "no purchases in the last 30 days"),
        ("txn_count_total", 12.0, "12 purchases in total"),
        ("txn_recency_vs_gap", float("inf"), "bought only on a single day so far"),
        ("txn_recency_vs_gap", float("nan"), "bought only once so far"),
        (
            "txn_recency_vs_gap",
            2.345,
            "2.3 times the usual time between purchases has passed since the last one",
        ),
        ("rfm_recency_days", 454.5, "last purchase 454 days ago"),
        ("rfm_recency_days", 1.5, "last purchase yesterday"),
        ("days_since_last_activity", 1.2, "no activity for 1 day"),
        ("spend_trend_30d", 327.27, "spend 327 times as high as in the previous 30 days"),
        ("spend_trend_30d", 0.55, "spend down 45% vs the previous 30 days"),
        ("spend_trend_30d", 1.003, "spend unchanged vs the previous 30 days"),
        ("usage_minutes_trend_30d", 0.55, "usage time down 45% vs the previous 30 days"),
        ("tickets_unresolved_30d", 3, "3 tickets from the last 30 days still unresolved"),
        ("tickets_logistics_delay_90d", 1.0, "1 logistics delay ticket in the last 90 days"),
        ("first_response_hours_mean_90d", 0.4, "waited 24 minutes on average for a first answer"),
        ("first_response_hours_mean_90d", 3.46, "waited 3.5 hours on average for a first answer"),
        ("resolution_hours_mean_90d", 100.0, "tickets took 4 days to resolve on average"),
        ("req_resolved_share_180d", 0.0, "none of the requests from the last 180 days resolved"),
        ("req_oldest_open_days", 62.4, "oldest open request waiting 2 months"),
        ("monthly_fee_vs_plan", 1.3, "pays 30% more than is usual on the plan"),
        ("tenure_days", 800.0, "customer for 2.2 years"),
        ("usage_drop_flag", True, "usage time fell more than 20% three days in a row"),
        ("nps_trend", -1.0, "NPS answer fell by 1 point"),
        ("nps_last", float("nan"), "never answered an NPS survey"),
        ("region_tier", "tier1", "in a tier-1 city"),
        ("value_tier", "reactivate", "in the to-be-re-activated value tier"),
        ("plan", "pro_max", "on the pro max plan"),
        ("loyalty_points", 1234.5678, "loyalty points is 1,235"),
        ("loyalty_points", float("inf"), "no loyalty points recorded"),
        ("some_new_feature", None, "no some new feature recorded"),
    ],
)
def test_plain_sentences_with_units_rounding_and_plurals(feature, value, text):
    assert describe(feature, value) == text


def test_every_feature_of_the_sample_has_a_template(sample, settings):
    from features.vectors import build_vectors

    vectors = build_vectors(sample.events, sample.events.last_event_ts(), settings)
    missing = [c for c in vectors.columns if c != "customer_id" and template(c) is None]
    assert missing == []


def test_features_of_one_fact_are_one_reason_and_only_risk_raisers_count():
    features = ["rfm_recency_days", "days_since_last_activity", "spend_180d", "tickets_open", "tenure_days"]
    assert fact("rfm_recency_days") == fact("days_since_last_activity") == fact("txn_recency_vs_gap")
    facts = [fact(f) for f in features]
    contrib = np.array(
        [
            [0.4, 0.5, 0.3, -0.2, 0.0, 0.1],  # recency (0.9) first, said by its stronger feature
            [-0.6, 0.2, 0.1, 0.3, -0.1, 0.0],  # recency sums to -0.4: not a reason
        ]
    )
    idx, top = top_facts(contrib, facts, 3)
    assert idx[0].tolist() == [1, 2, -1] and top[0, :2] == pytest.approx([0.9, 0.3])
    assert idx[1].tolist() == [3, 2, -1]


def test_the_check_catches_code_like_text():
    bad = pd.DataFrame(
        {
            "reason_1_text": ["no txn recency vs gap recorded", "rfm_monetary_180d: 211.33999999999997"],
            "reason_2_text": ["last purchase infx the usual gap ago", "1 purchases in total"],
            "reason_3_text": ["no txn recency vs gap recorded", None],
        }
    )
    found = "\n".join(problems(bad))
    for kind in ("underscore", "infinity", "long decimals", "one with a plural", "repeated in one row"):
        assert kind in found


def test_reasons_of_the_sample_read_as_plain_words(sample, settings):
    from features.labels import build_training_frame, default_cutoffs
    from serving.scoring import score_customers
    from training.churn_model import ChurnModel

    events = sample.events
    cutoffs = default_cutoffs(events, 30, 30, 4)
    frame = build_training_frame(events, settings, cutoffs, 30)
    model = ChurnModel({"n_estimators": 40, "num_leaves": 7}, calibration="platt").fit(
        frame.drop(columns=["cutoff"]), frame["churned"]
    )
    from features.vectors import build_vectors

    scored = score_customers(model, build_vectors(events, events.last_event_ts(), settings), settings)
    assert problems(scored) == []
    explained = scored[scored["reason_1_text"].notna()]
    assert len(explained) > 0.5 * len(scored)
    assert (explained["reason_1_shap"] > 0).all()
    assert (scored["reason_1_shap"].fillna(0) >= scored["reason_2_shap"].fillna(0)).all()
