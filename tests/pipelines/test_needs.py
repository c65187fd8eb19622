"""The needs steps the daily job calls: classify texts, then the day's backlog, hot spots and alerts."""

from __future__ import annotations

import pandas as pd

from features.vectors import build_vectors
from pipelines.needs import annotate_texts, needs_day, write_needs
from tests.monitoring.test_needs_backlog import at_risk_for
from training.text_model import TextClassifier


def test_needs_day_writes_its_outputs_and_alerts(sample, settings, tmp_path):
    events = sample.events
    as_of = events.last_event_ts().normalize()
    fb = events.feedback[events.feedback["ts"] < as_of - pd.Timedelta(days=60)]
    models = {
        "class": TextClassifier().fit(fb["text"], fb["text_class"]),
        "sentiment": TextClassifier().fit(fb["text"], fb["text_sentiment"]),
    }
    annotated = annotate_texts(events, models)
    assert annotated.feedback["pred_sentiment"].notna().all()
    assert (annotated.feedback["pred_sentiment"] == annotated.feedback["text_sentiment"]).mean() > 0.8
    assert "pred_class" in annotated.tickets and events.feedback is not annotated.feedback
    at_risk = at_risk_for(build_vectors(annotated, as_of, settings), 6)
    days = pd.date_range(as_of + pd.Timedelta(days=1), periods=14)
    forecast = pd.DataFrame(
        {
            "series_id": "requirements/improvement_suggestion/billing",
            "ds": days,
            "yhat": 6.0,
            "yhat_lower": 4.0,
            "yhat_upper": 8.0,
        }
    )
    day = needs_day(annotated, at_risk, forecast, as_of, settings)
    assert day.backlog["rank"].tolist() == list(range(1, len(day.backlog) + 1))
    assert set(day.requests["request_id"]) <= set(events.requirements["request_id"])
    billing = day.hot_spots.set_index(["product_area", "type"]).loc[("billing", "improvement_suggestion")]
    assert isinstance(billing["expected_day"], str)  # 6 a day reaches 30 within the week
    subjects = {a.subject for a in day.alerts}
    assert "requirements/improvement_suggestion/billing" in subjects
    assert all(a.kind in ("needs", "feedback") for a in day.alerts)
    files = write_needs(day, tmp_path)
    assert pd.read_parquet(files["needs_backlog.parquet"]).equals(day.backlog)
    assert set(files) >= {"needs_backlog.csv", "needs_hot_spots.csv", "feedback_negative_rates.csv"}


def test_without_text_models_the_events_are_unchanged(sample):
    assert annotate_texts(sample.events, {}) is sample.events
